"""The outbox relay: publishes the events of pending commits, then marks the commits done.

A crash after the commit and before the publish loses nothing: the commit stays pending
until every event in it is confirmed by the broker. A crash after the publish and before the removal publishes it
again, which idempotent consumers absorb.
"""

import asyncio
import contextlib

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from caremesh_kit import logs, metrics
from caremesh_kit.bus import Bus
from caremesh_kit.store import materialize

log = logs.get("caremesh.outbox")



class OutboxRelay:
    def __init__(self, bus: Bus, poll_seconds: float, batch: int = 200) -> None:
        self.bus = bus
        # (current-state collection, its commits collection) pairs
        self.collections: list[tuple[AsyncCollection, AsyncCollection]] = []
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def wake(self) -> None:
        """Called after a save so events go out without waiting for the next poll."""
        self._wake.set()

    async def drain_once(self) -> int:
        published = 0
        for current, commits in self.collections:
            async for commit in commits.find({"pending": True}).sort("committed_at", ASCENDING).limit(self.batch):
                await materialize(current, commit)  # in case the writer crashed before it did
                for stored in commit.get("outbox", []):
                    await self.bus.publish_stored(stored)
                    published += 1
                await commits.update_one({"_id": commit["_id"]}, {"$set": {"pending": False, "outbox": []}})
        return published

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                if await self.drain_once():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - broker or store down: keep trying
                metrics.OUTBOX_ERRORS.labels(self.bus.service).inc()
                log.exception("outbox relay pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
