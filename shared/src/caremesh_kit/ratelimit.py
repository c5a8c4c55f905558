"""Rate limits per caller and route, with the `limits` library.

``rate_limit`` (e.g. ``"600/minute;50/second"``, the `limits` notation; empty: off, the default)
applies to each caller on each route (method and path template) separately: a caller is the
subject of a valid bearer token, otherwise the client address (an invalid token counts against
the address it came from, so forged tokens do not each get a fresh budget). Counters live in
``rate_limit_storage``: ``memory://`` is per replica, a shared ``redis://…`` holds them for all.
Over a limit: 429 problem+json with ``Retry-After`` (seconds) and the ``RateLimit-*`` headers.

The probes and ``/metrics`` are never limited: an orchestrator or Prometheus that gets a 429
would take a healthy service for a dead one. The client address is what the server sees; behind
a proxy, the server must be told to trust its ``X-Forwarded-For`` (uvicorn's ``--forwarded-allow-ips``).
"""

import copy
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from fastapi.security.utils import get_authorization_scheme_param
from limits import RateLimitItem, parse_many
from limits.aio.storage import MovingWindowSupport, Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from limits.storage import storage_from_string
from starlette.routing import compile_path

from caremesh_kit.auth import authenticate
from caremesh_kit.openapi import CORRELATION, PROBLEM

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
UNMATCHED = "unmatched"  # every unknown path shares one budget per caller

Problem = Callable[..., JSONResponse]  # caremesh_kit.http.problem


@dataclass(frozen=True)
class Refusal:
    """A request over ``limit``; ``retry_after`` seconds until the window lets one more through."""

    limit: RateLimitItem
    retry_after: int
    route: str

    @property
    def headers(self) -> dict[str, str]:
        window = self.limit.get_expiry()
        return {
            "Retry-After": str(self.retry_after),
            "RateLimit-Limit": str(self.limit.amount),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(self.retry_after),
            "RateLimit-Policy": f"{self.limit.amount};w={window}",
        }

    @property
    def detail(self) -> str:
        return f"more than {self.limit.amount} requests in {self.limit.get_expiry()} s on {self.route}"


class Limiter:
    """The configured limits over one storage, keyed by service, caller and route."""

    def __init__(self, service: str, limits: list[RateLimitItem], storage: Storage) -> None:
        self.service, self.limits = service, limits
        # A moving window (no burst at a window's edge) where the storage keeps one; else fixed windows.
        self.strategy: RateLimiter = (
            MovingWindowRateLimiter(storage)
            if isinstance(storage, MovingWindowSupport)
            else FixedWindowRateLimiter(storage)
        )

    async def hit(self, caller: str, route: str) -> Refusal | None:
        """Count one request; the refusal of the first limit it exceeds, if any."""
        for item in self.limits:
            if not await self.strategy.hit(item, self.service, caller, route):
                stats = await self.strategy.get_window_stats(item, self.service, caller, route)
                return Refusal(item, max(1, math.ceil(stats.reset_time - time.time())), route)
        return None


def from_settings(service: str, settings: Any) -> Limiter | None:
    """The limiter ``settings`` ask for, or None when off. A bad limit or storage stops the start."""
    spec = str(getattr(settings, "rate_limit", "") or "").strip()
    if not spec:
        return None
    try:
        items = parse_many(spec)
    except ValueError as exc:
        raise ValueError(f"rate_limit {spec!r}: not a limit such as '600/minute;50/second'") from exc
    uri = str(getattr(settings, "rate_limit_storage", "") or "memory://")
    storage = storage_from_string(uri if uri.startswith("async+") else f"async+{uri}")
    if not isinstance(storage, Storage):
        raise ValueError(f"rate_limit_storage {uri!r}: no asynchronous storage")
    return Limiter(service, items, storage)


class Routes:
    """The app's path templates, matched as its router will (routing has not run yet): built on
    the first request, when every router is included."""

    def __init__(self) -> None:
        self.table: list[tuple[re.Pattern[str], frozenset[str], str]] | None = None

    def of(self, request: Request) -> str:
        if self.table is None:
            self.table = [
                (compile_path(r.path)[0], frozenset(r.methods or ()), r.path)
                for r in iter_route_contexts(request.app.router.routes)
                if r.path
            ]
        path, root = request.scope["path"], request.scope.get("root_path", "")
        path = path[len(root) :] if root and path.startswith(root) else path
        partial = ""
        for pattern, methods, template in self.table:
            if pattern.fullmatch(path):
                if not methods or request.method in methods:
                    return f"{request.method} {template}"
                partial = partial or template  # the path, another method: a 405 follows
        return f"{request.method} {partial or UNMATCHED}"


async def caller_of(request: Request) -> str:
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() == "bearer" and token:
        try:
            return f"sub:{(await authenticate(request, token)).subject}"
        except HTTPException:
            pass  # invalid, expired or unverifiable now: counted by where it came from
    return f"addr:{request.client.host if request.client else 'unknown'}"


def middleware(
    limiter: Limiter, problem: Problem
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """An HTTP middleware that answers 429 over the limit, before any other work is done."""

    routes = Routes()

    async def limit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        route = routes.of(request)
        if route.split(" ", 1)[1] in EXEMPT:
            return await call_next(request)
        refused = await limiter.hit(await caller_of(request), route)
        if refused is None:
            return await call_next(request)
        response = problem(429, "Too many requests", refused.detail, request, retry_after_seconds=refused.retry_after)
        response.headers.update(refused.headers)
        return response

    return limit


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": {"type": "integer", "minimum": 0}}


RESPONSE: dict[str, Any] = {
    "description": "Too many requests: the caller went over the rate limit on this route; retry after "
    "`Retry-After` seconds",
    "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    "headers": {
        "Retry-After": _header("seconds until a request is let through again"),
        "RateLimit-Limit": _header("requests allowed in the window"),
        "RateLimit-Remaining": _header("requests left in the window (0)"),
        "RateLimit-Reset": _header("seconds until the window lets one more through"),
        "RateLimit-Policy": {
            "description": "the limit and its window in seconds, e.g. 600;w=60",
            "required": True,
            "schema": {"type": "string"},
        },
        CORRELATION: {
            "description": "the request's correlation id, or a new one",
            "required": True,
            "schema": {"type": "string"},
        },
    },
}


def document(spec: dict[str, Any]) -> None:
    """Add the 429 answer to every limited operation of ``spec`` (the app's OpenAPI)."""
    for path, item in spec.get("paths", {}).items():
        if path in EXEMPT:
            continue
        for op in item.values():
            if isinstance(op, dict) and "responses" in op:
                op["responses"]["429"] = copy.deepcopy(RESPONSE)
                op["responses"] = dict(sorted(op["responses"].items()))
