"""Booking and the appointment lifecycle, shared by the HTTP API and the event handlers."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from caremesh_contracts import EligibilityConfirmed, EligibilityDenied
from caremesh_kit import context, logs
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, DomainError, Invalid, NotFound, Unprocessable

from caremesh_scheduling.claims import Claims, busy
from caremesh_scheduling.domain import (
    Appointment,
    CancelReason,
    Status,
    offered,
    parse_slot_id,
    template_id,
    utcnow,
)
from caremesh_scheduling.store import Appointments
from caremesh_scheduling.usecases.calendar import CalendarService

log = logs.get("caremesh.scheduling")

class Unavailable(DomainError):
    status = 503
    title = "Service unavailable"


TAKEN = {"practitioner": "the practitioner is already booked at that time",
         "room": "the room is already booked at that time",
         "patient": "the patient already has an appointment at an overlapping time"}


@dataclass(frozen=True)
class SlotRef:
    """What a booking names: practitioner, location, service type and start."""

    practitioner_id: str
    location_id: str
    service_type_id: str
    start: datetime


@dataclass
class Scheduling:
    calendar: CalendarService
    appointments: Appointments
    claims: Claims
    orphan_claim_seconds: float = 60

    # -- booking -------------------------------------------------------------------------------
    async def request_appointment(self, patient_id: str, ref: SlotRef | str) -> Appointment:
        """Book a slot of the derived availability: by its slot id, or by what it names."""
        by_id = isinstance(ref, str)
        if isinstance(ref, str):
            ref = SlotRef(*parse_slot_id(ref))
        field = "slot_id" if by_id else "start"
        template = await self.calendar.templates.find(template_id(ref.practitioner_id, ref.location_id))
        if template is None:
            raise NotFound(f"practitioner {ref.practitioner_id} has no availability at location {ref.location_id}",
                           field="slot_id" if by_id else "location_id")
        location = await self.calendar.location(ref.location_id, "slot_id" if by_id else "location_id")
        service = await self.calendar.service_type(ref.service_type_id, "slot_id" if by_id else "service_type_id")
        slot = offered(template.spec, ref.practitioner_id, ref.location_id, location.time_zone, service, ref.start)
        if slot is None:
            raise Invalid("that time is not in the practitioner's availability for this service", field=field)
        now, appointment_id = utcnow(), context.new_id()
        try:
            appt = Appointment.request(appointment_id, patient_id, slot, now)
        except Invalid as exc:
            raise Invalid(exc.detail, field=field) from exc
        claims = appt.claims()
        taken = await self.claims.acquire(appt.id, claims, self.appointments.holds, now)
        if taken is not None:
            raise Conflict(TAKEN[taken.kind], field="patient_id" if taken.kind == "patient" else field,
                           resource=taken.kind)
        if utcnow() - now > timedelta(seconds=self.orphan_claim_seconds / 2):
            # So slow that the sweeper may soon take this attempt for a crash's leftover: give up.
            await self.claims.undo(appointment_id, claims)
            raise Unavailable("the store is too slow to book safely now; try again")
        try:
            appt = await self._save(lambda: Appointment.request(appointment_id, patient_id, slot, now))
        except BaseException:
            # Undo only if the commit did not happen: a failure after it (or a cancelled request)
            # may have saved the appointment, whose claims must stand (the sweeper settles them).
            if await self.appointments.repo.find(appointment_id) is None:
                await self.claims.undo(appointment_id, claims)
            raise
        await self.claims.settle(appt.id)
        self.calendar.view.appointment(appt)
        return appt

    async def _save(self, new: Callable[[], Appointment], attempts: int = 8) -> Appointment:
        """Commit a new appointment. The commit is the truth: if it went in and what follows it
        failed, the appointment is saved. A refused write (SQLITE_BUSY) is tried again with the
        aggregate made afresh, as committing takes its events."""
        for attempt in range(attempts):
            appt = new()
            try:
                return await self.appointments.repo.add(appt)
            except Exception as exc:
                if (saved := await self.appointments.repo.find(appt.id)) is not None:
                    return saved
                if not busy(exc) or attempt == attempts - 1:
                    raise
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
        raise AssertionError("unreachable")

    async def get_appointment(self, appointment_id: str) -> Appointment:
        return await self.appointments.repo.get(appointment_id)

    async def appointments_of(self, patient_id: str, limit: int) -> list[Appointment]:
        return await self.appointments.for_patient(patient_id, limit)

    async def _free(self, appt: Appointment) -> None:
        """After a change that lets the time go is saved; repeating it is harmless."""
        if not appt.holds_slot:
            await self.claims.release(appt.id, appt.claims())
        self.calendar.view.appointment(appt)

    # -- lifecycle -----------------------------------------------------------------------------
    async def cancel(self, appointment_id: str, reason: CancelReason, by: str, by_role: str,
                     note: str | None) -> Appointment:
        appt = await self.appointments.repo.mutate(appointment_id, lambda a: a.cancel(reason, by, by_role, utcnow(), note))
        await self._free(appt)
        return appt

    async def check_in(self, appointment_id: str) -> Appointment:
        return await self.appointments.repo.mutate(appointment_id, lambda a: a.check_in(utcnow()))

    async def complete(self, appointment_id: str) -> Appointment:
        appt = await self.appointments.repo.get(appointment_id)
        practitioner = await self.calendar.practitioners.get(appt.practitioner_id)
        return await self.appointments.repo.mutate(
            appointment_id, lambda a: a.complete(practitioner.details.name, utcnow()))

    async def mark_no_show(self, appointment_id: str) -> Appointment:
        return await self.appointments.repo.mutate(appointment_id, lambda a: a.mark_no_show(utcnow()))

    async def on_eligibility_confirmed(self, event: EligibilityConfirmed, env: Envelope) -> None:
        appt = await self._appointment_for(event.appointment_id)
        practitioner = await self.calendar.practitioners.get(appt.practitioner_id)
        try:
            # Checked on each (re)load: a cancel may commit between the read and the write.
            await self.appointments.repo.mutate(
                appt.id, lambda a: a.status is not Status.CANCELLED and a.book(practitioner.details.name, utcnow()))
        except Conflict as exc:
            raise Unprocessable(exc.detail) from exc

    async def on_eligibility_denied(self, event: EligibilityDenied, env: Envelope) -> None:
        appt = await self._appointment_for(event.appointment_id)
        try:
            appt = await self.appointments.repo.mutate(
                appt.id, lambda a: a.status is not Status.CANCELLED and a.decline(event.reason_code, utcnow()))
        except Conflict as exc:
            raise Unprocessable(exc.detail) from exc
        await self._free(appt)  # after the decline is saved; a redelivery repeats this harmlessly

    async def _appointment_for(self, appointment_id: str) -> Appointment:
        try:
            return await self.appointments.repo.get(appointment_id)
        except NotFound as exc:
            raise Unprocessable(f"unknown appointment {appointment_id}") from exc

    # -- housekeeping --------------------------------------------------------------------------
    async def free_orphan_claims(self) -> int:
        """Settle or free booking attempts a crash left between their claims and their save, and
        drop the claims of days gone by."""
        freed = 0
        for attempt in await self.claims.stale_attempts(utcnow() - timedelta(seconds=self.orphan_claim_seconds)):
            appt = await self.appointments.repo.find(attempt["_id"])
            if appt is None or not appt.holds_slot:
                await self.claims.free_attempt(attempt)
                freed += 1
            else:
                await self.claims.settle(attempt["_id"])
        await self.claims.drop_days_before(utcnow().date() - timedelta(days=2))
        return freed

    async def orphan_claim_sweeper(self) -> None:
        while True:
            try:
                if n := await self.free_orphan_claims():
                    logs.info(log, "freed orphaned claims", count=n)
            except Exception:  # noqa: BLE001 - try again next round
                log.exception("orphan claim sweep failed")
            await asyncio.sleep(self.orphan_claim_seconds / 2)
