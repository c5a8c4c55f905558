"""A real HTTP server for tests that stands in for a provider (SMS, webhook, payer): it records
every request it receives and answers through a function, or with a failure when told to.

    with RecordingServer(lambda req: Reply(201, {"sid": "SM1"})) as server:
        ...  # point the code under test at server.url
        server.fail(503, times=2)  # the next two requests get a 503
        assert server.requests[0].form()["To"] == "+15555550100"
"""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # without the query
    query: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), {"Content-Type": "application/json"} | self.headers
        return (self.body.encode() if isinstance(self.body, str) else self.body), self.headers


Responder = Callable[[Recorded], Reply]


class RecordingServer:
    """Listens on 127.0.0.1 on a free port, in a background thread, until stopped."""

    def __init__(self, respond: Responder | None = None) -> None:
        self.respond = respond or (lambda request: Reply(200))
        self.requests: list[Recorded] = []
        self._failures: list[Reply] = []
        self._failing: Reply | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, status: int = 503, body: bytes | str | dict = b"", times: int | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` (all of them until ``recover`` if None)."""
        with self._lock:
            if times is None:
                self._failing = Reply(status, body)
            else:
                self._failures += [Reply(status, body) for _ in range(times)]

    def recover(self) -> None:
        with self._lock:
            self._failures, self._failing = [], None

    def _answer(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._failures:
                return self._failures.pop(0)
            if self._failing is not None:
                return self._failing
        return self.respond(request)

    def start(self) -> "RecordingServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                path, _, query = self.path.partition("?")
                request = Recorded(
                    self.command,
                    path,
                    query,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                try:
                    reply = owner._answer(request)
                except Exception:  # noqa: BLE001 - a broken responder is a 500, as from a real server
                    reply = Reply(500, b"responder failed")
                body, headers = reply.encoded()
                self.send_response(reply.status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:  # quiet: the tests read self.requests
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="recording-server", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "RecordingServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
