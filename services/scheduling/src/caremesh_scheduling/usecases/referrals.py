"""Closed-loop referrals: receiving, triage, linking appointments, loop closure and the overdue sweep.

The loop closes from scheduling's own ``appointment.fulfilled`` event (and a cancelled or declined
visit unlinks), consumed like any other event: a redelivery changes nothing, and a crash before
the ack is repaired by the redelivery.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from caremesh_contracts import (
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentHoldExpired,
    AppointmentNoShowRecorded,
)
from caremesh_kit import context, logs
from caremesh_kit.clock import Clock
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, DomainError, Invalid, Unprocessable
from caremesh_scheduling.domain import Appointment, CancelReason, SlotRef
from caremesh_scheduling.domain.referrals import UNSCHEDULED, Priority, Referral, ReferralRequest, Status
from caremesh_scheduling.domain.waitlist import WaitlistEntry
from caremesh_scheduling.store import AppointmentStore, ReferralStore
from caremesh_scheduling.usecases.booking import Booking
from caremesh_scheduling.usecases.calendar import CalendarAdmin
from caremesh_scheduling.usecases.lifecycle import AppointmentChanges

log = logs.get("caremesh.scheduling.referrals")
Ended = AppointmentCancelled | AppointmentDeclined | AppointmentHoldExpired | AppointmentNoShowRecorded


class Referrals:
    def __init__(
        self,
        store: ReferralStore,
        appointments: AppointmentStore,
        calendar: CalendarAdmin,
        booking: Booking,
        changes: AppointmentChanges,
        clock: Clock,
        overdue_after: timedelta,
    ) -> None:
        self.store = store
        self.repo = store.repo
        self.appointments = appointments
        self.calendar = calendar
        self.booking = booking
        self.changes = changes
        self.clock = clock
        self.overdue_after = overdue_after

    # -- commands ------------------------------------------------------------------------------
    async def receive(self, request: ReferralRequest, by: str) -> Referral:
        return await self.repo.add(Referral.receive(context.new_id(), request, by, self.clock()))

    async def get(self, referral_id: str) -> Referral:
        return await self.repo.get(referral_id)

    async def accept(self, referral_id: str, by: str) -> Referral:
        return await self.repo.mutate(referral_id, lambda r: r.accept(by, self.clock()))

    async def reject(self, referral_id: str, reason: str, by: str) -> Referral:
        return await self.repo.mutate(referral_id, lambda r: r.reject(reason, by, self.clock()))

    async def withdraw(self, referral_id: str, by: str, note: str | None) -> Referral:
        return await self.repo.mutate(referral_id, lambda r: r.withdraw(by, self.clock(), note))

    async def link(self, referral_id: str, appointment_id: str, by: str) -> Referral:
        """Link an existing appointment: the same patient's, still holding its time."""
        referral = await self.repo.get(referral_id)
        appt = await self.booking.get_appointment(appointment_id)
        self._check_fits(referral, appt)
        return await self.repo.mutate(
            referral_id, lambda r: r.schedule(appt.id, appt.start, appt.service_code, by, self.clock())
        )

    async def book(self, referral_id: str, slot: SlotRef | str, by: str) -> tuple[Referral, Appointment]:
        """Book through the public booking use case, then link. A crash between the two leaves an
        unlinked appointment, which ``link`` attaches."""
        referral = await self.repo.get(referral_id)
        if referral.status not in UNSCHEDULED:
            raise Conflict(
                f"a referral that is {referral.status.value} cannot be scheduled",
                current=referral.status.value,
                requested=Status.SCHEDULED.value,
            )
        appt = await self.booking.request_appointment(referral.request.patient_id, slot)
        try:
            referral = await self.repo.mutate(
                referral_id, lambda r: r.schedule(appt.id, appt.start, appt.service_code, by, self.clock())
            )
        except (Conflict, Invalid):
            # Wrong service, or scheduled meanwhile: do not keep a visit nobody asked for.
            await self.changes.cancel(appt.id, CancelReason.ERROR, by, "staff", "referral could not be linked")
            raise
        return referral, appt

    async def booked_from_waitlist(self, entry: WaitlistEntry, appt: Appointment) -> None:
        """A waitlist entry made for a referral was booked: link the visit. Failing that (the
        referral moved on meanwhile), the coordinator links it by hand."""
        if not entry.wish.referral_id:
            return
        try:
            await self.link(entry.wish.referral_id, appt.id, "waitlist")
        except DomainError as exc:
            logs.info(log, "waitlist booking not linked to its referral", reason=type(exc).__name__)

    @staticmethod
    def _check_fits(referral: Referral, appt: Appointment) -> None:
        if appt.patient_id != referral.request.patient_id:
            raise Invalid("the appointment is for another patient", field="appointment_id")
        if not appt.holds_slot:
            raise Invalid(f"the appointment is {appt.status.value}", field="appointment_id")

    # -- queries -------------------------------------------------------------------------------
    async def query(
        self,
        *,
        patient_id: str | None = None,
        status: list[Status] | None = None,
        overdue: bool | None = None,
        priority: Priority | None = None,
        service_code: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Referral], int]:
        return await self.store.query(
            patient_id=patient_id,
            status=status,
            overdue=overdue,
            priority=priority,
            service_code=service_code,
            limit=limit,
            offset=offset,
        )

    # -- scheduling's own events ---------------------------------------------------------------
    async def on_appointment_fulfilled(self, event: AppointmentFulfilled, env: Envelope) -> None:
        for referral in await self.store.linked(event.appointment_id):
            seen_on = event.start.date()
            appt = await self.appointments.repo.find(event.appointment_id)
            if appt is not None and appt.location_id:
                location = await self.calendar.find_location(appt.location_id)
                if location is not None:  # the visit's date where it took place
                    seen_on = event.start.astimezone(ZoneInfo(location.time_zone)).date()
            try:
                await self._fulfilled(referral.id, event.appointment_id, seen_on)
            except Conflict as exc:
                raise Unprocessable(exc.detail) from exc

    async def _fulfilled(self, referral_id: str, appointment_id: str, seen_on: date) -> None:
        await self.repo.mutate(referral_id, lambda r: r.appointment_fulfilled(appointment_id, seen_on, self.clock()))

    async def on_appointment_ended(self, event: Ended, env: Envelope) -> None:
        """Cancelled, declined, its hold expired or a no-show: the referral waits to be scheduled again."""
        why = f"appointment {event.routing_key.rsplit('.', 1)[-1].replace('_recorded', '')}"
        for referral in await self.store.linked(event.appointment_id):
            await self.repo.mutate(
                referral.id, lambda r: r.appointment_cancelled(event.appointment_id, self.clock(), why)
            )

    # -- the overdue sweep ---------------------------------------------------------------------
    async def report_overdue(self) -> int:
        """Emit ``referral.overdue`` for each unscheduled referral past its age or due date. Every
        replica may run this: the compare-and-set commit lets exactly one report each referral."""
        now, reported = self.clock(), 0
        for referral_id in await self.store.unreported():
            try:
                reported += await self._report(referral_id, now)
            except Exception:
                log.exception("reporting an overdue referral failed")
        return reported

    async def _report(self, referral_id: str, now: datetime) -> bool:
        _, outcome = await self.repo.apply(referral_id, lambda r: r.report_if_overdue(self.overdue_after, now))
        return outcome is not False
