"""Closed-loop referrals: receiving, triage, linking appointments, loop closure and the overdue sweep.

The loop closes from scheduling's own ``appointment.fulfilled`` event (and a cancelled or declined
visit unlinks), consumed like any other event: a redelivery changes nothing, and a crash before
the ack is repaired by the redelivery.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from pymongo import ASCENDING, IndexModel

from caremesh_contracts import (
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentHoldExpired,
    AppointmentNoShowRecorded,
)
from caremesh_kit import context, logs
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, DomainError, Invalid, Unprocessable
from caremesh_kit.periodic import every
from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_scheduling.domain import Appointment, CancelReason, utcnow
from caremesh_scheduling.domain.referrals import UNSCHEDULED, Priority, Referral, ReferralRequest, Status
from caremesh_scheduling.domain.waitlist import WaitlistEntry
from caremesh_scheduling.usecases.booking import Scheduling, SlotRef

log = logs.get("caremesh.scheduling.referrals")
Ended = AppointmentCancelled | AppointmentDeclined | AppointmentHoldExpired | AppointmentNoShowRecorded


class Referrals:
    def __init__(
        self, runtime: Runtime, scheduling: Scheduling, overdue_after: timedelta, sweep_seconds: float
    ) -> None:
        self.repo: Repository[Referral] = runtime.repository(
            "referrals",
            Referral,
            [
                IndexModel([("status", ASCENDING), ("received_at", ASCENDING)]),
                IndexModel([("appointment_id", ASCENDING)]),
                IndexModel([("request.patient_id", ASCENDING)]),
            ],
        )
        self.scheduling = scheduling
        self.overdue_after = overdue_after
        self.sweep_seconds = sweep_seconds

    # -- commands ------------------------------------------------------------------------------
    async def receive(self, request: ReferralRequest, by: str) -> Referral:
        return await self.repo.add(Referral.receive(context.new_id(), request, by, utcnow()))

    async def get(self, referral_id: str) -> Referral:
        return await self.repo.get(referral_id)

    async def accept(self, referral_id: str, by: str) -> Referral:
        return await self.repo.mutate(referral_id, lambda r: r.accept(by, utcnow()))

    async def reject(self, referral_id: str, reason: str, by: str) -> Referral:
        return await self.repo.mutate(referral_id, lambda r: r.reject(reason, by, utcnow()))

    async def withdraw(self, referral_id: str, by: str, note: str | None) -> Referral:
        return await self.repo.mutate(referral_id, lambda r: r.withdraw(by, utcnow(), note))

    async def link(self, referral_id: str, appointment_id: str, by: str) -> Referral:
        """Link an existing appointment: the same patient's, still holding its time."""
        referral = await self.repo.get(referral_id)
        appt = await self.scheduling.get_appointment(appointment_id)
        self._check_fits(referral, appt)
        return await self.repo.mutate(
            referral_id, lambda r: r.schedule(appt.id, appt.start, appt.service_code, by, utcnow())
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
        appt = await self.scheduling.request_appointment(referral.request.patient_id, slot)
        try:
            referral = await self.repo.mutate(
                referral_id, lambda r: r.schedule(appt.id, appt.start, appt.service_code, by, utcnow())
            )
        except (Conflict, Invalid):
            # Wrong service, or scheduled meanwhile: do not keep a visit nobody asked for.
            await self.scheduling.cancel(appt.id, CancelReason.ERROR, by, "staff", "referral could not be linked")
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
        query: dict = {}
        if patient_id:
            query["request.patient_id"] = patient_id
        if status:
            query["status"] = {"$in": [s.value for s in status]}
        if overdue is not None:
            query["overdue_reported"] = overdue
        if priority:
            query["request.priority"] = priority.value
        if service_code:
            query["request.service_code"] = service_code
        total = await self.repo.collection.count_documents(query)
        cursor = self.repo.collection.find(query).sort([("received_at", ASCENDING), ("_id", ASCENDING)])
        found = [Referral.from_document(d) async for d in cursor.skip(offset).limit(limit)]  # type: ignore[misc]
        return found, total

    # -- scheduling's own events ---------------------------------------------------------------
    async def _linked(self, appointment_id: str) -> list[Referral]:
        cursor = self.repo.collection.find({"appointment_id": appointment_id}, {"_id": 1})
        return [r async for d in cursor if (r := await self.repo.find(d["_id"])) is not None]

    async def on_appointment_fulfilled(self, event: AppointmentFulfilled, env: Envelope) -> None:
        for referral in await self._linked(event.appointment_id):
            seen_on = event.start.date()
            appt = await self.scheduling.appointments.repo.find(event.appointment_id)
            if appt is not None and appt.location_id:
                location = await self.scheduling.calendar.locations.find(appt.location_id)
                if location is not None:  # the visit's date where it took place
                    seen_on = event.start.astimezone(ZoneInfo(location.time_zone)).date()
            try:
                await self.repo.mutate(
                    referral.id, lambda r, d=seen_on: r.appointment_fulfilled(event.appointment_id, d, utcnow())
                )
            except Conflict as exc:
                raise Unprocessable(exc.detail) from exc

    async def on_appointment_ended(self, event: Ended, env: Envelope) -> None:
        """Cancelled, declined, its hold expired or a no-show: the referral waits to be scheduled again."""
        why = f"appointment {event.routing_key.rsplit('.', 1)[-1].replace('_recorded', '')}"
        for referral in await self._linked(event.appointment_id):
            await self.repo.mutate(referral.id, lambda r: r.appointment_cancelled(event.appointment_id, utcnow(), why))

    # -- the overdue sweep ---------------------------------------------------------------------
    async def report_overdue(self) -> int:
        """Emit ``referral.overdue`` for each unscheduled referral past its age or due date. Every
        replica may run this: the compare-and-set commit lets exactly one report each referral."""
        now, reported = utcnow(), 0
        query = {"status": {"$in": [s.value for s in UNSCHEDULED]}, "overdue_reported": False}
        ids = [d["_id"] async for d in self.repo.collection.find(query, {"_id": 1})]
        for referral_id in ids:
            won: list[bool] = []

            def report(r: Referral) -> bool:
                won.append(r.report_if_overdue(self.overdue_after, now))
                return won[-1]

            try:
                await self.repo.mutate(referral_id, report)
            except Exception:
                log.exception("reporting an overdue referral failed")
                continue
            reported += bool(won and won[-1])
        return reported

    async def overdue_sweeper(self) -> None:
        await every(self.sweep_seconds, self.report_overdue, "reported overdue referrals")
