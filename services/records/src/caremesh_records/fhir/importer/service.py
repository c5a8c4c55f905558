"""The import's use cases: one bundle now, or many through the bulk jobs."""

import asyncio
from typing import Any

from caremesh_kit.audit import Access
from caremesh_kit.runtime import Runtime
from caremesh_records.fhir.importer import bundle as bundles
from caremesh_records.fhir.importer.handlers import HANDLERS, NOT_IMPORTED
from caremesh_records.fhir.importer.jobs import Jobs
from caremesh_records.fhir.importer.plan import Plan, plan
from caremesh_records.fhir.importer.report import ImportReport
from caremesh_records.fhir.importer.writer import Progress, apply
from caremesh_records.usecases import Records


def plan_of(body: bytes | str | Any, source: str | None = None) -> Plan:
    """Pure: decode, check and map a bundle (CPU-bound, so callers run it off the event loop)."""
    raw = bundles.decode(body) if isinstance(body, bytes | str) else body
    return plan(raw, HANDLERS, NOT_IMPORTED, source)


class FhirImport:
    def __init__(self, runtime: Runtime, records: Records, **job_options: Any) -> None:
        self.records = records
        self.jobs = Jobs(runtime, self.run, **job_options)

    async def run(
        self, body: bytes | str | dict[str, Any], source: str | None, access: Access, progress: Progress | None = None
    ) -> ImportReport:
        planned = await asyncio.to_thread(plan_of, body, source)
        return await apply(planned, HANDLERS, self.records, access, progress)

    async def worker(self) -> None:
        await self.jobs.worker()
