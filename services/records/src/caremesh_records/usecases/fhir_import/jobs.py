"""Bulk imports: many bundles, stored and imported one by one by a background sweep.

The bundles wait in records' store (``store.Imports``). A worker takes a bundle by inserting its
next attempt's claim: a unique ``_id`` insert is atomic on FerretDB and MongoDB alike, so two
replicas never work on one bundle at once. A claim is a lease; once it runs out (a crashed
worker) the next attempt may be claimed, so a restart resumes. The import itself is idempotent,
so a bundle done twice after a lost lease still writes everything once.
"""

import asyncio
import json
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from caremesh_kit import context, logs
from caremesh_kit.audit import Access, AuditTrail, Purpose
from caremesh_kit.auth import Principal, Role
from caremesh_kit.clock import Clock
from caremesh_kit.errors import Invalid
from caremesh_records.store import Imports
from caremesh_records.usecases.fhir_import.report import ImportReport

log = logs.get("caremesh.records.fhir_import")

MAX_ATTEMPTS = 5
ROUTE = "POST /imports"
# Run one bundle: (its JSON, its source label or None, the caller, a progress callback) -> report.
RunBundle = Callable[[str, str | None, Access, Callable[[int], Awaitable[None]]], Awaitable[ImportReport]]


class ImportJobs:
    def __init__(
        self,
        imports: Imports,
        run: RunBundle,
        audit: AuditTrail,
        clock: Clock,
        lease_seconds: float = 120,
        concurrency: int = 2,
        retry_seconds: float = 5,
    ) -> None:
        self.imports, self.run, self.trail, self.clock = imports, run, audit, clock
        self.lease = timedelta(seconds=lease_seconds)
        self.retry_after = timedelta(seconds=retry_seconds)  # after a failed attempt, before the next
        self.concurrency = concurrency  # bundles at once: one's store writes overlap another's mapping
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    # -- submitting ---------------------------------------------------------------------------

    async def submit(self, bundles: list[str], resources: int, access: Access, source: str | None) -> dict[str, Any]:
        """Store the bundles (already checked) and queue them; the import's document."""
        job_id, now = context.new_id(), self.clock()
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
        stored = [
            {"_id": bid, "index": i, "body": body, **common}
            for i, (bid, body) in enumerate(zip(ids, bundles, strict=True))
        ]
        job = {
            "_id": job_id,
            "created_at": now,
            "by": access.who.subject,
            "bundles": len(bundles),
            "resources": resources,
            "source": source,
        }
        await self.imports.add(job, stored)
        return job

    # -- the worker ---------------------------------------------------------------------------

    async def work(self) -> int:
        """One sweep: work the queue until empty, ``concurrency`` bundles at once; how many were done."""
        return sum(await asyncio.gather(*(self._drain() for _ in range(self.concurrency))))

    async def _drain(self) -> int:
        done = 0
        while await self.work_one():
            done += 1
        return done

    async def work_one(self) -> bool:
        """Claim and import one queued bundle; False when there was none to claim."""
        for item in await self.imports.queued():
            claim = await self._claim(item["_id"], item["job_id"])
            if claim is not None:
                await self._import(item["_id"], claim)
                return True
        return False

    async def _claim(self, bundle_id: str, job_id: str) -> str | None:
        now = self.clock()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            claim_id = f"{bundle_id}#{attempt}"
            claim = {
                "_id": claim_id,
                "job_id": job_id,
                "bundle_id": bundle_id,
                "worker": self.worker_id,
                "until": now + self.lease,
                "progress": 0,
            }
            if await self.imports.claim(claim):
                return claim_id
            held = await self.imports.claim_of(claim_id)
            if held is None or held["until"] > now:
                return None  # another worker has it (or just let it go): not ours this round
        await self._finish(bundle_id, job_id, {"error": f"gave up after {MAX_ATTEMPTS} attempts"})
        return None

    async def _import(self, bundle_id: str, claim_id: str) -> None:
        doc = await self.imports.bundle(bundle_id)
        if doc is None:  # finished by a worker that stopped before it dequeued the bundle
            await self._finish(bundle_id, None, None)
            return
        who = Principal(subject=doc["by"], roles=frozenset(Role(r) for r in doc["roles"]))
        access = Access(who, Purpose(doc["purpose"]), self.trail, ROUTE)

        async def progress(n: int) -> None:
            await self.imports.extend(claim_id, self.clock() + self.lease, progress=n)

        with context.bound(correlation=doc.get("correlation_id")):
            try:
                report = await self.run(doc["body"], doc.get("source"), access, progress)
                outcome: dict[str, Any] = {"report": report.model_dump(mode="json")}
            except Invalid as exc:  # checked on submission, so only if the rules changed since
                outcome = {"error": exc.detail}
            except Exception:
                log.exception("bulk import of a bundle failed", extra={"fields": {"bundle": bundle_id}})
                # Cut the lease short, so the next attempt need not wait for all of it.
                await self.imports.extend(claim_id, self.clock() + self.retry_after)
                return
            await self._finish(bundle_id, doc["job_id"], outcome)
            logs.info(log, "bulk import bundle done", bundle=bundle_id)

    async def _finish(self, bundle_id: str, job_id: str | None, outcome: dict[str, Any] | None) -> None:
        if outcome is not None:
            # False: finished by another worker whose lease had run out; its report stands.
            await self.imports.add_result(
                {
                    "_id": bundle_id,
                    "job_id": job_id,
                    "finished_at": self.clock(),
                    "index": int(bundle_id.rsplit(":", 1)[1]),
                    **outcome,
                }
            )
        await self.imports.dequeue(bundle_id)

    # -- progress -----------------------------------------------------------------------------

    async def status(
        self, job_id: str, outcomes: bool = True
    ) -> tuple[dict[str, Any], list[dict[str, Any]], int] | None:
        """The import, its bundles' results (in order; without the per-resource outcomes unless
        asked, as progress is polled) and the resources of bundles under way."""
        job = await self.imports.job(job_id)
        if job is None:
            return None
        # Claims before results: a bundle finishing in between is then seen twice (and counted by
        # its report), never in neither.
        now, claims = self.clock(), await self.imports.claims_of(job_id)
        results = await self.imports.results_of(job_id, outcomes)
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
