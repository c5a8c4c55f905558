from datetime import datetime

from pydantic import EmailStr, Field

from caremesh_contracts.base import Event


class PatientRegistered(Event):
    """Contact details for messaging; no birth date or clinical data."""

    routing_key = "records.patient.registered"

    patient_id: str
    given_name: str = Field(min_length=1)
    email: EmailStr | None = None
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
    email: EmailStr | None = None
    phone: str | None = None
    time_zone: str


class ConsentChanged(Event):
    """What a related person may now receive about the patient; empty when withdrawn."""

    routing_key = "records.consent.changed"

    related_person_id: str
    patient_id: str
    categories: list[str]
    changed_at: datetime
