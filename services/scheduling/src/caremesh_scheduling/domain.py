"""Practitioners, slots and the appointment lifecycle. Pure Python: no I/O."""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from caremesh_contracts import AppointmentBooked, AppointmentDeclined, AppointmentRequested
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict, Invalid
from caremesh_kit.types import TimeZoneName
from pydantic import BaseModel, Field, model_validator

SERVICE_CODE = r"^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$"


class PractitionerDetails(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    specialty: str | None = Field(default=None, max_length=200)
    time_zone: TimeZoneName = "UTC"


class Practitioner(Aggregate):
    details: PractitionerDetails


class SlotTimes(BaseModel):
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _order(self) -> "SlotTimes":
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a UTC offset")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > timedelta(hours=12):
            raise ValueError("a slot lasts at most 12 hours")
        return self


class Slot(Aggregate):
    practitioner_id: str
    start: datetime
    end: datetime


class Status(StrEnum):
    PENDING = "pending"  # waiting on insurance
    BOOKED = "booked"
    DECLINED = "declined"


class Appointment(Aggregate):
    patient_id: str
    practitioner_id: str
    slot_id: str
    service_code: str
    start: datetime
    end: datetime
    status: Status
    decline_reason: str | None = None
    requested_at: datetime
    updated_at: datetime

    @classmethod
    def request(cls, appointment_id: str, patient_id: str, slot: Slot, practitioner: Practitioner,
                service_code: str, now: datetime) -> "Appointment":
        if slot.start <= now:
            raise Invalid("the slot has already started", field="slot_id")
        appt = cls(id=appointment_id, patient_id=patient_id, practitioner_id=slot.practitioner_id, slot_id=slot.id,
                   service_code=service_code, start=slot.start, end=slot.end, status=Status.PENDING,
                   requested_at=now, updated_at=now)
        local_day = slot.start.astimezone(ZoneInfo(practitioner.details.time_zone)).date()
        appt.raise_event(AppointmentRequested(
            appointment_id=appointment_id, patient_id=patient_id, practitioner_id=slot.practitioner_id,
            slot_id=slot.id, service_code=service_code, start=slot.start, end=slot.end, service_date=local_day))
        return appt

    def book(self, practitioner_name: str, now: datetime) -> bool:
        """Eligibility confirmed. Returns False when already booked (a redelivery)."""
        if self.status is Status.BOOKED:
            return False
        if self.status is not Status.PENDING:
            raise Conflict(f"cannot book an appointment that is {self.status.value}",
                           current=self.status.value, requested=Status.BOOKED.value)
        event = AppointmentBooked(
            appointment_id=self.id, patient_id=self.patient_id, practitioner_id=self.practitioner_id,
            practitioner_name=practitioner_name, service_code=self.service_code, start=self.start, end=self.end)
        self.status, self.updated_at = Status.BOOKED, now
        self.raise_event(event)
        return True

    def decline(self, reason_code: str, now: datetime) -> bool:
        """Eligibility denied. Returns False when already declined (a redelivery)."""
        if self.status is Status.DECLINED:
            return False
        if self.status is not Status.PENDING:
            raise Conflict(f"cannot decline an appointment that is {self.status.value}",
                           current=self.status.value, requested=Status.DECLINED.value)
        # The event first: if it is invalid, the appointment is left unchanged.
        event = AppointmentDeclined(appointment_id=self.id, patient_id=self.patient_id,
                                    service_code=self.service_code, start=self.start, reason_code=reason_code)
        self.status, self.decline_reason, self.updated_at = Status.DECLINED, reason_code, now
        self.raise_event(event)
        return True

    @property
    def holds_slot(self) -> bool:
        return self.status in (Status.PENDING, Status.BOOKED)


def utcnow() -> datetime:
    return datetime.now(UTC)
