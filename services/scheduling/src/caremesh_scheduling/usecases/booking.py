"""Booking and the appointment lifecycle, shared by the HTTP API and the event handlers."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from caremesh_kit import context, logs
from caremesh_kit.errors import Conflict, Invalid, NotFound, Unprocessable
from caremesh_kit.periodic import every
from caremesh_scheduling.claims import Claims, busy
from caremesh_scheduling.domain import (
    DEFAULT_HOLD,
    Appointment,
    CancelReason,
    Slot,
    offered,
    parse_slot_id,
    template_id,
    utcnow,
)
from caremesh_scheduling.store import Appointments
from caremesh_scheduling.usecases.calendar import CalendarService
from caremesh_scheduling.usecases.insurance import InsuranceReactions
from caremesh_scheduling.usecases.lifecycle import TAKEN, Lifecycle, Unavailable
from caremesh_scheduling.usecases.worklists import Worklists

log = logs.get("caremesh.scheduling")


@dataclass(frozen=True)
class SlotRef:
    """What a booking names: practitioner, location, service type and start."""

    practitioner_id: str
    location_id: str
    service_type_id: str
    start: datetime


@dataclass
class Scheduling(InsuranceReactions, Lifecycle, Worklists):
    calendar: CalendarService
    appointments: Appointments
    claims: Claims
    orphan_claim_seconds: float = 60
    hold: timedelta = DEFAULT_HOLD  # pending: while insurance checks eligibility
    authorization_hold: timedelta = timedelta(days=8)  # waiting on authorization: while the payer decides
    no_show_after: timedelta = timedelta(minutes=30)  # booked, nobody arrived, this long after the end
    sweep_seconds: float = 15

    # -- booking -------------------------------------------------------------------------------
    async def request_appointment(self, patient_id: str, ref: SlotRef | str) -> Appointment:
        """Book a slot of the derived availability: by its slot id, or by what it names."""
        slot, field = await self.derive_slot(ref)
        now, appointment_id = utcnow(), context.new_id()
        try:
            appt = Appointment.request(appointment_id, patient_id, slot, now, self.hold)
        except Invalid as exc:
            raise Invalid(exc.detail, field=field) from exc
        claims = appt.claims()
        taken = await self.claims.acquire(appt.id, claims, self.appointments.holds, now)
        if taken is not None:
            raise Conflict(
                TAKEN[taken.kind], field="patient_id" if taken.kind == "patient" else field, resource=taken.kind
            )
        if utcnow() - now > timedelta(seconds=self.orphan_claim_seconds / 2):
            # So slow that the sweeper may soon take this attempt for a crash's leftover: give up.
            await self.claims.undo(appointment_id, claims)
            raise Unavailable("the store is too slow to book safely now; try again")
        try:
            appt = await self._save(lambda: Appointment.request(appointment_id, patient_id, slot, now, self.hold))
        except BaseException:
            # Undo only if the commit did not happen: a failure after it (or a cancelled request)
            # may have saved the appointment, whose claims must stand (the sweeper settles them).
            if await self.appointments.repo.find(appointment_id) is None:
                await self.claims.undo(appointment_id, claims)
            raise
        await self.claims.settle(appt.id)
        self.calendar.view.appointment(appt)
        return appt

    async def derive_slot(self, ref: SlotRef | str) -> tuple[Slot, str]:
        """The slot the template derives for ``ref`` now, and the request field that named it."""
        by_id = isinstance(ref, str)
        if isinstance(ref, str):
            ref = SlotRef(*parse_slot_id(ref))
        field = "slot_id" if by_id else "start"
        template = await self.calendar.templates.find(template_id(ref.practitioner_id, ref.location_id))
        if template is None:
            raise NotFound(
                f"practitioner {ref.practitioner_id} has no availability at location {ref.location_id}",
                field="slot_id" if by_id else "location_id",
            )
        location = await self.calendar.location(ref.location_id, "slot_id" if by_id else "location_id")
        service = await self.calendar.service_type(ref.service_type_id, "slot_id" if by_id else "service_type_id")
        slot = offered(template.spec, ref.practitioner_id, ref.location_id, location.time_zone, service, ref.start)
        if slot is None:
            raise Invalid("that time is not in the practitioner's availability for this service", field=field)
        return slot, field

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
    async def cancel(
        self, appointment_id: str, reason: CancelReason, by: str, by_role: str, note: str | None
    ) -> Appointment:
        appt = await self.appointments.repo.mutate(
            appointment_id, lambda a: a.cancel(reason, by, by_role, utcnow(), note)
        )
        await self._free(appt)
        return appt

    async def check_in(self, appointment_id: str) -> Appointment:
        return await self.appointments.repo.mutate(appointment_id, lambda a: a.check_in(utcnow()))

    async def complete(self, appointment_id: str) -> Appointment:
        appt = await self.appointments.repo.get(appointment_id)
        practitioner = await self.calendar.practitioners.get(appt.practitioner_id)
        return await self.appointments.repo.mutate(
            appointment_id, lambda a: a.complete(practitioner.details.name, utcnow())
        )

    async def mark_no_show(self, appointment_id: str) -> Appointment:
        return await self.appointments.repo.mutate(appointment_id, lambda a: a.mark_no_show(utcnow()))

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
                # A reschedule that never committed leaves claims its appointment does not hold.
                keep = {c.id for c in appt.claims()}
                extra = {day: [i for i in ids if i not in keep] for day, ids in attempt["claims"].items()}
                await self.claims.free_attempt(attempt | {"claims": {d: ids for d, ids in extra.items() if ids}})
                freed += any(extra.values())
        await self.claims.drop_days_before(utcnow().date() - timedelta(days=2))
        return freed

    async def orphan_claim_sweeper(self) -> None:
        await every(self.orphan_claim_seconds / 2, self.free_orphan_claims, "freed orphaned claims")
