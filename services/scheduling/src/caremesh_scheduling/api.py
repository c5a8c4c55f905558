"""Scheduling's HTTP API."""

from datetime import datetime, timedelta
from typing import Annotated

from caremesh_kit.audit import Access, Action, CareTeamAccess, CoordinatorAccess, PatientAccess
from caremesh_kit.auth import AnyUser, Coordinator, Role
from caremesh_kit.http import Resource, use_cases
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from caremesh_scheduling.domain import (
    SERVICE_CODE,
    Appointment,
    Cancellation,
    CancelReason,
    Practitioner,
    PractitionerDetails,
    SlotTimes,
)
from caremesh_scheduling.usecases import Scheduling

router = APIRouter()


Uc = Annotated[Scheduling, Depends(use_cases)]


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


class AppointmentOut(Resource):
    patient_id: str
    practitioner_id: str
    slot_id: str
    service_code: str
    start: datetime
    end: datetime
    status: str
    decline_reason: str | None
    cancellation: Cancellation | None
    arrived_at: datetime | None
    completed_at: datetime | None
    requested_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: Appointment) -> "AppointmentOut":
        return cls.model_validate(a.model_dump())


@router.post("/practitioners", status_code=201, response_model=PractitionerOut, tags=["calendar"])
async def add_practitioner(body: PractitionerDetails, uc: Uc, _: Coordinator) -> PractitionerOut:
    return PractitionerOut.of(await uc.add_practitioner(body))


@router.get("/practitioners/{practitioner_id}", response_model=PractitionerOut, tags=["calendar"])
async def get_practitioner(practitioner_id: str, uc: Uc, _: AnyUser) -> PractitionerOut:
    return PractitionerOut.of(await uc.practitioners.get(practitioner_id))


@router.post("/practitioners/{practitioner_id}/slots", status_code=201, response_model=list[SlotOut], tags=["calendar"])
async def add_slots(practitioner_id: str, body: NewSlots, uc: Uc, _: Coordinator) -> list[SlotOut]:
    slots = await uc.add_slots(practitioner_id, body.slots)
    return [SlotOut(id=s.id, practitioner_id=s.practitioner_id, start=s.start, end=s.end, free=True) for s in slots]


@router.get("/slots", response_model=list[SlotOut], tags=["calendar"])
async def find_slots(uc: Uc, _: AnyUser, start: datetime, end: datetime | None = None,
                     practitioner_id: str | None = None, free: bool = True,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[SlotOut]:
    found = await uc.find_slots(practitioner_id, start, end or start + timedelta(days=14), free, limit)
    return [SlotOut(id=s.id, practitioner_id=s.practitioner_id, start=s.start, end=s.end, free=f) for s, f in found]


@router.post("/appointments", status_code=201, response_model=AppointmentOut, tags=["appointments"])
async def request_appointment(body: AppointmentRequest, uc: Uc, access: CoordinatorAccess) -> AppointmentOut:
    appt = await uc.request_appointment(body.patient_id, body.slot_id, body.service_code)
    await access.wrote(Action.CREATE, "Appointment", appt.id, appt.patient_id)
    return AppointmentOut.of(appt)


@router.get("/appointments/{appointment_id}", response_model=AppointmentOut, tags=["appointments"])
async def get_appointment(appointment_id: str, uc: Uc, access: PatientAccess) -> AppointmentOut:
    appt = await uc.get_appointment(appointment_id)
    await access.read("Appointment", appointment_id, appt.patient_id)
    return AppointmentOut.of(appt)


@router.get("/appointments", response_model=list[AppointmentOut], tags=["appointments"])
async def list_appointments(uc: Uc, access: PatientAccess, patient_id: Annotated[str, Query(min_length=1)],
                            limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[AppointmentOut]:
    await access.read("Appointment", "*", patient_id)
    return [AppointmentOut.of(a) for a in await uc.appointments_of(patient_id, limit)]


class CancelRequest(BaseModel):
    reason_code: CancelReason
    note: str | None = Field(default=None, max_length=500)


@router.post("/appointments/{appointment_id}/cancel", response_model=AppointmentOut, tags=["appointments"])
async def cancel_appointment(appointment_id: str, body: CancelRequest, uc: Uc, access: PatientAccess) -> AppointmentOut:
    """Coordinators cancel any appointment; a patient only their own."""
    appt = await uc.get_appointment(appointment_id)
    await access.wrote(Action.UPDATE, "Appointment", appointment_id, appt.patient_id)
    role = "patient" if access.who.roles == {Role.PATIENT} else "staff"
    return AppointmentOut.of(await uc.cancel(appointment_id, body.reason_code, access.who.subject, role, body.note))


@router.post("/appointments/{appointment_id}/check-in", response_model=AppointmentOut, tags=["appointments"])
async def check_in(appointment_id: str, uc: Uc, access: CareTeamAccess) -> AppointmentOut:
    return AppointmentOut.of(await _change(uc, access, appointment_id, uc.check_in))


@router.post("/appointments/{appointment_id}/complete", response_model=AppointmentOut, tags=["appointments"])
async def complete(appointment_id: str, uc: Uc, access: CareTeamAccess) -> AppointmentOut:
    return AppointmentOut.of(await _change(uc, access, appointment_id, uc.complete))


@router.post("/appointments/{appointment_id}/no-show", response_model=AppointmentOut, tags=["appointments"])
async def no_show(appointment_id: str, uc: Uc, access: CareTeamAccess) -> AppointmentOut:
    return AppointmentOut.of(await _change(uc, access, appointment_id, uc.mark_no_show))


async def _change(uc: Scheduling, access: Access, appointment_id: str, transition) -> Appointment:
    appt = await uc.get_appointment(appointment_id)
    await access.wrote(Action.UPDATE, "Appointment", appointment_id, appt.patient_id)
    return await transition(appointment_id)
