"""The outbox relay: publishes the events of pending commits, then marks the commits done.

A crash after the commit and before the publish loses nothing: the commit stays pending
until every event in it is confirmed by the broker. A crash after the publish and before the
commit is marked done publishes it again, which idempotent consumers absorb.
"""

import asyncio
import contextlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from caremesh_kit import logs, metrics
from caremesh_kit.bus import Bus
from caremesh_kit.store import Doc, Repository, done, materialize

log = logs.get("caremesh.outbox")


class OutboxRelay:
    """Publishes the commits this process just made at once, in batches, and scans for any left
    pending (a crash, another replica) every ``scan_seconds``; prunes done commits every
    ``prune_seconds``.

    A batch publishes the events of different aggregates concurrently (confirms in flight) and
    those of one aggregate in commit order, then marks its commits done in one write per
    collection.
    """

    def __init__(self, bus: Bus, scan_seconds: float, batch: int = 200, prune_seconds: float = 60.0) -> None:
        self.bus = bus
        self.scan_seconds = scan_seconds
        self.batch = batch
        self.prune_seconds = prune_seconds
        self.repositories: list[Repository[Any]] = []
        self._fresh: asyncio.Queue[tuple[Repository[Any], Doc]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def committed(self, repo: Repository[Any], commit: Doc) -> None:
        """Called after a commit, so its events go out without waiting for a scan."""
        self._fresh.put_nowait((repo, commit))

    async def _publish_in_order(self, commits: list[Doc]) -> None:
        for commit in commits:
            for stored in commit.get("outbox", []):
                await self.bus.publish_stored(stored)

    async def relay(self, batch: list[tuple[Repository[Any], Doc]]) -> int:
        """Publish a batch of pending commits and mark those fully published done."""
        by_aggregate: dict[tuple[int, str], list[tuple[Repository[Any], Doc]]] = defaultdict(list)
        for repo, commit in sorted(batch, key=lambda rc: rc[1]["version"]):
            by_aggregate[(id(repo), commit["aggregate_id"])].append((repo, commit))
        groups = list(by_aggregate.values())
        outcomes = await asyncio.gather(
            *(self._publish_in_order([c for _, c in group]) for group in groups), return_exceptions=True
        )
        finished: dict[int, tuple[Repository[Any], list[str]]] = {}
        published = 0
        for group, outcome in zip(groups, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                metrics.OUTBOX_ERRORS.labels(self.bus.service).inc()
                logs.info(log, "publish failed; the commit stays pending", error=type(outcome).__name__)
                continue
            for repo, commit in group:
                finished.setdefault(id(repo), (repo, []))[1].append(commit["_id"])
                published += len(commit.get("outbox", []))
        for repo, ids in finished.values():
            # ``pending`` in the filter lets FerretDB use its index; ``_id $in`` alone it scans.
            await repo.commits.update_many({"pending": True, "_id": {"$in": ids}}, {"$set": done()})
        return published

    async def drain_once(self, min_age: float = 0.0) -> int:
        """Relay every pending commit older than ``min_age`` seconds (younger ones are the fresh path's)."""
        published = 0
        cutoff = datetime.now(UTC) - timedelta(seconds=min_age)
        for repo in self.repositories:
            pending = [c async for c in repo.commits.find({"pending": True})]
            stale = sorted((c for c in pending if c["committed_at"] <= cutoff), key=lambda c: c["committed_at"])
            for start in range(0, len(stale), self.batch):
                chunk = stale[start : start + self.batch]
                for commit in chunk:
                    await materialize(repo.collection, commit)  # in case the writer crashed before it did
                published += await self.relay([(repo, c) for c in chunk])
        return published

    async def prune_once(self) -> int:
        return sum([await repo.prune() for repo in self.repositories])

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_scan = loop.time()
        next_prune = loop.time() + self.prune_seconds
        while True:
            try:
                if loop.time() >= next_scan:
                    next_scan = loop.time() + self.scan_seconds
                    await self.drain_once(min_age=self.scan_seconds)
                if loop.time() >= next_prune:
                    next_prune = loop.time() + self.prune_seconds
                    await self.prune_once()
                try:
                    first = await asyncio.wait_for(self._fresh.get(), timeout=max(0.0, next_scan - loop.time()))
                except TimeoutError:
                    continue
                batch = [first]
                while len(batch) < self.batch and not self._fresh.empty():
                    batch.append(self._fresh.get_nowait())
                await self.relay(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
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
        # What this process committed but did not publish yet stays pending for the next scan.
