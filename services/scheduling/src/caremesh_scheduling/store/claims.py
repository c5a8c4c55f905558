"""Claims on time: what makes double booking impossible, on MongoDB and FerretDB v1 alike.

A booking inserts one claim per five-minute bucket for the practitioner and the room (the visit
with its buffers) and for the patient (the visit). A claim's ``_id`` names the resource and the
bucket, so of two overlapping bookings exactly one insert of a shared bucket succeeds: an insert
of a unique ``_id`` is atomic on both stores, where filtered updates and multi-document
transactions are not available on FerretDB v1.

- Claims go into one collection per UTC day (``claims.<yyyymmdd>``). FerretDB v1 scans a whole
  collection even for an ``_id`` lookup, so small collections keep lookups cheap, and past days
  are dropped whole.
- Every request claims in the same order (day, then id). A request that meets a claim of a
  booking still in flight waits for it (bounded) instead of failing, so no request loses to one
  that is about to roll back; the shared order means waits cannot deadlock.
- An attempt is registered in ``claim_sets`` (``_id``: the appointment id, its claims by day)
  before it claims anything, and removed once the appointment is saved (settled) or its claims
  are undone. One left behind by a crash is settled or freed by the sweeper.
"""

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from enum import Enum
from functools import partial
from itertools import groupby
from typing import Any, TypeVar

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, CollectionInvalid, DuplicateKeyError, OperationFailure

from caremesh_kit.clock import Clock
from caremesh_kit.runtime import Runtime
from caremesh_scheduling.domain import Claim

PREFIX = "claims."
# Whether a claim's holder (an appointment, or an open waitlist offer) still holds its time.
Holds = Callable[[str], Awaitable[bool]]
Attempt = dict[str, Any]
T = TypeVar("T")


def busy(exc: BaseException) -> bool:
    """FerretDB v1 (SQLite) refuses a write with SQLITE_BUSY when swamped; nothing was written."""
    return isinstance(exc, OperationFailure) and "SQLITE_BUSY" in str(exc)


BUSY_RETRIES = 8


def _backoff(attempt: int) -> float:
    return min(0.05 * 2.0**attempt, 1.0) * random.uniform(0.5, 1.5)


async def transient(op: Callable[[], Awaitable[T]]) -> T:
    """Run a store operation, again after a backoff while FerretDB refuses it as busy."""
    for attempt in range(BUSY_RETRIES + 1):
        try:
            return await op()
        except OperationFailure as exc:
            if not busy(exc) or attempt == BUSY_RETRIES:
                raise
            await asyncio.sleep(_backoff(attempt))
    raise AssertionError("unreachable")


class _Holder(Enum):
    FREE = "free"  # nobody holds it now: insert again
    MINE = "mine"
    IN_FLIGHT = "in flight"  # another request is between its claims and its save
    TAKEN = "taken"


class ClaimStore:
    def __init__(self, runtime: Runtime, clock: Clock, wait_seconds: float = 5, stale_seconds: float = 60) -> None:
        self.db = runtime.store.db
        self.clock = clock
        self.attempts: AsyncCollection[Attempt] = self.db["claim_sets"]
        self.wait_seconds = wait_seconds
        self.stale_seconds = stale_seconds
        runtime.indexes["claim_sets"] = [IndexModel([("claimed_at", ASCENDING)])]
        self._created: set[str] = set()
        self._creating = asyncio.Lock()

    def collection(self, day: date) -> AsyncCollection[Attempt]:
        return self.db[f"{PREFIX}{day:%Y%m%d}"]

    async def _create(self, day: date) -> None:
        """Create a day's collection once, before inserting: FerretDB v1 answers concurrent first
        inserts into a missing collection with SQLITE_BUSY."""
        name = f"{PREFIX}{day:%Y%m%d}"
        if name in self._created:
            return
        async with self._creating:
            if name not in self._created:
                try:
                    await transient(lambda: self.db.create_collection(name))
                except CollectionInvalid:
                    pass  # it exists
                except OperationFailure as exc:
                    if exc.code != 48:  # NamespaceExists: another replica made it
                        raise
                self._created.add(name)

    async def acquire(self, appointment_id: str, claims: list[Claim], holds: Holds, now: datetime) -> Claim | None:
        """Claim all for the appointment, or none: None when all are held, else the claim that is
        taken by an appointment that holds its time (everything claimed so far is undone)."""
        by_day = _by_day(claims)
        with contextlib.suppress(DuplicateKeyError):  # a retried insert that had gone through
            await transient(
                lambda: self.attempts.insert_one({"_id": appointment_id, "claimed_at": now, "claims": by_day})
            )
        try:
            taken = await self._insert(appointment_id, claims, holds, now)
        except BaseException:
            await self.undo(appointment_id, claims)
            raise
        if taken is not None:
            await self.undo(appointment_id, claims)
        return taken

    async def _insert(self, appointment_id: str, claims: list[Claim], holds: Holds, now: datetime) -> Claim | None:
        loop = asyncio.get_running_loop()
        deadline, delay, i, refused = loop.time() + self.wait_seconds, 0.01, 0, 0
        while i < len(claims):
            day = claims[i].bucket.date()
            group = [c for c in claims[i:] if c.bucket.date() == day]
            await self._create(day)
            try:
                await self.collection(day).insert_many(
                    [{"_id": c.id, "appointment_id": appointment_id, "claimed_at": now} for c in group], ordered=True
                )
                i += len(group)
                continue
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors") or [{}]
                i += int(errors[0].get("index", 0))  # ordered: all before the first error went in
                if errors[0].get("code") != 11000:
                    if not busy(exc) or refused >= BUSY_RETRIES:
                        raise
                    refused += 1
                    await asyncio.sleep(_backoff(refused))
                    continue
            except OperationFailure as exc:
                if not busy(exc) or refused >= BUSY_RETRIES:
                    raise
                refused += 1
                await asyncio.sleep(_backoff(refused))
                continue
            holder = await self._holder(
                claims[i], appointment_id, holds, [c.id for c in claims[i:] if c.bucket.date() == day]
            )
            if holder is _Holder.MINE:
                i += 1
            elif holder is _Holder.TAKEN or loop.time() >= deadline:
                return claims[i]  # taken, or still in flight after the wait
            elif holder is _Holder.IN_FLIGHT:
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 0.25)
        return None

    async def _holder(self, claim: Claim, me: str, holds: Holds, mine: list[str]) -> _Holder:
        """Who holds ``claim``; ``mine``: the rest of this request's claims on that day."""
        collection = self.collection(claim.bucket.date())
        doc = await transient(lambda: collection.find_one({"_id": claim.id}))
        if doc is None:
            return _Holder.FREE
        holder = doc["appointment_id"]
        if holder == me:
            return _Holder.MINE
        attempt = await transient(lambda: self.attempts.find_one({"_id": holder}, {"claimed_at": 1}))
        if attempt is not None:
            # A stale attempt is a crash's leftover: the sweeper settles or frees it.
            fresh = attempt["claimed_at"] > self.clock() - timedelta(seconds=self.stale_seconds)
            return _Holder.IN_FLIGHT if fresh else _Holder.TAKEN
        if await holds(holder):
            return _Holder.TAKEN
        # Left by an appointment that no longer holds its time (a crash between its cancellation
        # and the release): take over all of its claims this request needs that day at once.
        await transient(lambda: collection.delete_many({"_id": {"$in": mine}, "appointment_id": holder}))
        return _Holder.FREE

    async def settle(self, appointment_id: str) -> None:
        """The appointment is saved: its claims stand on their own."""
        await transient(lambda: self.attempts.delete_one({"_id": appointment_id}))

    async def release(self, appointment_id: str, claims: list[Claim]) -> None:
        """Only the holder's claims go; repeating it is harmless."""
        for day, group in groupby(claims, key=lambda c: c.bucket.date()):
            query = {"_id": {"$in": [c.id for c in group]}, "appointment_id": appointment_id}
            await transient(partial(self.collection(day).delete_many, query))

    async def name(self, appointment_id: str, claims: list[Claim]) -> None:
        """What a registered attempt names from now on: the sweeper frees those of them its
        appointment does not hold, should the attempt be left behind."""
        await transient(
            lambda: self.attempts.update_one({"_id": appointment_id}, {"$set": {"claims": _by_day(claims)}})
        )

    async def undo(self, appointment_id: str, claims: list[Claim]) -> None:
        await self.release(appointment_id, claims)
        await transient(lambda: self.attempts.delete_one({"_id": appointment_id}))

    # -- housekeeping ---------------------------------------------------------------------------
    async def stale_attempts(self, cutoff: datetime) -> list[Attempt]:
        return [d async for d in self.attempts.find({"claimed_at": {"$lt": cutoff}})]

    async def free_attempt(self, attempt: Attempt) -> None:
        """Undo an attempt left by a crash, from what it registered."""
        for day, ids in attempt["claims"].items():
            await self.db[f"{PREFIX}{day}"].delete_many({"_id": {"$in": ids}, "appointment_id": attempt["_id"]})
        await self.attempts.delete_one({"_id": attempt["_id"]})

    async def drop_days_before(self, day: date) -> int:
        """Past time can never be booked again, so its claims can go, a day at a time."""
        cutoff = f"{PREFIX}{day:%Y%m%d}"
        old = [n for n in await self.db.list_collection_names() if n.startswith(PREFIX) and n < cutoff]
        for name in old:
            await self.db.drop_collection(name)
            self._created.discard(name)
        return len(old)


def _by_day(claims: list[Claim]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in claims:
        out.setdefault(f"{c.bucket:%Y%m%d}", []).append(c.id)
    return out
