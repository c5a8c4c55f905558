"""The appointment lifecycle. Pure Python: no I/O."""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from caremesh_contracts import (
    AppointmentArrived,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
    AppointmentRequested,
)
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict, Invalid
from pydantic import BaseModel

from caremesh_scheduling.domain.slots import Claim, Slot, claims_for


class Status(StrEnum):
    PENDING = "pending"  # waiting on insurance
    BOOKED = "booked"
    DECLINED = "declined"  # insurance said no
    ARRIVED = "arrived"
    FULFILLED = "fulfilled"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


# The lifecycle as data: each state and the states it may move to. Anything else is a 409.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.BOOKED, Status.DECLINED, Status.CANCELLED}),
    Status.BOOKED: frozenset({Status.ARRIVED, Status.NO_SHOW, Status.CANCELLED}),
    Status.ARRIVED: frozenset({Status.FULFILLED, Status.CANCELLED}),
    Status.DECLINED: frozenset(),
    Status.FULFILLED: frozenset(),
    Status.NO_SHOW: frozenset(),
    Status.CANCELLED: frozenset(),
}
HOLDS_SLOT = frozenset({Status.PENDING, Status.BOOKED, Status.ARRIVED, Status.FULFILLED, Status.NO_SHOW})
LATE_CANCEL_WINDOW = timedelta(hours=24)


class CancelReason(StrEnum):
    """A subset of FHIR's appointment-cancellation-reason codes."""

    PATIENT = "pat"
    PATIENT_FEELS_BETTER = "pat-fb"
    PATIENT_NO_TRANSPORT = "pat-lt"
    PATIENT_MOVED = "pat-mv"
    PATIENT_DECEASED = "pat-dec"
    PROVIDER = "prov"
    PROVIDER_HOSPITALIZED = "prov-hosp"
    FACILITY_MAINTENANCE = "maint"
    WEATHER = "oth-weath"
    ERROR = "oth-err"
    OTHER = "oth"


class Cancellation(BaseModel):
    reason_code: CancelReason
    by: str
    by_role: str
    at: datetime
    late: bool
    note: str | None = None


class Appointment(Aggregate):
    patient_id: str
    practitioner_id: str
    slot_id: str
    service_code: str
    start: datetime
    end: datetime
    status: Status
    # Where and what; empty on appointments made before slots were derived from templates.
    location_id: str = ""
    room: str | None = None
    service_type_id: str = ""
    # The practitioner's and the room's time around the visit, as the template had it when booked.
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    decline_reason: str | None = None
    cancellation: Cancellation | None = None
    arrived_at: datetime | None = None
    completed_at: datetime | None = None
    requested_at: datetime
    updated_at: datetime

    @classmethod
    def request(cls, appointment_id: str, patient_id: str, slot: Slot, now: datetime) -> "Appointment":
        if slot.start <= now:
            raise Invalid("the slot has already started", field="start")
        appt = cls(id=appointment_id, patient_id=patient_id, practitioner_id=slot.practitioner_id, slot_id=slot.id,
                   service_code=slot.service_code, start=slot.start, end=slot.end, status=Status.PENDING,
                   location_id=slot.location_id, room=slot.room, service_type_id=slot.service_type_id,
                   buffer_before_minutes=slot.buffer_before // timedelta(minutes=1),
                   buffer_after_minutes=slot.buffer_after // timedelta(minutes=1),
                   requested_at=now, updated_at=now)
        # The visit's date where it takes place: the location's zone.
        local_day = slot.start.astimezone(ZoneInfo(slot.time_zone)).date()
        appt.raise_event(AppointmentRequested(
            appointment_id=appointment_id, patient_id=patient_id, practitioner_id=slot.practitioner_id,
            slot_id=slot.id, service_code=slot.service_code, start=slot.start, end=slot.end,
            service_date=local_day))
        return appt

    @property
    def footprint(self) -> tuple[datetime, datetime]:
        """The practitioner's and the room's time: the visit and its buffers."""
        return (self.start - timedelta(minutes=self.buffer_before_minutes),
                self.end + timedelta(minutes=self.buffer_after_minutes))

    def claims(self) -> list[Claim]:
        return claims_for(self.practitioner_id, self.location_id, self.room, self.patient_id, self.start, self.end,
                          timedelta(minutes=self.buffer_before_minutes), timedelta(minutes=self.buffer_after_minutes))

    def _guard(self, target: Status, verb: str) -> bool:
        """True if the move to ``target`` is due; False if already there (a repeat); else 409."""
        if self.status is target:
            return False
        if target not in TRANSITIONS[self.status]:
            raise Conflict(f"cannot {verb} an appointment that is {self.status.value}",
                           current=self.status.value, requested=target.value)
        return True

    def book(self, practitioner_name: str, now: datetime) -> bool:
        """Eligibility confirmed. Returns False when already booked (a redelivery)."""
        if not self._guard(Status.BOOKED, "book"):
            return False
        event = AppointmentBooked(
            appointment_id=self.id, patient_id=self.patient_id, practitioner_id=self.practitioner_id,
            practitioner_name=practitioner_name, service_code=self.service_code, start=self.start, end=self.end)
        self.status, self.updated_at = Status.BOOKED, now
        self.raise_event(event)
        return True

    def decline(self, reason_code: str, now: datetime) -> bool:
        """Eligibility denied. Returns False when already declined (a redelivery)."""
        if not self._guard(Status.DECLINED, "decline"):
            return False
        # The event first: if it is invalid, the appointment is left unchanged.
        event = AppointmentDeclined(appointment_id=self.id, patient_id=self.patient_id,
                                    service_code=self.service_code, start=self.start, reason_code=reason_code)
        self.status, self.decline_reason, self.updated_at = Status.DECLINED, reason_code, now
        self.raise_event(event)
        return True

    def cancel(self, reason: CancelReason, by: str, by_role: str, now: datetime, note: str | None = None) -> bool:
        if not self._guard(Status.CANCELLED, "cancel"):
            return False
        late = now >= self.start - LATE_CANCEL_WINDOW
        event = AppointmentCancelled(appointment_id=self.id, patient_id=self.patient_id,
                                     service_code=self.service_code, start=self.start, reason_code=reason.value,
                                     cancelled_by_role=by_role, late=late)
        self.cancellation = Cancellation(reason_code=reason, by=by, by_role=by_role, at=now, late=late, note=note)
        self.status, self.updated_at = Status.CANCELLED, now
        self.raise_event(event)
        return True

    def check_in(self, now: datetime) -> bool:
        if not self._guard(Status.ARRIVED, "check in"):
            return False
        if now < self.start - timedelta(hours=2):
            raise Invalid("check-in opens two hours before the start", field="status")
        self.status, self.arrived_at, self.updated_at = Status.ARRIVED, now, now
        self.raise_event(AppointmentArrived(appointment_id=self.id, patient_id=self.patient_id, arrived_at=now))
        return True

    def complete(self, practitioner_name: str, now: datetime) -> bool:
        if not self._guard(Status.FULFILLED, "complete"):
            return False
        event = AppointmentFulfilled(
            appointment_id=self.id, patient_id=self.patient_id, practitioner_id=self.practitioner_id,
            practitioner_name=practitioner_name, service_code=self.service_code, start=self.start, end=self.end,
            completed_at=now)
        self.status, self.completed_at, self.updated_at = Status.FULFILLED, now, now
        self.raise_event(event)
        return True

    def mark_no_show(self, now: datetime) -> bool:
        if not self._guard(Status.NO_SHOW, "mark as a no-show"):
            return False
        if now < self.start:
            raise Invalid("an appointment can be a no-show only after it starts", field="status")
        self.status, self.updated_at = Status.NO_SHOW, now
        self.raise_event(AppointmentNoShowRecorded(appointment_id=self.id, patient_id=self.patient_id,
                                                   service_code=self.service_code, start=self.start))
        return True

    @property
    def holds_slot(self) -> bool:
        return self.status in HOLDS_SLOT


def utcnow() -> datetime:
    return datetime.now(UTC)
