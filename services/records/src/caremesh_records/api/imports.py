"""HTTP API of FHIR import: ``POST /fhir`` imports one Bundle now; ``POST /imports`` queues many
for the background worker, and ``GET /imports/{id}`` follows them.

Coordinators import (admins too). What is written is audited per patient and resource type.
"""

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from caremesh_kit.audit import CoordinatorAccess
from caremesh_kit.errors import Invalid, NotFound
from caremesh_kit.openapi import Offset, limit_query
from caremesh_records.api.deps import Services
from caremesh_records.usecases.fhir_import import bundle as bundles
from caremesh_records.usecases.fhir_import.jobs import split
from caremesh_records.usecases.fhir_import.report import Counts, ImportReport, Outcome, ResourceOutcome

router = APIRouter(tags=["fhir import"])

JSON_TYPES = ("application/fhir+json", "application/json")
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/fhir+ndjson")
MAX_BUNDLE_BYTES = 15 * 1024 * 1024  # under Mongo's 16 MB per document, with room for the rest
MAX_BUNDLES = 10_000
Source = Annotated[
    str | None,
    Query(
        max_length=60,
        description=(
            "label of the sending system, part of each patient's import identifier; default: Bundle.meta.source, "
            "else 'synthea' for Synthea output"
        ),
    ),
]


def _media_type(request: Request, accepted: tuple[str, ...]) -> str:
    media = request.headers.get("content-type", JSON_TYPES[1]).split(";")[0].strip().lower()
    if media not in accepted:
        raise HTTPException(415, f"send the body as {' or '.join(accepted)}")
    return media


def _body_doc(schema: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {t: {"schema": {"type": schema}} for t in JSON_TYPES}}}


@router.post(
    "/fhir",
    response_model=ImportReport,
    openapi_extra=_body_doc("object"),
    summary="Import a FHIR R4 transaction or collection Bundle; the report says what became of each resource",
)
async def import_bundle(
    request: Request, uc: Services, access: CoordinatorAccess, source: Source = None
) -> ImportReport:
    _media_type(request, JSON_TYPES)
    return await uc.fhir_import.run(await request.body(), source, access)


# -- bulk -----------------------------------------------------------------------------------------


class Progress(BaseModel):
    done: int
    total: int


class BundleFailure(BaseModel):
    bundle: int
    reason: str


class BulkOutcome(ResourceOutcome):
    bundle: int = Field(description="position of the bundle in the request")


class ImportStatus(BaseModel):
    id: str
    status: Literal["queued", "running", "completed"]
    created_at: datetime
    source: str | None
    bundles: Progress
    resources: Progress = Field(description="resources looked at so far, of all in the bundles")
    totals: Counts = Field(description="of the bundles done")
    summary: dict[str, Counts] = Field(description="per resource type, of the bundles done")
    failed_bundles: list[BundleFailure]
    outcomes: list[BulkOutcome] = Field(description="per resource, of the bundles done: a page (limit, offset)")
    outcomes_total: int = Field(description="outcomes of the bundles done (0 when limit is 0)")


def _checked(items: list[Any]) -> tuple[list[str], int]:
    """Each bundle's envelope checked (422 naming ``<position>.<field>``) and serialized for storage."""
    stored, resources = [], 0
    for i, raw in enumerate(items):
        try:
            parsed = bundles.parse(raw)
        except Invalid as exc:
            raise Invalid(f"bundle {i}: {exc.detail}", field=f"{i}.{exc.extra.get('field', '')}".rstrip(".")) from None
        body = json.dumps(raw, separators=(",", ":"))
        if len(body) > MAX_BUNDLE_BYTES:
            raise Invalid(f"bundle {i} is larger than {MAX_BUNDLE_BYTES // 2**20} MB: split it", field=str(i))
        stored.append(body)
        resources += len(parsed.entries)
    return stored, resources


@router.post(
    "/imports",
    status_code=202,
    response_model=ImportStatus,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
    summary="Queue many Bundles (a JSON array, or NDJSON with one Bundle per line) for import",
)
async def submit_import(
    request: Request, response: Response, uc: Services, access: CoordinatorAccess, source: Source = None
) -> ImportStatus:
    media = _media_type(request, JSON_TYPES + NDJSON_TYPES)
    items = split(await request.body(), media)
    if not 1 <= len(items) <= MAX_BUNDLES:
        raise Invalid(f"send 1 to {MAX_BUNDLES} bundles", field="body")
    stored, resources = await asyncio.to_thread(_checked, items)
    job = await uc.import_jobs.submit(stored, resources, access, source)
    response.headers["Location"] = f"/imports/{job['_id']}"
    return _status(job, [], 0, 0, 0, None)


@router.get("/imports/{import_id}", response_model=ImportStatus, summary="Progress and outcomes of a bulk import")
async def import_status(
    import_id: str,
    uc: Services,
    access: CoordinatorAccess,
    limit: Annotated[int, limit_query(5000, minimum=0, description="outcomes per page; 0: none")] = 100,
    offset: Offset = 0,
    outcome: Annotated[Outcome | None, Query(description="only outcomes of this kind")] = None,
) -> ImportStatus:
    found = await uc.import_jobs.status(import_id, outcomes=limit > 0)
    if found is None:
        raise NotFound(f"import {import_id} not found")
    status = _status(*found, limit, offset, outcome)
    # Outcomes name patients: each patient on the page is an audited read.
    for patient_id in dict.fromkeys(o.id for o in status.outcomes if o.resource_type == "Patient" and o.id):
        await access.read("ImportReport", import_id, patient_id)
    return status


def _status(
    job: dict[str, Any], results: list[dict[str, Any]], running: int, limit: int, offset: int, only: Outcome | None
) -> ImportStatus:
    totals, summary, failed, outcomes = Counts(), dict[str, Counts](), list[BundleFailure](), list[BulkOutcome]()
    for r in results:
        if "error" in r:
            failed.append(BundleFailure(bundle=r["index"], reason=r["error"]))
            continue
        report = r["report"]
        totals.merge(Counts.model_validate(report["totals"]))
        for resource_type, counts in report["summary"].items():
            summary.setdefault(resource_type, Counts()).merge(Counts.model_validate(counts))
        outcomes += [
            BulkOutcome(bundle=r["index"], **o)
            for o in report.get("resources", [])
            if only is None or o["outcome"] == only
        ]
    done = len(results)
    state = "completed" if done >= job["bundles"] else "running" if done or running else "queued"
    return ImportStatus(
        id=job["_id"],
        status=state,
        created_at=job["created_at"],
        source=job.get("source"),
        bundles=Progress(done=done, total=job["bundles"]),
        resources=Progress(done=min(totals.total + running, job["resources"]), total=job["resources"]),
        totals=totals,
        summary=dict(sorted(summary.items())),
        failed_bundles=failed,
        outcomes=outcomes[offset : offset + limit],
        outcomes_total=len(outcomes),
    )
