"""Scheduling's HTTP API."""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from caremesh_kit.auth import Principal, Role, require
from caremesh_scheduling.domain import SERVICE_CODE, Appointment, Practitioner, PractitionerDetails, SlotTimes
from caremesh_scheduling.usecases import Scheduling

router = APIRouter()

Staff = Annotated[Principal, Depends(require(Role.COORDINATOR))]
Anyone = Annotated[Principal, Depends(require(Role.COORDINATOR, Role.CLINICIAN, Role.PATIENT))]


def scheduling(request: Request) -> Scheduling:
    return request.app.state.scheduling


Uc = Annotated[Scheduling, Depends(scheduling)]


class PractitionerOut(PractitionerDetails):
    id: str

    @classmethod
    def of(cls, p: Practitioner) -> "PractitionerOut":
        return cls(id=p.id, **p.details.model_dump())


class SlotOut(BaseModel):
    id: str
    practitioner_id: str
    start: datetime
    end: datetime
    free: bool


class NewSlots(BaseModel):
    slots: list[SlotTimes] = Field(min_length=1, max_length=500)


class AppointmentRequest(BaseModel):
    patient_id: str = Field(min_length=1, max_length=100)
    slot_id: str = Field(min_length=1, max_length=100)
    service_code: str = Field(pattern=SERVICE_CODE, description="CPT/HCPCS code of the service")


class AppointmentOut(BaseModel):
    id: str
    version: int
    patient_id: str
    practitioner_id: str
    slot_id: str
    service_code: str
    start: datetime
    end: datetime
    status: str
    decline_reason: str | None
    requested_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: Appointment) -> "AppointmentOut":
        return cls.model_validate(a.model_dump())


@router.post("/practitioners", status_code=201, response_model=PractitionerOut, tags=["calendar"])
async def add_practitioner(body: PractitionerDetails, uc: Uc, _: Staff) -> PractitionerOut:
    return PractitionerOut.of(await uc.add_practitioner(body))


@router.get("/practitioners/{practitioner_id}", response_model=PractitionerOut, tags=["calendar"])
async def get_practitioner(practitioner_id: str, uc: Uc, _: Anyone) -> PractitionerOut:
    return PractitionerOut.of(await uc.practitioners.get(practitioner_id))


@router.post("/practitioners/{practitioner_id}/slots", status_code=201, response_model=list[SlotOut], tags=["calendar"])
async def add_slots(practitioner_id: str, body: NewSlots, uc: Uc, _: Staff) -> list[SlotOut]:
    slots = await uc.add_slots(practitioner_id, body.slots)
    return [SlotOut(id=s.id, practitioner_id=s.practitioner_id, start=s.start, end=s.end, free=True) for s in slots]


@router.get("/slots", response_model=list[SlotOut], tags=["calendar"])
async def find_slots(uc: Uc, _: Anyone, start: datetime, end: datetime | None = None,
                     practitioner_id: str | None = None, free: bool = True,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[SlotOut]:
    found = await uc.find_slots(practitioner_id, start, end or start + timedelta(days=14), free, limit)
    return [SlotOut(id=s.id, practitioner_id=s.practitioner_id, start=s.start, end=s.end, free=f) for s, f in found]


@router.post("/appointments", status_code=201, response_model=AppointmentOut, tags=["appointments"])
async def request_appointment(body: AppointmentRequest, uc: Uc, _: Staff) -> AppointmentOut:
    return AppointmentOut.of(await uc.request_appointment(body.patient_id, body.slot_id, body.service_code))


@router.get("/appointments/{appointment_id}", response_model=AppointmentOut, tags=["appointments"])
async def get_appointment(appointment_id: str, uc: Uc, who: Anyone) -> AppointmentOut:
    appt = await uc.get_appointment(appointment_id)
    if not who.may_see_patient(appt.patient_id):
        raise HTTPException(403, "patients may only see their own appointments")
    return AppointmentOut.of(appt)


@router.get("/appointments", response_model=list[AppointmentOut], tags=["appointments"])
async def list_appointments(uc: Uc, who: Anyone, patient_id: Annotated[str, Query(min_length=1)],
                            limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[AppointmentOut]:
    if not who.may_see_patient(patient_id):
        raise HTTPException(403, "patients may only see their own appointments")
    return [AppointmentOut.of(a) for a in await uc.appointments_of(patient_id, limit)]
