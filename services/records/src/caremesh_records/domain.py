"""Patients and their timeline. Pure Python: no I/O."""

from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
    PatientRegistered,
)
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Invalid
from caremesh_kit.types import TimeZoneName
from pydantic import BaseModel, EmailStr, Field


class Demographics(BaseModel):
    given_name: str = Field(min_length=1, max_length=200)
    family_name: str = Field(min_length=1, max_length=200)
    birth_date: date
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")
    time_zone: TimeZoneName = "UTC"


class Patient(Aggregate):
    demographics: Demographics
    registered_at: datetime

    @classmethod
    def register(cls, patient_id: str, demographics: Demographics, now: datetime) -> "Patient":
        # A birth date is a local date: compare with today where the patient lives.
        if demographics.birth_date > local_date(now, demographics.time_zone):
            raise Invalid("birth_date is in the future", field="birth_date")
        if not (demographics.email or demographics.phone):
            raise Invalid("a patient needs an email or a phone number to be kept informed", field="email")
        patient = cls(id=patient_id, demographics=demographics, registered_at=now)
        d = demographics
        patient.raise_event(PatientRegistered(
            patient_id=patient_id, given_name=d.given_name, email=d.email, phone=d.phone, time_zone=d.time_zone,
        ))
        return patient

    def today(self, now: datetime) -> date:
        """The calendar date at ``now`` where the patient lives: what their clinical dates compare with."""
        return local_date(now, self.demographics.time_zone)


def local_date(now: datetime, time_zone: str) -> date:
    return now.astimezone(ZoneInfo(time_zone)).date()


class TimelineKind(StrEnum):
    APPOINTMENT_BOOKED = "appointment.booked"
    APPOINTMENT_DECLINED = "appointment.declined"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_NO_SHOW = "appointment.no_show"
    ENCOUNTER = "encounter"


class TimelineEntry(BaseModel):
    """One dated fact on a patient's timeline; its id is the id of the event it came from."""

    id: str
    patient_id: str
    kind: TimelineKind
    occurred_at: datetime
    recorded_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    appointment_id: str
    summary: str


def entry_for_booking(event_id: str, e: AppointmentBooked) -> TimelineEntry:
    return TimelineEntry(id=event_id, patient_id=e.patient_id, kind=TimelineKind.APPOINTMENT_BOOKED,
                         occurred_at=e.start, appointment_id=e.appointment_id,
                         summary=f"Appointment booked with {e.practitioner_name} ({e.service_code})")


def entry_for_decline(event_id: str, e: AppointmentDeclined) -> TimelineEntry:
    return TimelineEntry(id=event_id, patient_id=e.patient_id, kind=TimelineKind.APPOINTMENT_DECLINED,
                         occurred_at=e.start, appointment_id=e.appointment_id,
                         summary=f"Appointment request declined ({e.reason_code})")


def entry_for_cancellation(event_id: str, cancelled_at: datetime, e: AppointmentCancelled) -> TimelineEntry:
    late = ", late" if e.late else ""
    return TimelineEntry(id=event_id, patient_id=e.patient_id, kind=TimelineKind.APPOINTMENT_CANCELLED,
                         occurred_at=cancelled_at, appointment_id=e.appointment_id,
                         summary=f"Appointment cancelled by {e.cancelled_by_role} ({e.reason_code}{late})")


def entry_for_no_show(event_id: str, e: AppointmentNoShowRecorded) -> TimelineEntry:
    return TimelineEntry(id=event_id, patient_id=e.patient_id, kind=TimelineKind.APPOINTMENT_NO_SHOW,
                         occurred_at=e.start, appointment_id=e.appointment_id,
                         summary="Did not attend the appointment; follow up to rebook")


class Encounter(BaseModel):
    """A visit that took place, learned from scheduling; its id is the appointment id."""

    id: str
    patient_id: str
    status: str = "finished"
    practitioner_id: str
    practitioner_name: str
    service_code: str  # CPT
    start: datetime
    end: datetime
    completed_at: datetime
    source: str = "scheduling"


def encounter_from(e: AppointmentFulfilled) -> Encounter:
    return Encounter(id=e.appointment_id, patient_id=e.patient_id, practitioner_id=e.practitioner_id,
                     practitioner_name=e.practitioner_name, service_code=e.service_code, start=e.start, end=e.end,
                     completed_at=e.completed_at)


def entry_for_encounter(event_id: str, encounter: Encounter) -> TimelineEntry:
    return TimelineEntry(id=event_id, patient_id=encounter.patient_id, kind=TimelineKind.ENCOUNTER,
                         occurred_at=encounter.start, appointment_id=encounter.id,
                         summary=f"Visit with {encounter.practitioner_name} ({encounter.service_code})")
