from datetime import date, datetime

from pydantic import Field

from caremesh_contracts.base import Email, Event


class PatientRegistered(Event):
    """Contact details for messaging; no birth date or clinical data."""

    routing_key = "records.patient.registered"

    patient_id: str
    given_name: str = Field(min_length=1)
    email: Email | None = None
    phone: str | None = None
    time_zone: str


class PatientMerged(Event):
    """patient_id was a duplicate of merged_into; consumers re-point what they hold for it."""

    routing_key = "records.patient.merged"

    patient_id: str
    merged_into: str


class RelatedPersonAdded(Event):
    """A family member or caregiver; contact details only, no health data."""

    routing_key = "records.related_person.added"

    related_person_id: str
    patient_id: str
    given_name: str = Field(min_length=1)
    relationship: str
    email: Email | None = None
    phone: str | None = None
    time_zone: str


class ConsentChanged(Event):
    """What a related person may now receive about the patient; empty when withdrawn."""

    routing_key = "records.consent.changed"

    related_person_id: str
    patient_id: str
    categories: list[str]
    changed_at: datetime


class CarePlanChanged(Event):
    """Something in a care plan changed; ids and the kind of change only, no clinical text."""

    routing_key = "records.care_plan.changed"

    care_plan_id: str
    patient_id: str
    change: str = Field(
        description="created, imported, status_changed, goal_added, task_added, "
        "task_status_changed or observation_recorded"
    )
    item_id: str | None = Field(default=None, description="the goal, task or observation it concerns")
    status: str | None = Field(default=None, description="for status changes: the plan's or the task's new status")
    changed_at: datetime


class CareTaskOverdue(Event):
    """A care-plan task passed its due date while still open; raised once per task."""

    routing_key = "records.care_plan.task_overdue"

    care_plan_id: str
    task_id: str
    patient_id: str
    due_date: date
    assignee_id: str | None = None
    assignee_role: str | None = None
