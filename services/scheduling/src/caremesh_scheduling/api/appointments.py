"""Appointments: booking a derived slot, reading, and the lifecycle transitions."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from caremesh_kit.audit import Access, Action, CareTeamAccess, CoordinatorAccess, PatientAccess
from caremesh_kit.auth import Role
from caremesh_kit.errors import Invalid
from caremesh_kit.http import Resource
from caremesh_kit.openapi import Limit
from caremesh_scheduling.api.deps import Services
from caremesh_scheduling.domain import Appointment, Cancellation, CancelReason, NeedsAction, SlotRef

router = APIRouter(tags=["appointments"])
BY_PARTS = ("practitioner_id", "location_id", "service_type_id", "start")


class SlotChoice(BaseModel):
    """A slot: its ``slot_id``, or what it names."""

    slot_id: str | None = Field(default=None, min_length=1, max_length=400)
    practitioner_id: str | None = Field(default=None, min_length=1, max_length=100)
    location_id: str | None = Field(default=None, min_length=1, max_length=100)
    service_type_id: str | None = Field(default=None, min_length=1, max_length=100)
    start: AwareDatetime | None = None

    def slot(self) -> SlotRef | str:
        given = [f for f in BY_PARTS if getattr(self, f) is not None]
        if self.slot_id is not None:
            if given:
                raise Invalid(f"give slot_id or {', '.join(BY_PARTS)}, not both", field=given[0])
            return self.slot_id
        practitioner_id, location_id, service_type_id, start = (
            self.practitioner_id,
            self.location_id,
            self.service_type_id,
            self.start,
        )
        if practitioner_id is None or location_id is None or service_type_id is None or start is None:
            missing = [f for f in BY_PARTS if getattr(self, f) is None]
            raise Invalid(f"{missing[0]} is required without a slot_id", field=missing[0] if given else "slot_id")
        return SlotRef(practitioner_id, location_id, service_type_id, start)


class AppointmentRequest(SlotChoice):
    """A slot from the availability search: its ``slot_id``, or what it names."""

    patient_id: str = Field(min_length=1, max_length=100)


class AppointmentOut(Resource):
    patient_id: str
    practitioner_id: str
    location_id: str
    room: str | None
    service_type_id: str
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
    hold_expires_at: datetime | None
    authorization_id: str | None
    needs_action: NeedsAction | None
    payment: str
    no_show_automatic: bool
    previous_starts: list[datetime]

    @classmethod
    def of(cls, a: Appointment) -> "AppointmentOut":
        return cls.model_validate(a.model_dump())


@router.post("/appointments", status_code=201, response_model=AppointmentOut)
async def request_appointment(body: AppointmentRequest, uc: Services, access: CoordinatorAccess) -> AppointmentOut:
    slot = body.slot()
    appt = await uc.booking.request_appointment(body.patient_id, slot)
    await access.wrote(Action.CREATE, "Appointment", appt.id, appt.patient_id)
    return AppointmentOut.of(appt)


@router.get("/appointments/{appointment_id}", response_model=AppointmentOut)
async def get_appointment(appointment_id: str, uc: Services, access: PatientAccess) -> AppointmentOut:
    appt = await uc.booking.get_appointment(appointment_id)
    await access.read("Appointment", appointment_id, appt.patient_id)
    return AppointmentOut.of(appt)


@router.get("/appointments", response_model=list[AppointmentOut])
async def list_appointments(
    uc: Services,
    access: PatientAccess,
    patient_id: Annotated[str, Query(min_length=1)],
    limit: Limit = 100,
) -> list[AppointmentOut]:
    await access.read("Appointment", "*", patient_id)
    return [AppointmentOut.of(a) for a in await uc.booking.appointments_of(patient_id, limit)]


class CancelRequest(BaseModel):
    reason_code: CancelReason
    note: str | None = Field(default=None, max_length=500)


@router.post("/appointments/{appointment_id}/cancel", response_model=AppointmentOut)
async def cancel_appointment(
    appointment_id: str, body: CancelRequest, uc: Services, access: PatientAccess
) -> AppointmentOut:
    """Coordinators cancel any appointment; a patient only their own. The time is free again."""
    appt = await uc.booking.get_appointment(appointment_id)
    await access.wrote(Action.UPDATE, "Appointment", appointment_id, appt.patient_id)
    role = "patient" if access.who.roles == {Role.PATIENT} else "staff"
    return AppointmentOut.of(
        await uc.changes.cancel(appointment_id, body.reason_code, access.who.subject, role, body.note)
    )


@router.post("/appointments/{appointment_id}/check-in", response_model=AppointmentOut)
async def check_in(appointment_id: str, uc: Services, access: CareTeamAccess) -> AppointmentOut:
    return AppointmentOut.of(await _change(uc, access, appointment_id, uc.changes.check_in))


@router.post("/appointments/{appointment_id}/complete", response_model=AppointmentOut)
async def complete(appointment_id: str, uc: Services, access: CareTeamAccess) -> AppointmentOut:
    return AppointmentOut.of(await _change(uc, access, appointment_id, uc.changes.complete))


@router.post("/appointments/{appointment_id}/no-show", response_model=AppointmentOut)
async def no_show(appointment_id: str, uc: Services, access: CareTeamAccess) -> AppointmentOut:
    return AppointmentOut.of(await _change(uc, access, appointment_id, uc.changes.mark_no_show))


async def _change(
    uc: Services, access: Access, appointment_id: str, transition: Callable[[str], Awaitable[Appointment]]
) -> Appointment:
    appt = await uc.booking.get_appointment(appointment_id)
    await access.wrote(Action.UPDATE, "Appointment", appointment_id, appt.patient_id)
    return await transition(appointment_id)


@router.post("/appointments/{appointment_id}/reschedule", response_model=AppointmentOut)
async def reschedule(appointment_id: str, body: SlotChoice, uc: Services, access: CoordinatorAccess) -> AppointmentOut:
    """Move to another slot of the same service in one step: the new time is held before the old
    one goes, and a failure leaves the appointment as it was."""
    slot = body.slot()
    appt = await uc.booking.get_appointment(appointment_id)
    await access.wrote(Action.UPDATE, "Appointment", appointment_id, appt.patient_id)
    return AppointmentOut.of(await uc.changes.reschedule(appointment_id, slot))


@router.post("/appointments/{appointment_id}/self-pay", response_model=AppointmentOut)
async def self_pay(appointment_id: str, uc: Services, access: CoordinatorAccess) -> AppointmentOut:
    """The patient pays: book it whatever insurance says (the answer to ``needs_action``)."""
    return AppointmentOut.of(await _change(uc, access, appointment_id, uc.changes.self_pay))
