"""``Idempotency-Key`` for POST requests: a client that retries after a lost response gets the
first response again instead of a second patient, coverage or appointment.

The key is scoped to the caller and the route. The first request claims it with an insert (a
unique ``_id``, so two concurrent requests cannot both run) and holds it for a lease; its
response is stored and replayed. A retry while the lease holds gets 409. A retry after it (the
first was killed, or failed) takes the key over and runs the request again: ids it mints derive
from the key (``context.new_id``), so it finds what the first attempt made and answers with that.
Of concurrent retries, one takes over: the one that inserts the takeover's marker.
"""

import hashlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException, Request
from fastapi.responses import Response
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from caremesh_kit import context
from caremesh_kit.auth import authenticate
from caremesh_kit.store import Doc, Store

KEYS = "idempotency_keys"
TAKEOVERS = "idempotency_takeovers"  # one marker per takeover: its unique _id is the compare-and-set
INDEXES = {
    KEYS: [IndexModel([("created_at", ASCENDING)])],
    TAKEOVERS: [IndexModel([("at", ASCENDING)])],
}
HEADER = "idempotency-key"
# Headers that change what a request means, so a retry must repeat them (the query and body too).
FINGERPRINT_HEADERS = ("x-purpose-of-use", "x-break-glass-reason")
Problem = Callable[..., Response]


async def _caller(request: Request) -> str:
    """The whole principal (subject, roles, patient, scopes), so a replay goes only to a caller
    the route would have authorized alike; "" for a bad token, which the route answers."""
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    try:
        who = await authenticate(request, token)
    except HTTPException:
        return ""
    return who.key


@dataclass
class _Lease:
    owner: str
    seed: str  # the ids the request mints derive from it; kept across takeovers
    rerun: bool


def middleware(store: Store, problem: Problem, lease_seconds: float) -> Callable[..., Awaitable[Response]]:
    keys, takeovers = store.db[KEYS], store.db[TAKEOVERS]
    lease_length = timedelta(seconds=lease_seconds)

    async def idempotent(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return await call_next(request)
        caller = await _caller(request)
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
        # The query is part of the request: the same key on /offers/x/accept?answer=no is another request.
        stated = "\n".join(request.headers.get(h, "") for h in FINGERPRINT_HEADERS)
        fingerprint = hashlib.sha256(f"{request.url.query}\n{stated}\n".encode() + await request.body()).hexdigest()
        lease = await _claim(scope, fingerprint, request)
        if isinstance(lease, Response):
            return lease
        with context.idempotent(lease.seed, rerun=lease.rerun):
            try:
                response = await call_next(request)
                body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]  # a call_next response streams
            except BaseException:
                await _release(scope, lease)  # an error or a cancelled request may be retried
                raise
        if response.status_code >= 500:
            await _release(scope, lease)  # a failure may be retried for real
        else:
            # Only while this request still owns the key: after a takeover, the new owner answers.
            await keys.update_one(
                {"_id": scope, "owner": lease.owner},
                {
                    "$set": {
                        "state": "done",
                        "status": response.status_code,
                        "body": body,
                        "media_type": response.headers.get("content-type"),
                    },
                    "$unset": {"lease_until": ""},
                },
            )
        return Response(body, status_code=response.status_code, headers=dict(response.headers))

    async def _claim(scope: str, fingerprint: str, request: Request) -> _Lease | Response:
        """The key for this request (new, or taken over from an attempt whose lease ended), or the
        answer for a retry: the stored response, 409 while another attempt holds it, or 422."""
        for _ in range(3):  # a key swept between the insert and the read is claimed again
            now = datetime.now(UTC)
            lease = _Lease(owner=context.random_id(), seed=context.random_id(), rerun=False)
            try:
                await keys.insert_one(
                    {
                        "_id": scope,
                        "request": fingerprint,
                        "state": "pending",
                        "owner": lease.owner,
                        "seed": lease.seed,
                        "lease_until": now + lease_length,
                        "created_at": now,
                    }
                )
                return lease
            except DuplicateKeyError:
                found = await keys.find_one({"_id": scope})
            if found is None:
                continue
            if found["request"] != fingerprint:
                return _reused(request)
            if found["state"] == "done":
                return _replay(found)
            lease_until = _lease_until(found, lease_length)
            if lease_until > now:
                return _in_progress(request, lease_until - now)
            taken = await _take_over(found, lease_until, now)
            if taken is not None:
                return taken
            found = await keys.find_one({"_id": scope})
            if found is not None and found["state"] == "done":
                return _replay(found)
            return _in_progress(request, lease_length)  # another retry took it over just now
        return _in_progress(request, lease_length)

    async def _take_over(found: Doc, lease_until: datetime, now: datetime) -> _Lease | None:
        """Take a key whose lease ended from its owner, unless another retry does. The marker names
        the owner and the lease period since the end, so a taker that dies before the update
        below blocks takeovers for one period only."""
        period = int((now - lease_until) / lease_length)
        marker = f"{found['_id']}|{found.get('owner', '')}|{period}"
        try:
            await takeovers.insert_one({"_id": marker, "at": now})
        except DuplicateKeyError:
            return None
        # A key stored before keys had seeds keeps no trace of its ids: it runs afresh.
        lease = _Lease(owner=context.random_id(), seed=found.get("seed") or context.random_id(), rerun=True)
        taken = await keys.update_one(
            {"_id": found["_id"], "owner": found.get("owner")},
            {"$set": {"owner": lease.owner, "seed": lease.seed, "lease_until": now + lease_length}},
        )
        return lease if taken.matched_count else None

    async def _release(scope: str, lease: _Lease) -> None:
        """End the lease at once, keeping the key and its seed: a retry reruns the request and finds
        whatever this attempt made before it failed."""
        await keys.update_one({"_id": scope, "owner": lease.owner}, {"$set": {"lease_until": datetime.now(UTC)}})

    def _reused(request: Request) -> Response:
        return problem(
            422,
            "Invalid request",
            "this Idempotency-Key was used with a different request",
            request,
            errors=[{"field": HEADER, "in": "header", "message": "reused with another request"}],
        )

    def _in_progress(request: Request, left: timedelta) -> Response:
        response = problem(409, "Conflict", "a request with this Idempotency-Key is still in progress", request)
        response.headers["retry-after"] = str(max(1, math.ceil(left.total_seconds())))
        return response

    return idempotent


def _lease_until(key: Doc, lease_length: timedelta) -> datetime:
    """When the key's lease ends; a key stored before leases existed had one from its creation."""
    until: datetime = key.get("lease_until") or key["created_at"] + lease_length
    return until if until.tzinfo else until.replace(tzinfo=UTC)


def _replay(done: Doc) -> Response:
    return Response(
        done["body"],
        status_code=done["status"],
        media_type=done["media_type"],
        headers={"Idempotent-Replayed": "true"},
    )


async def sweep(db: AsyncDatabase[Doc], retention_seconds: float, now: datetime | None = None) -> int:
    """Delete keys past the retention: stored responses that long after their first request, and
    keys left pending that long after their lease ended (never one a retry may still take over
    sooner). Returns how many keys went."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=retention_seconds)
    expired = await db[KEYS].delete_many(
        {
            "$or": [
                {"state": "done", "created_at": {"$lt": cutoff}},
                {"state": "pending", "lease_until": {"$lt": cutoff}},
                {"state": "pending", "lease_until": {"$exists": False}, "created_at": {"$lt": cutoff}},
            ]
        }
    )
    await db[TAKEOVERS].delete_many({"at": {"$lt": cutoff}})
    return expired.deleted_count
