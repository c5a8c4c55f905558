"""A real OpenID Connect issuer for tests: an HTTP server on 127.0.0.1 that serves discovery and a
JWKS, signs tokens (RS256 with RSA 2048, ES256 with EC P-256) and rotates its keys.

    with LocalIssuer() as issuer:
        env = issuer.service_env()  # SCHEDULING_OIDC_ISSUER=... for every service
        token = issuer.token("dr-ada", roles=["coordinator"])
        issuer.rotate()  # new keys sign from now on; the old ones leave the JWKS at once
        issuer.rotate(grace=60)  # ...or stay published for 60 s, as providers do
        assert issuer.jwks_fetches == 2
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from caremesh_kit.devcluster import SERVICES

ALGORITHMS = ("RS256", "ES256")


@dataclass(frozen=True)
class SigningKey:
    """A key pair with its ``kid``. ``generate`` alone makes one no issuer publishes: a stranger's."""

    kid: str
    alg: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls, alg: str = "RS256", kid: str | None = None) -> "SigningKey":
        if alg == "RS256":
            private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = rsa.generate_private_key(65537, 2048)
        elif alg == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        else:
            raise ValueError(f"{alg}: the issuer signs with {' or '.join(ALGORITHMS)}")
        return cls(kid or f"{alg.lower()}-{uuid.uuid4().hex[:12]}", alg, private)

    def jwk(self) -> dict[str, Any]:
        """The public half as the JWKS publishes it."""
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            body = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            body = ECAlgorithm.to_jwk(public, as_dict=True)
        return body | {"kid": self.kid, "alg": self.alg, "use": "sig"}


@dataclass
class _Retired:
    key: SigningKey
    until: float  # monotonic time it leaves the JWKS


@dataclass
class LocalIssuer:
    """Listens on 127.0.0.1 on a free port, in a background thread, until stopped."""

    audience: str = "caremesh"
    # What discovery says the issuer is; None: its own URL. Another value is a provider (or a
    # man in the middle) naming another issuer, which verifiers must refuse.
    announced_issuer: str | None = None
    # While set, the JWKS answers 503 (the provider is down); requests are still counted.
    jwks_failing: bool = False
    jwks_fetch_times: list[float] = field(default_factory=list)
    discovery_fetches: int = 0
    _current: dict[str, SigningKey] = field(default_factory=dict)
    _retired: list[_Retired] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        self._current = {alg: SigningKey.generate(alg) for alg in ALGORITHMS}

    # -- the server ---------------------------------------------------------------------------

    def start(self) -> "LocalIssuer":
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/.well-known/openid-configuration":
                    body = issuer._discovery()
                elif path == "/jwks":
                    body = issuer._jwks()
                    if issuer.jwks_failing:
                        self.send_error(503)
                        return
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="local-oidc-issuer", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "LocalIssuer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The issuer identifier (``iss``), also where discovery is served."""
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def issuer(self) -> str:
        """What discovery names and tokens carry as ``iss``."""
        return self.announced_issuer or self.url

    @property
    def jwks_uri(self) -> str:
        return f"{self.url}/jwks"

    def _discovery(self) -> dict[str, Any]:
        with self._lock:
            self.discovery_fetches += 1
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(ALGORITHMS),
            "scopes_supported": ["openid", "fhirUser", "launch/patient"],
        }

    def _jwks(self) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            self.jwks_fetch_times.append(now)
            self._retired = [r for r in self._retired if r.until > now]
            keys = [*self._current.values(), *(r.key for r in self._retired)]
        return {"keys": [k.jwk() for k in keys]}

    # -- keys ---------------------------------------------------------------------------------

    @property
    def jwks_fetches(self) -> int:
        with self._lock:
            return len(self.jwks_fetch_times)

    def last_jwks_fetch(self) -> float | None:
        """When the JWKS was last served (time.monotonic), None if never."""
        with self._lock:
            return self.jwks_fetch_times[-1] if self.jwks_fetch_times else None

    def key(self, alg: str = "RS256") -> SigningKey:
        """The key that signs ``alg`` tokens now."""
        with self._lock:
            return self._current[alg]

    @property
    def published_kids(self) -> set[str]:
        return {k["kid"] for k in self._jwks_view()}

    def _jwks_view(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            keys = [*self._current.values(), *(r.key for r in self._retired if r.until > now)]
        return [k.jwk() for k in keys]

    def rotate(self, grace: float = 0) -> dict[str, SigningKey]:
        """New keys sign from now on. The old ones leave the JWKS at once (``grace`` 0: a
        compromised key), or stay published for ``grace`` seconds so tokens they signed still
        check. Returns the new keys by algorithm."""
        fresh = {alg: SigningKey.generate(alg) for alg in ALGORITHMS}
        with self._lock:
            if grace > 0:
                until = time.monotonic() + grace
                self._retired += [_Retired(k, until) for k in self._current.values()]
            self._current = fresh
        return dict(fresh)

    # -- tokens -------------------------------------------------------------------------------

    def token(
        self,
        sub: str,
        /,
        *,
        roles: list[str] | None = None,
        scope: str | None = None,
        patient: str | None = None,
        fhirUser: str | None = None,  # the SMART claim's own spelling
        ttl: float | timedelta = 300,
        alg: str = "RS256",
        key: SigningKey | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A token signed with the current ``alg`` key (or ``key``, e.g. one never published).
        ``claims`` are added last: ``aud="other"`` overrides, ``iat=None`` leaves a claim out."""
        signer = key or self.key(alg)
        now = int(time.time())
        lifetime = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "iat": now,
            "exp": now + int(lifetime),
            "jti": uuid.uuid4().hex,
        }
        if roles is not None:
            body["roles"] = roles
        if scope is not None:
            body["scope"] = scope
        if patient is not None:
            body["patient"] = patient
        if fhirUser is not None:
            body["fhirUser"] = fhirUser
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, signer.private, algorithm=signer.alg, headers={"kid": signer.kid} | (headers or {}))

    def service_env(self, audience: str | None = None) -> dict[str, str]:
        """Environment that points every service at this issuer (for ``Cluster(extra_env=...)``)."""
        env: dict[str, str] = {}
        for service in SERVICES:
            p = service.upper() + "_"
            env[p + "OIDC_ISSUER"] = self.issuer
            env[p + "JWT_AUDIENCE"] = audience or self.audience
        return env
