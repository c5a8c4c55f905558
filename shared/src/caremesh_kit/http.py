"""The FastAPI app factory: health, readiness, metrics, RFC 9457 errors, request context."""

import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from caremesh_kit import context, logs, metrics, openapi, ratelimit
from caremesh_kit.auth import Role, require, verifier_for
from caremesh_kit.errors import DomainError
from caremesh_kit.policy import KIT, Policy, guard, unlisted

PROBLEM = "application/problem+json"
log = logs.get("caremesh.http")

C = TypeVar("C")


def problem(status: int, title: str, detail: str, request: Request, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": request.url.path}
    body.update(extra)
    headers = {"x-correlation-id": context.correlation_id.get() or ""}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[int | str, ...]) -> str:
    # Drop the "body"/"query"/"path" prefix so the field reads as the client sent it.
    parts = (
        [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header") else [str(p) for p in loc]
    )
    return ".".join(parts) or str(loc[0] if loc else "")


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"field": _field(tuple(e["loc"])), "in": e["loc"][0] if e["loc"] else None, "message": e["msg"]}
        for e in exc.errors()
    ]
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return problem(422, "Invalid request", f"invalid field(s): {fields}", request, errors=errors)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    resp = problem(exc.status_code, _title(exc.status_code), str(exc.detail), request)
    for k, v in (exc.headers or {}).items():
        resp.headers[k] = v
    if exc.status_code == 405:
        resp.headers["Allow"] = _allowed(request)
    return resp


def _allowed(request: Request) -> str:
    """Every method the path has. Starlette's 405 names only those of the first route that
    matched the path, and a path's methods are often separate routes (GET and POST /patients)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
    return problem(exc.status, exc.title, exc.detail, request, **exc.extra)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", extra={"fields": {"error": type(exc).__name__, "route": request.url.path}})
    return problem(500, "Internal error", "an unexpected error occurred; see the correlation id", request)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class Resource(BaseModel):
    """Base of API representations: the id, and the version a later change must match."""

    id: str
    version: int


def container(kind: type[C]) -> Callable[[Request], Awaitable[C]]:
    """A typed dependency for a service's container of use cases (built only by its ``app.py``):
    ``Annotated[UseCases, Depends(container(UseCases))]`` in every route. A coroutine, because
    FastAPI runs a plain function in a worker thread: a hop per request."""

    async def get(request: Request) -> C:
        found = request.app.state.usecases
        if not isinstance(found, kind):
            raise TypeError(f"the app was built with {type(found).__name__}, not {kind.__name__}")
        return found

    return get


ReadinessCheck = Callable[[], Awaitable[bool]]


def create_app(
    *,
    service: str,
    settings: Any,
    routers: list[APIRouter],
    readiness: dict[str, ReadinessCheck],
    policy: Policy,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    inner_middlewares: Sequence[Callable[..., Any]] = (),
) -> FastAPI:
    """``policy``: who may call each of ``routers``' routes (see ``caremesh_kit.policy``); the app
    refuses to build with a route it does not name. ``settings.rate_limit`` (when set) limits each
    caller on each route (``caremesh_kit.ratelimit``)."""
    docs = bool(getattr(settings, "api_docs", False))
    app = FastAPI(
        title=f"CareMesh {service}",
        lifespan=lifespan,
        version="0.1.0",
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
        dependencies=[Depends(openapi.refuse_nul), Depends(guard)],
    )
    app.state.settings = settings
    app.state.verifier = verifier_for(settings)
    app.state.policy = {**KIT, **policy}
    # Starlette types every handler as taking Exception; each of these gets only its own type.
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
    for mw in inner_middlewares:  # added first, so they run inside the observing middleware
        app.middleware("http")(mw)
    # Outside the inner ones (a refused request stores nothing), inside observe (counted, correlated).
    limiter = ratelimit.from_settings(service, settings)
    if limiter is not None:
        app.middleware("http")(ratelimit.middleware(limiter, problem))

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        corr = request.headers.get("x-correlation-id")
        with context.bound(correlation=corr, trace=request.headers.get("traceparent")):
            try:
                response = await call_next(request)
            except Exception as exc:  # noqa: BLE001 - answered here, inside the request's context
                response = await _unexpected(request, exc)
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            metrics.HTTP_REQUESTS.labels(service, request.method, template, str(response.status_code)).inc()
            metrics.HTTP_LATENCY.labels(service, request.method, template).observe(elapsed)
            response.headers["x-correlation-id"] = context.correlation_id.get() or ""
            if template not in ("/healthz", "/readyz", "/metrics"):
                logs.info(
                    log,
                    "http request",
                    method=request.method,
                    route=template,
                    status=response.status_code,
                    duration_ms=round(elapsed * 1000, 1),
                )
            return response

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["ops"])
    async def readyz(request: Request) -> Response:
        results: dict[str, str] = {}
        for name, check in readiness.items():
            try:
                results[name] = "ok" if await check() else "unavailable"
            except Exception:  # noqa: BLE001 - any failure means not ready
                results[name] = "unavailable"
        ok = all(v == "ok" for v in results.values())
        if ok:
            return JSONResponse({"status": "ready", "checks": results})
        return problem(503, "Not ready", "a dependency is unavailable", request, checks=results)

    # Probes stay open (they reveal nothing); metrics need a token, as Prometheus can send one.
    @app.get(
        "/metrics",
        tags=["ops"],
        dependencies=[Depends(require(Role.SERVICE))],
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    if missing := unlisted(app, app.state.policy):
        raise RuntimeError(f"routes without an authorization policy: {missing}")
    _describe(app, limited=limiter is not None)
    return app


def _describe(app: FastAPI, limited: bool) -> None:
    """The kit's OpenAPI (``openapi.describe``), plus what it leaves out: a route's own description
    of an error it answers (the kit gives every status one generic text), and 429 when limited."""
    kit = openapi.describe(app)

    def document() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = kit()
        for route in iter_route_contexts(app.routes):
            if not isinstance(route.original_route, APIRoute):
                continue
            for method in route.methods or ():
                op = spec["paths"].get(route.path_format, {}).get(method.lower())
                for status, declared in route.original_route.responses.items():
                    if op and str(status) in op["responses"] and "description" in declared and int(status) >= 400:
                        op["responses"][str(status)]["description"] = declared["description"]
        if limited:
            ratelimit.document(spec)
        return spec

    app.openapi = document  # type: ignore[method-assign]
