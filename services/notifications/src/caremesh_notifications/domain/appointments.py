"""What notifications knows of each appointment, from scheduling's events in whatever order they
arrive: the latest known time and status. Reminders follow it. Pure Python: no I/O.

Order rules: an ending (cancelled, declined, no-show, fulfilled) is final and wins over anything
that arrives after it; a move applies if it is newer than the last one applied (by the event's
time, then by continuing from the current start); a booking never moves a time already known.
"""

from datetime import date, datetime
from enum import StrEnum

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
    AppointmentRescheduled,
)
from caremesh_kit.aggregate import Aggregate

AppointmentEvent = (
    AppointmentBooked
    | AppointmentDeclined
    | AppointmentCancelled
    | AppointmentNoShowRecorded
    | AppointmentRescheduled
    | AppointmentFulfilled
)


def appointment_facts(e: AppointmentEvent) -> dict[str, str | date]:
    """What an appointment message may say: the time, the reference and who sees the patient (never
    the service code); each kind's templates use what they declare."""
    facts: dict[str, str | date] = {"when": e.start, "reference": e.appointment_id}
    if isinstance(e, AppointmentBooked | AppointmentRescheduled | AppointmentFulfilled):
        facts["practitioner_name"] = e.practitioner_name
    if isinstance(e, AppointmentRescheduled):
        facts["previous_when"] = e.previous_start
    return facts


class VisitStatus(StrEnum):
    PENDING = "pending"
    BOOKED = "booked"
    ARRIVED = "arrived"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    NO_SHOW = "no_show"
    FULFILLED = "fulfilled"


ENDED = frozenset({VisitStatus.CANCELLED, VisitStatus.DECLINED, VisitStatus.NO_SHOW, VisitStatus.FULFILLED})
_RANK = {VisitStatus.PENDING: 0, VisitStatus.BOOKED: 1, VisitStatus.ARRIVED: 2}


class Appointment(Aggregate):
    """Keyed by the appointment id. ``plan`` counts the reminder plans: it grows whenever the time
    changes, and each reminder's key carries it, so a plan's reminders are told from older ones."""

    patient_id: str
    service_code: str
    practitioner_name: str | None = None
    start: datetime | None = None
    status: VisitStatus = VisitStatus.PENDING
    plan: int = 0
    moved_at: datetime | None = None  # the time of the last move applied (the event's time)
    moved_by: str | None = None  # that move's event id
    ended_by: str | None = None  # the id of the event that ended it (cancelled, declined, ...)

    @classmethod
    def seen(cls, appointment_id: str, patient_id: str, service_code: str) -> "Appointment":
        return cls(id=appointment_id, patient_id=patient_id, service_code=service_code)

    @property
    def active(self) -> bool:
        """Booked with a known time: reminders are due."""
        return self.status is VisitStatus.BOOKED and self.start is not None

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def _set_start(self, start: datetime) -> None:
        if start != self.start:
            self.start = start
            self.plan += 1

    def _advance(self, status: VisitStatus) -> bool:
        if self.ended or _RANK.get(status, -1) <= _RANK[self.status]:
            return False
        self.status = status
        return True

    def book(self, e: AppointmentBooked) -> bool:
        changed = False
        if self.start is None:  # else a move (or ending) arrived first and knows better
            self._set_start(e.start)
            self.practitioner_name = e.practitioner_name
            changed = True
        return self._advance(VisitStatus.BOOKED) or changed

    def move(self, e: AppointmentRescheduled, event_id: str, at: datetime) -> bool:
        """Apply a reschedule unless the visit ended or a later move (or this one) was applied already."""
        if self.ended or self.moved_by == event_id:
            return False
        if self.moved_at is not None and (
            at < self.moved_at or (at == self.moved_at and e.previous_start != self.start)
        ):
            return False
        self._set_start(e.start)
        self.practitioner_name = e.practitioner_name
        self.moved_at, self.moved_by = at, event_id
        if e.status in _RANK:  # e.g. moved while still pending: no reminders until it is booked
            self._advance(VisitStatus(e.status))
        return True

    def end(self, status: VisitStatus, start: datetime, event_id: str | None = None) -> bool:
        """Cancelled, declined, missed or fulfilled: final, whatever arrives later."""
        if self.ended:
            return False
        if self.start is None:
            self.start = start
        self.status, self.ended_by = status, event_id
        return True

    def ended_here(self, event_id: str) -> bool:
        """Whether this ending is the one in force (an appointment ended before endings were recorded
        by event counts as ended by whichever ending is told)."""
        return self.ended and self.ended_by in (None, event_id)

    def moved_here(self, event_id: str) -> bool:
        """Whether this move is the one in force (so the patient is told the new time)."""
        return self.moved_by == event_id and self.active
