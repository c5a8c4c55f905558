"""Bulk imports: many bundles, stored and imported one by one by a background worker (I/O).

Collections (records' own store):

- ``imports``: one document per import: who asked, when, how many bundles and resources.
- ``import_bundles``: one document per bundle, the bundle as received (a Mongo document is
  limited to 16 MB, so bundles are never stored together); deleted once the bundle is done.
- ``import_queue``: the bundles not done yet (small documents, so polling stays cheap).
- ``import_claims``: ``<bundle>#<attempt>``. A worker takes a bundle by inserting the next attempt:
  a unique ``_id`` insert is atomic on FerretDB and MongoDB alike, so two replicas never work on
  one bundle at once. A claim is a lease; once it runs out (a crashed worker) the next attempt
  may be claimed, so a restart resumes. The import itself is idempotent, so a bundle done twice
  after a lost lease still writes everything once.
- ``import_results``: each bundle's report, inserted once (``_id`` = the bundle).
"""

import asyncio
import json
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from caremesh_kit import context, logs
from caremesh_kit.audit import Access, Purpose
from caremesh_kit.auth import Principal, Role
from caremesh_kit.errors import Invalid
from caremesh_kit.runtime import Runtime
from caremesh_records.fhir.importer.report import ImportReport

log = logs.get("caremesh.records.fhir_import")

MAX_ATTEMPTS = 5
ROUTE = "POST /imports"
# Run one bundle: (its JSON, its source label or None, the caller, a progress callback) -> report.
RunBundle = Callable[[str, str | None, Access, Callable[[int], Awaitable[None]]], Awaitable[ImportReport]]


def utcnow() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)  # what BSON keeps


class Jobs:
    def __init__(
        self,
        runtime: Runtime,
        run: RunBundle,
        lease_seconds: float = 120,
        poll_seconds: float = 1.0,
        concurrency: int = 2,
        retry_seconds: float = 5,
    ) -> None:
        db = runtime.store.db
        self.imports, self.bundles, self.queue = db["imports"], db["import_bundles"], db["import_queue"]
        self.claims, self.results = db["import_claims"], db["import_results"]
        runtime.indexes["import_results"] = [IndexModel([("job_id", ASCENDING), ("index", ASCENDING)])]
        runtime.indexes["import_claims"] = [IndexModel([("job_id", ASCENDING)])]
        self.trail = runtime.audit
        self.run = run
        self.lease = timedelta(seconds=lease_seconds)
        self.retry_after = timedelta(seconds=retry_seconds)  # after a failed attempt, before the next
        self.poll_seconds = poll_seconds
        self.concurrency = concurrency  # bundles at once: one's store writes overlap another's mapping
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()

    # -- submitting ---------------------------------------------------------------------------

    async def submit(self, bundles: list[str], resources: int, access: Access, source: str | None) -> dict[str, Any]:
        """Store the bundles (already checked) and queue them; the import's document."""
        job_id, now = context.new_id(), utcnow()
        # Bundle ids sort by submission time, so the queue is worked oldest first.
        ids = [f"{now:%Y%m%dT%H%M%S%f}:{job_id}:{i:06d}" for i in range(len(bundles))]
        common = {
            "job_id": job_id,
            "by": access.who.subject,
            "roles": sorted(access.who.roles),
            "purpose": access.purpose.value,
            "correlation_id": context.correlation_id.get(),
            "source": source,
        }
        for i, (bid, body) in enumerate(zip(ids, bundles, strict=True)):
            await self.bundles.insert_one({"_id": bid, "index": i, "body": body, **common})
        job = {
            "_id": job_id,
            "created_at": now,
            "by": access.who.subject,
            "bundles": len(bundles),
            "resources": resources,
            "source": source,
        }
        await self.imports.insert_one(job)
        # Queued last: a worker never sees a bundle whose import is not recorded.
        await self.queue.insert_many([{"_id": bid, "job_id": job_id} for bid in ids])
        self._wake.set()
        return job

    # -- the worker ---------------------------------------------------------------------------

    async def worker(self) -> None:
        """Background task: work the queue until cancelled."""
        await asyncio.gather(*(self._loop() for _ in range(self.concurrency)))

    async def _loop(self) -> None:
        while True:
            self._wake.clear()  # a submission from now on wakes the wait below
            try:
                while await self.work_one():
                    pass
            except Exception:
                log.exception("bulk import round failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass

    async def work_one(self) -> bool:
        """Claim and import one queued bundle; False when there was none to claim."""
        for item in await self.queue.find({}).sort("_id", ASCENDING).limit(50).to_list():
            claim = await self._claim(item["_id"], item["job_id"])
            if claim is not None:
                await self._import(item["_id"], claim)
                return True
        return False

    async def _claim(self, bundle_id: str, job_id: str) -> str | None:
        now = utcnow()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            claim_id = f"{bundle_id}#{attempt}"
            try:
                await self.claims.insert_one(
                    {
                        "_id": claim_id,
                        "job_id": job_id,
                        "bundle_id": bundle_id,
                        "worker": self.worker_id,
                        "until": now + self.lease,
                        "progress": 0,
                    }
                )
                return claim_id
            except DuplicateKeyError:
                held = await self.claims.find_one({"_id": claim_id})
                if held is None or held["until"] > now:
                    return None  # another worker has it (or just let it go): not ours this round
        await self._finish(bundle_id, job_id, {"error": f"gave up after {MAX_ATTEMPTS} attempts"})
        return None

    async def _import(self, bundle_id: str, claim_id: str) -> None:
        doc = await self.bundles.find_one({"_id": bundle_id})
        if doc is None:  # finished by a worker that stopped before it dequeued the bundle
            await self._finish(bundle_id, None, None)
            return
        who = Principal(subject=doc["by"], roles=frozenset(Role(r) for r in doc["roles"]))
        access = Access(who, Purpose(doc["purpose"]), self.trail, ROUTE)

        async def progress(n: int) -> None:
            await self.claims.update_one({"_id": claim_id}, {"$set": {"progress": n, "until": utcnow() + self.lease}})

        with context.bound(correlation=doc.get("correlation_id")):
            try:
                report = await self.run(doc["body"], doc.get("source"), access, progress)
                outcome: dict[str, Any] = {"report": report.model_dump(mode="json")}
            except Invalid as exc:  # checked on submission, so only if the rules changed since
                outcome = {"error": exc.detail}
            except Exception:
                log.exception("bulk import of a bundle failed", extra={"fields": {"bundle": bundle_id}})
                # Cut the lease short, so the next attempt need not wait for all of it.
                await self.claims.update_one({"_id": claim_id}, {"$set": {"until": utcnow() + self.retry_after}})
                return
            await self._finish(bundle_id, doc["job_id"], outcome)
            logs.info(log, "bulk import bundle done", bundle=bundle_id)

    async def _finish(self, bundle_id: str, job_id: str | None, outcome: dict[str, Any] | None) -> None:
        if outcome is not None:
            try:
                await self.results.insert_one(
                    {
                        "_id": bundle_id,
                        "job_id": job_id,
                        "finished_at": utcnow(),
                        "index": int(bundle_id.rsplit(":", 1)[1]),
                        **outcome,
                    }
                )
            except DuplicateKeyError:
                pass  # finished by another worker whose lease had run out: its report stands
        # The queue entry last: until it goes, a crash here is finished by the next worker.
        await self.bundles.delete_one({"_id": bundle_id})
        await self.claims.delete_many({"bundle_id": bundle_id})
        await self.queue.delete_one({"_id": bundle_id})

    # -- progress -----------------------------------------------------------------------------

    async def status(
        self, job_id: str, outcomes: bool = True
    ) -> tuple[dict[str, Any], list[dict[str, Any]], int] | None:
        """The import, its bundles' results (in order; without the per-resource outcomes unless
        asked, as progress is polled) and the resources of bundles under way."""
        job = await self.imports.find_one({"_id": job_id})
        if job is None:
            return None
        # Claims before results: a bundle finishing in between is then seen twice (and counted by
        # its report), never in neither.
        now, claims = utcnow(), [c async for c in self.claims.find({"job_id": job_id})]
        cursor = self.results.find({"job_id": job_id}, None if outcomes else {"report.resources": 0})
        results = [r async for r in cursor.sort("index", ASCENDING)]
        done = {r["_id"] for r in results}
        running = sum(c.get("progress", 0) for c in claims if c["until"] > now and c["bundle_id"] not in done)
        return job, results, running


def split(body: bytes, content_type: str) -> list[Any]:
    """The bundles of a bulk request: a JSON array, or NDJSON (one bundle per line)."""
    if "ndjson" in content_type:
        out = []
        for n, line in enumerate(body.splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as exc:
                    raise Invalid(f"line {n} is not JSON: {exc}", field=f"line {n}") from None
        return out
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"the body is not JSON: {exc}", field="body") from None
    if not isinstance(value, list):
        raise Invalid("expected a JSON array of Bundles (or NDJSON, one Bundle per line)", field="body")
    return value
