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
from caremesh_kit.store import Repository, materialize

log = logs.get("caremesh.outbox")



class OutboxRelay:
    """Publishes commits this process just made at once, and scans for any left pending
    (a crash, another replica) every ``scan_seconds``."""

    def __init__(self, bus: Bus, scan_seconds: float, batch: int = 200) -> None:
        self.bus = bus
        self.scan_seconds = scan_seconds
        self.batch = batch
        # (current-state collection, its commits collection) pairs
        self.collections: list[tuple[AsyncCollection, AsyncCollection]] = []
        self._fresh: asyncio.Queue[tuple[Repository, str]] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    def committed(self, repo: Repository, commit_id: str) -> None:
        """Called after a commit with events, so they go out without waiting for a scan."""
        self._fresh.put_nowait((repo, commit_id))

    async def _relay(self, current: AsyncCollection, commits: AsyncCollection, commit: dict) -> int:
        await materialize(current, commit)  # in case the writer crashed before it did
        for stored in commit.get("outbox", []):
            await self.bus.publish_stored(stored)
        await commits.update_one({"_id": commit["_id"]}, {"$set": {"pending": False, "outbox": []}})
        return len(commit.get("outbox", []))

    async def drain_once(self) -> int:
        published = 0
        for current, commits in self.collections:
            async for commit in commits.find({"pending": True}).sort("committed_at", ASCENDING).limit(self.batch):
                published += await self._relay(current, commits, commit)
        return published

    async def _publish_fresh(self, repo: Repository, commit_id: str) -> None:
        commit = await repo.commits.find_one({"_id": commit_id})
        if commit and commit["pending"]:
            await self._relay(repo.collection, repo.commits, commit)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_scan = loop.time()
        while True:
            try:
                if loop.time() >= next_scan:
                    next_scan = loop.time() + self.scan_seconds
                    await self.drain_once()
                try:
                    item = await asyncio.wait_for(self._fresh.get(), timeout=max(0.0, next_scan - loop.time()))
                except TimeoutError:
                    continue
                await self._publish_fresh(*item)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - broker or store down: the next scan retries
                metrics.OUTBOX_ERRORS.labels(self.bus.service).inc()
                log.exception("outbox relay pass failed")
                await asyncio.sleep(min(self.scan_seconds, 1.0))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
