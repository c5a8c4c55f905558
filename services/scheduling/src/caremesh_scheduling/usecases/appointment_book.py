"""What every use case that writes appointments shares: saving a new one, and keeping the claims
and the search's copy of the calendar in step with each change."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from caremesh_kit.clock import Clock
from caremesh_kit.errors import Conflict, DomainError
from caremesh_scheduling.domain import Appointment, Claim
from caremesh_scheduling.store import AppointmentStore, ClaimStore, WaitlistStore, busy
from caremesh_scheduling.usecases.calendar_view import CalendarView


class Unavailable(DomainError):
    status = 503
    title = "Service unavailable"


TAKEN = {
    "practitioner": "the practitioner is already booked at that time",
    "room": "the room is already booked at that time",
    "patient": "the patient already has an appointment at an overlapping time",
}


def taken(claim: Claim, field: str) -> Conflict:
    """The 409 for a claim another appointment holds; ``field``: the request field that named the time."""
    return Conflict(TAKEN[claim.kind], field="patient_id" if claim.kind == "patient" else field, resource=claim.kind)


class AppointmentBook:
    def __init__(
        self,
        appointments: AppointmentStore,
        claims: ClaimStore,
        waitlist: WaitlistStore,
        view: CalendarView,
        clock: Clock,
        orphan_claim_seconds: float,
    ) -> None:
        self.appointments = appointments
        self.claims = claims
        self.waitlist = waitlist
        self.view = view
        self.clock = clock
        self.orphan_claim_seconds = orphan_claim_seconds

    async def holds(self, holder_id: str) -> bool:
        """Whether a claim's holder still holds its time: an appointment, or an open waitlist offer."""
        appt = await self.appointments.repo.find(holder_id)
        if appt is not None:
            return appt.holds_slot
        entry = await self.waitlist.with_offer(holder_id)
        return entry is not None and entry.holds_offer(holder_id, self.clock())

    def too_slow(self, since: datetime) -> bool:
        """So slow since claiming that the sweeper may soon take the attempt for a crash's leftover."""
        return self.clock() - since > timedelta(seconds=self.orphan_claim_seconds / 2)

    async def add(self, new: Callable[[], Appointment], attempts: int = 8) -> Appointment:
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

    async def changed(self, appt: Appointment) -> None:
        """After a change is saved: time it no longer holds goes free, and searches see it at once.
        Repeating it is harmless."""
        if not appt.holds_slot:
            await self.claims.release(appt.id, appt.claims())
        self.view.appointment(appt)
