"""The partner's webhook endpoint: a real HTTP server (uvicorn, a bare ASGI app) in the benchmark's
own event loop. It records every request (arrival time, ``webhook-id``, the CloudEvent's ``id`` and
``time``, the status it answered), answers 503 while told it is down and 200 otherwise, verifies a
sample of the signatures with the official ``standardwebhooks`` library, and resolves the waiter
of an event on its first 2xx answer, which is what the load loops time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Arrival:
    at: float  # unix time the request's body was read
    webhook_id: str | None
    event_id: str | None  # the CloudEvent's id: the published event's ce-id
    event_time: str | None  # the CloudEvent's time, as the gateway sent it
    status: int  # what the receiver answered


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # Ctrl-C and SIGTERM are the benchmark's to handle (it cleans up), not uvicorn's


class Receiver:
    def __init__(self, host: str, verify_every: int) -> None:
        self.host, self.verify_every = host, max(1, verify_every)
        self.arrivals: list[Arrival] = []
        self.down = False
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.verified = self.bad_signatures = self.unreadable = 0
        self._webhook: Webhook | None = None
        self._sock: socket.socket | None = None
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        assert self._sock is not None, "not started"
        return f"http://{self.host}:{self._sock.getsockname()[1]}/caremesh"

    def sign_with(self, secret: str) -> None:
        """The secret the sampled signatures are checked against (the subscription's, or the baseline's)."""
        self._webhook = Webhook(secret)

    def expect(self, event_id: str) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[event_id] = fut
        return fut

    async def start(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, 0))
        config = uvicorn.Config(
            self._app,
            interface="asgi3",
            lifespan="off",
            log_level="warning",
            access_log=False,
            # Longer than any gap between attempts, so the gateway's pooled connections are not
            # closed under it between the outage's retries.
            timeout_keep_alive=120,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        for _ in range(100):
            if self._server.started:
                return
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.05)
        raise TimeoutError("the receiver did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=10)
        if self._sock is not None:
            self._sock.close()

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body, at = b"".join(chunks), time.time()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        status = 503 if self.down else 200
        event_id: str | None = None
        event_time: str | None = None
        try:
            event = json.loads(body)
            event_id, event_time = str(event["id"]), event.get("time")
        except (ValueError, KeyError, TypeError):
            self.unreadable += 1
        n = len(self.arrivals)
        self.arrivals.append(Arrival(at, headers.get("webhook-id"), event_id, event_time, status))
        if self._webhook is not None and n % self.verify_every == 0:
            try:
                self._webhook.verify(body, headers, json_parse=False)
                self.verified += 1
            except WebhookVerificationError:
                self.bad_signatures += 1
        if status == 200 and event_id is not None and (fut := self.waiting.get(event_id)) and not fut.done():
            fut.set_result(at)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
