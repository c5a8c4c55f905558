"""The outbox relay: publishes events saved in documents' ``outbox`` arrays, then removes them.

A crash after the save and before the publish loses nothing: the event stays in the document
until a publish is confirmed. A crash after the publish and before the removal publishes it
again, which idempotent consumers absorb.
"""

import asyncio
import contextlib

from pymongo.asynchronous.collection import AsyncCollection

from caremesh_kit import logs, metrics
from caremesh_kit.bus import Bus

log = logs.get("caremesh.outbox")

PENDING = {"outbox.0": {"$exists": True}}


class OutboxRelay:
    def __init__(self, bus: Bus, collections: list[AsyncCollection], poll_seconds: float, batch: int = 200) -> None:
        self.bus = bus
        self.collections = collections
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def wake(self) -> None:
        """Called after a save so events go out without waiting for the next poll."""
        self._wake.set()

    async def drain_once(self) -> int:
        published = 0
        for coll in self.collections:
            async for doc in coll.find(PENDING, {"outbox": 1}).limit(self.batch):
                for stored in doc.get("outbox", []):
                    await self.bus.publish_stored(stored)
                    # Pull by the whole entry as read: FerretDB v1's $pull matches values, not queries.
                    await coll.update_one({"_id": doc["_id"]}, {"$pull": {"outbox": stored}})
                    published += 1
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
