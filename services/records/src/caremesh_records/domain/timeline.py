"""A patient's timeline, learned from other services' events, and the encounters among them.
Pure Python: no I/O, no clock (``recorded_at`` is passed in)."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
    CoverageRegistered,
    EligibilityConfirmed,
    EligibilityDenied,
)


class TimelineKind(StrEnum):
    APPOINTMENT_BOOKED = "appointment.booked"
    APPOINTMENT_DECLINED = "appointment.declined"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_NO_SHOW = "appointment.no_show"
    ENCOUNTER = "encounter"
    COVERAGE_REGISTERED = "coverage.registered"
    ELIGIBILITY_CONFIRMED = "eligibility.confirmed"
    ELIGIBILITY_DENIED = "eligibility.denied"
    CARE_PLAN_CHANGED = "care_plan.changed"
    CARE_PLAN_TASK_OVERDUE = "care_plan.task_overdue"


class TimelineEntry(BaseModel):
    """One dated fact on a patient's timeline; its id is the id of the event it came from."""

    id: str
    patient_id: str
    kind: TimelineKind
    occurred_at: datetime
    recorded_at: datetime  # when records learned it: the use case's clock
    appointment_id: str | None = None
    care_plan_id: str | None = None
    summary: str


def entry_for_booking(event_id: str, e: AppointmentBooked, *, recorded_at: datetime) -> TimelineEntry:
    return TimelineEntry(
        id=event_id,
        recorded_at=recorded_at,
        patient_id=e.patient_id,
        kind=TimelineKind.APPOINTMENT_BOOKED,
        occurred_at=e.start,
        appointment_id=e.appointment_id,
        summary=f"Appointment booked with {e.practitioner_name} ({e.service_code})",
    )


def entry_for_decline(event_id: str, e: AppointmentDeclined, *, recorded_at: datetime) -> TimelineEntry:
    return TimelineEntry(
        id=event_id,
        recorded_at=recorded_at,
        patient_id=e.patient_id,
        kind=TimelineKind.APPOINTMENT_DECLINED,
        occurred_at=e.start,
        appointment_id=e.appointment_id,
        summary=f"Appointment request declined ({e.reason_code})",
    )


def entry_for_cancellation(
    event_id: str, cancelled_at: datetime, e: AppointmentCancelled, *, recorded_at: datetime
) -> TimelineEntry:
    late = ", late" if e.late else ""
    return TimelineEntry(
        id=event_id,
        recorded_at=recorded_at,
        patient_id=e.patient_id,
        kind=TimelineKind.APPOINTMENT_CANCELLED,
        occurred_at=cancelled_at,
        appointment_id=e.appointment_id,
        summary=f"Appointment cancelled by {e.cancelled_by_role} ({e.reason_code}{late})",
    )


def entry_for_no_show(event_id: str, e: AppointmentNoShowRecorded, *, recorded_at: datetime) -> TimelineEntry:
    return TimelineEntry(
        id=event_id,
        recorded_at=recorded_at,
        patient_id=e.patient_id,
        kind=TimelineKind.APPOINTMENT_NO_SHOW,
        occurred_at=e.start,
        appointment_id=e.appointment_id,
        summary="Did not attend the appointment; follow up to rebook",
    )


# Coverage decisions, learned from insurance's events: dated when insurance decided.


def entry_for_coverage(
    event_id: str, decided_at: datetime, e: CoverageRegistered, *, recorded_at: datetime
) -> TimelineEntry:
    until = f" to {e.period_end.isoformat()}" if e.period_end else ""
    return TimelineEntry(
        id=event_id,
        recorded_at=recorded_at,
        patient_id=e.patient_id,
        kind=TimelineKind.COVERAGE_REGISTERED,
        occurred_at=decided_at,
        summary=f"Coverage with {e.payer} registered, from {e.period_start.isoformat()}{until}",
    )


def entry_for_eligibility(
    event_id: str, decided_at: datetime, e: EligibilityConfirmed, *, recorded_at: datetime
) -> TimelineEntry:
    return TimelineEntry(
        id=event_id,
        recorded_at=recorded_at,
        patient_id=e.patient_id,
        kind=TimelineKind.ELIGIBILITY_CONFIRMED,
        occurred_at=decided_at,
        appointment_id=e.appointment_id,
        summary="Insurance confirmed coverage for the appointment",
    )


def entry_for_ineligibility(
    event_id: str, decided_at: datetime, e: EligibilityDenied, *, recorded_at: datetime
) -> TimelineEntry:
    return TimelineEntry(
        id=event_id,
        recorded_at=recorded_at,
        patient_id=e.patient_id,
        kind=TimelineKind.ELIGIBILITY_DENIED,
        occurred_at=decided_at,
        appointment_id=e.appointment_id,
        summary=f"Insurance denied coverage for the appointment: {e.reason}",
    )


class Encounter(BaseModel):
    """A visit that took place, learned from scheduling; its id is the appointment id."""

    id: str
    patient_id: str
    status: str = "finished"
    practitioner_id: str
    practitioner_name: str
    service_code: str  # CPT, unless service_system says otherwise
    start: datetime
    end: datetime
    completed_at: datetime
    source: str = "scheduling"
    # Encounters imported from another record keep the visit type as coded there (e.g. SNOMED CT).
    service_system: str | None = None  # None: CPT
    service_display: str | None = None


def encounter_from(e: AppointmentFulfilled) -> Encounter:
    return Encounter(
        id=e.appointment_id,
        patient_id=e.patient_id,
        practitioner_id=e.practitioner_id,
        practitioner_name=e.practitioner_name,
        service_code=e.service_code,
        start=e.start,
        end=e.end,
        completed_at=e.completed_at,
    )


def entry_for_encounter(event_id: str, encounter: Encounter, *, recorded_at: datetime) -> TimelineEntry:
    return TimelineEntry(
        id=event_id,
        recorded_at=recorded_at,
        patient_id=encounter.patient_id,
        kind=TimelineKind.ENCOUNTER,
        occurred_at=encounter.start,
        appointment_id=encounter.id,
        summary=f"Visit with {encounter.practitioner_name} ({encounter.service_code})",
    )
