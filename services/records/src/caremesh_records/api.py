"""Records' HTTP API."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from caremesh_kit.auth import Principal, Role, require
from caremesh_records.domain import Demographics, Patient, TimelineEntry
from caremesh_records.usecases import Records

router = APIRouter(tags=["patients"])

Staff = Annotated[Principal, Depends(require(Role.COORDINATOR, Role.CLINICIAN))]
Anyone = Annotated[Principal, Depends(require(Role.COORDINATOR, Role.CLINICIAN, Role.PATIENT))]


def records(request: Request) -> Records:
    return request.app.state.records


Uc = Annotated[Records, Depends(records)]


class PatientOut(BaseModel):
    id: str
    version: int
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


def _own(who: Principal, patient_id: str) -> None:
    if not who.may_see_patient(patient_id):
        raise HTTPException(403, "patients may only see their own record")


@router.post("/patients", status_code=201, response_model=PatientOut)
async def register_patient(body: Demographics, uc: Uc, _: Staff) -> PatientOut:
    return PatientOut.of(await uc.register_patient(body))


@router.get("/patients/{patient_id}", response_model=PatientOut)
async def get_patient(patient_id: str, uc: Uc, who: Anyone) -> PatientOut:
    _own(who, patient_id)
    return PatientOut.of(await uc.get_patient(patient_id))


@router.get("/patients/{patient_id}/timeline", response_model=list[TimelineEntry])
async def timeline(patient_id: str, uc: Uc, who: Anyone,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100,
                   offset: Annotated[int, Query(ge=0)] = 0) -> list[TimelineEntry]:
    _own(who, patient_id)
    return await uc.timeline_of(patient_id, limit, offset)
