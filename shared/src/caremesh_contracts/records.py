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
