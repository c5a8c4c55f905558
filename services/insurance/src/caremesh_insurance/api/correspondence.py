"""The payer correspondence log over HTTP: append and read, for the care team; no change or
removal. Every access is audited (PayerCorrespondence)."""

from fastapi import APIRouter

from caremesh_insurance.api.deps import Services
from caremesh_insurance.domain.correspondence import Entry, NewEntry
from caremesh_kit.audit import Action, CareTeamAccess
from caremesh_kit.errors import Invalid
from caremesh_kit.openapi import Limit, Offset

router = APIRouter(tags=["payer correspondence"])
RESOURCE = "PayerCorrespondence"
FILTERS = ("patient_id", "coverage_id", "authorization_id", "appointment_id")


@router.post("/correspondence", status_code=201, response_model=Entry)
async def append(body: NewEntry, uc: Services, access: CareTeamAccess) -> Entry:
    """Log a call, fax, portal message or document, linked to a coverage, an authorization or an
    appointment; who recorded it and when are taken from the request."""
    entry = await uc.correspondence.append(body, access.who.subject)
    await access.wrote(Action.CREATE, RESOURCE, entry.id, entry.patient_id)
    return entry


@router.get("/correspondence", response_model=list[Entry])
async def find(
    uc: Services,
    access: CareTeamAccess,
    patient_id: str | None = None,
    coverage_id: str | None = None,
    authorization_id: str | None = None,
    appointment_id: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[Entry]:
    """Entries by any of their links, the latest first."""
    given = {
        k: v
        for k, v in (
            ("patient_id", patient_id),
            ("coverage_id", coverage_id),
            ("authorization_id", authorization_id),
            ("appointment_id", appointment_id),
        )
        if v
    }
    if not given:
        raise Invalid(f"filter by one of {', '.join(FILTERS)}", field="patient_id")
    entries = await uc.correspondence.find(given, limit, offset)
    for pid in dict.fromkeys([e.patient_id for e in entries] + ([patient_id] if patient_id else [])):
        await access.read(RESOURCE, "*", pid)  # one per patient shown: the trail is kept by patient
    return entries


@router.get("/correspondence/{entry_id}", response_model=Entry)
async def get(entry_id: str, uc: Services, access: CareTeamAccess) -> Entry:
    entry = await uc.correspondence.get(entry_id)
    await access.read(RESOURCE, entry_id, entry.patient_id)
    return entry
