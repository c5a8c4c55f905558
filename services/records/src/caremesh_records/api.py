"""Records' HTTP API."""

from datetime import date, datetime
from typing import Annotated

from caremesh_kit.audit import Action, CareTeamAccess, PatientAccess
from caremesh_kit.http import Resource, use_cases
from fastapi import APIRouter, Depends, Query

from caremesh_records.domain import Demographics, Encounter, Patient, TimelineEntry
from caremesh_records.usecases import Records

router = APIRouter(tags=["patients"])


Uc = Annotated[Records, Depends(use_cases)]


class PatientOut(Resource):
    given_name: str
    family_name: str
    birth_date: date
    email: str | None
    phone: str | None
    time_zone: str
    registered_at: datetime

    @classmethod
    def of(cls, p: Patient) -> "PatientOut":
        return cls(id=p.id, version=p.version, registered_at=p.registered_at, **p.demographics.model_dump())



@router.post("/patients", status_code=201, response_model=PatientOut)
async def register_patient(body: Demographics, uc: Uc, access: CareTeamAccess) -> PatientOut:
    patient = await uc.register_patient(body)
    await access.wrote(Action.CREATE, "Patient", patient.id, patient.id)
    return PatientOut.of(patient)


@router.get("/patients/{patient_id}", response_model=PatientOut)
async def get_patient(patient_id: str, uc: Uc, access: PatientAccess) -> PatientOut:
    await access.read("Patient", patient_id, patient_id)
    return PatientOut.of(await uc.get_patient(patient_id))


@router.get("/patients/{patient_id}/timeline", response_model=list[TimelineEntry])
async def timeline(patient_id: str, uc: Uc, access: PatientAccess,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100,
                   offset: Annotated[int, Query(ge=0)] = 0) -> list[TimelineEntry]:
    await access.read("Timeline", patient_id, patient_id)
    return await uc.timeline_of(patient_id, limit, offset)


@router.get("/patients/{patient_id}/encounters", response_model=list[Encounter])
async def encounters(patient_id: str, uc: Uc, access: PatientAccess,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     offset: Annotated[int, Query(ge=0)] = 0) -> list[Encounter]:
    """Visits that took place, oldest first."""
    await access.read("Encounter", "*", patient_id)
    return await uc.encounters_of(patient_id, limit, offset)
