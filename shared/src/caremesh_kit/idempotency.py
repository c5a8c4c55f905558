"""``Idempotency-Key`` for POST requests: a client that retries after a lost response gets the
first response again instead of a second patient, coverage or appointment.

The key is scoped to the caller and the route. The first request claims it with an insert (a
unique ``_id``, so two concurrent retries cannot both run); the response is stored and replayed.
"""

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import jwt
from fastapi import Request
from fastapi.responses import Response
from pymongo.errors import DuplicateKeyError

from caremesh_kit.auth import decode
from caremesh_kit.store import Store

HEADER = "idempotency-key"
Problem = Callable[..., Response]


def _caller(request: Request) -> str:
    """The whole principal (subject, roles, patient), so a replay goes only to a caller the
    route would have authorized alike; "" for a bad token, which the route answers with 401."""
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    s = request.app.state.settings
    try:
        who = decode(token, s.jwt_secret, s.jwt_issuer, s.jwt_audience)
    except jwt.InvalidTokenError:
        return ""
    return f"{who.subject}|{','.join(sorted(who.roles))}|{who.patient_id or ''}"


def middleware(store: Store, problem: Problem) -> Callable[..., Awaitable[Response]]:
    keys = store.db["idempotency_keys"]

    async def idempotent(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return await call_next(request)
        caller = _caller(request)
        if not caller:
            return await call_next(request)  # unauthenticated: the route answers 401
        if not 1 <= len(key) <= 255:
            return problem(
                422,
                "Invalid request",
                "Idempotency-Key must be 1 to 255 characters",
                request,
                errors=[{"field": HEADER, "in": "header", "message": "length must be 1 to 255"}],
            )
        scope = hashlib.sha256(f"{caller}\n{request.url.path}\n{key}".encode()).hexdigest()
        fingerprint = hashlib.sha256(await request.body()).hexdigest()
        try:
            await keys.insert_one(
                {"_id": scope, "request": fingerprint, "state": "pending", "created_at": datetime.now(UTC)}
            )
        except DuplicateKeyError:
            return await _replay(await keys.find_one({"_id": scope}), fingerprint, request)
        try:
            response = await call_next(request)
            body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]  # a call_next response streams
        except BaseException:
            await keys.delete_one({"_id": scope})  # an error or a cancelled request may be retried
            raise
        if response.status_code >= 500:
            await keys.delete_one({"_id": scope})  # a failure may be retried for real
        else:
            await keys.update_one(
                {"_id": scope},
                {
                    "$set": {
                        "state": "done",
                        "status": response.status_code,
                        "body": body,
                        "media_type": response.headers.get("content-type"),
                    }
                },
            )
        return Response(body, status_code=response.status_code, headers=dict(response.headers))

    async def _replay(done: dict[str, Any] | None, fingerprint: str, request: Request) -> Response:
        if done is None or done["state"] != "done":
            return problem(409, "Conflict", "a request with this Idempotency-Key is still in progress", request)
        if done["request"] != fingerprint:
            return problem(
                422,
                "Invalid request",
                "this Idempotency-Key was used with a different request",
                request,
                errors=[{"field": HEADER, "in": "header", "message": "reused with another body"}],
            )
        return Response(
            done["body"],
            status_code=done["status"],
            media_type=done["media_type"],
            headers={"Idempotent-Replayed": "true"},
        )

    return idempotent
