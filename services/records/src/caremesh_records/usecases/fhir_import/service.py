"""The import of one bundle now: decode, check and map it off the event loop, then write it."""

import asyncio
from typing import Any

from caremesh_kit.audit import Access
from caremesh_records.usecases.fhir_import import bundle as bundles
from caremesh_records.usecases.fhir_import.handlers import HANDLERS, NOT_IMPORTED
from caremesh_records.usecases.fhir_import.plan import Plan, plan
from caremesh_records.usecases.fhir_import.report import ImportReport
from caremesh_records.usecases.fhir_import.writer import Progress, Targets, apply


def plan_of(body: bytes | str | Any, source: str | None = None) -> Plan:
    """Pure: decode, check and map a bundle (CPU-bound, so callers run it off the event loop)."""
    raw = bundles.decode(body) if isinstance(body, bytes | str) else body
    return plan(raw, HANDLERS, NOT_IMPORTED, source)


class FhirImport:
    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    async def run(
        self, body: bytes | str | dict[str, Any], source: str | None, access: Access, progress: Progress | None = None
    ) -> ImportReport:
        planned = await asyncio.to_thread(plan_of, body, source)
        return await apply(planned, HANDLERS, self.targets, access, progress)
