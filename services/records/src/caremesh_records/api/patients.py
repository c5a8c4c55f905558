"""Patients over HTTP: registration (with possible duplicates), merges, the timeline and encounters."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from caremesh_kit.audit import Action, CareTeamAccess, PatientAccess
from caremesh_kit.http import Resource
from caremesh_kit.openapi import Limit, Offset
from caremesh_records.api.deps import Services
from caremesh_records.domain import (
    Deceased,
    Demographics,
    DuplicateCandidate,
    Encounter,
    Patient,
    PatientStatus,
    TimelineEntry,
)

router = APIRouter(tags=["patients"])


class PatientOut(Resource, Demographics):
    mrn: str
    status: PatientStatus
    merged_into: str | None
    registered_at: datetime
    deceased: Deceased | None = None

    @classmethod
    def of(cls, p: Patient) -> "PatientOut":
        return cls(
            id=p.id,
            version=p.version,
            mrn=p.mrn,
            status=p.status,
            merged_into=p.merged_into,
            registered_at=p.registered_at,
            deceased=p.deceased,
            **p.demographics.model_dump(),
        )


class RegistrationWarning(BaseModel):
    code: str
    detail: str
    candidates: list[DuplicateCandidate]


class RegisteredPatient(PatientOut):
    warnings: list[RegistrationWarning]


class MergeRequest(BaseModel):
    into: str = Field(min_length=1, description="the patient that stays")


@router.post("/patients", status_code=201, response_model=RegisteredPatient)
async def register_patient(body: Demographics, uc: Services, access: CareTeamAccess) -> RegisteredPatient:
    patient, candidates = await uc.patients.register(body)
    await access.wrote(Action.CREATE, "Patient", patient.id, patient.id)
    warnings = (
        [
            RegistrationWarning(
                code="possible-duplicate",
                candidates=candidates,
                detail="existing patients may be the same person; review them, and merge if so",
            )
        ]
        if candidates
        else []
    )
    return RegisteredPatient(**PatientOut.of(patient).model_dump(), warnings=warnings)


@router.post("/patients/{patient_id}/merge", response_model=PatientOut)
async def merge_patient(patient_id: str, body: MergeRequest, uc: Services, access: CareTeamAccess) -> PatientOut:
    """Mark this patient as a duplicate of ``into``; other services learn it from the event."""
    await access.wrote(Action.UPDATE, "Patient", patient_id, patient_id)
    await access.wrote(Action.UPDATE, "Patient", body.into, body.into)
    return PatientOut.of(await uc.patients.merge(patient_id, body.into))


@router.get("/patients/{patient_id}", response_model=PatientOut)
async def get_patient(patient_id: str, uc: Services, access: PatientAccess) -> PatientOut:
    await access.read("Patient", patient_id, patient_id)
    return PatientOut.of(await uc.patients.get(patient_id))


@router.get("/patients/{patient_id}/timeline", response_model=list[TimelineEntry])
async def timeline(
    patient_id: str,
    uc: Services,
    access: PatientAccess,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[TimelineEntry]:
    await access.read("Timeline", patient_id, patient_id)
    return await uc.patients.timeline_of(patient_id, limit, offset)


@router.get("/patients/{patient_id}/encounters", response_model=list[Encounter])
async def encounters(
    patient_id: str,
    uc: Services,
    access: PatientAccess,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[Encounter]:
    """Visits that took place, oldest first."""
    await access.read("Encounter", "*", patient_id)
    return await uc.patients.encounters_of(patient_id, limit, offset)
