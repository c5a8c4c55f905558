from datetime import date

from caremesh_contracts.base import Event


class CoverageRegistered(Event):
    routing_key = "insurance.coverage.registered"

    coverage_id: str
    patient_id: str
    payer: str
    period_start: date
    period_end: date | None = None


class EligibilityConfirmed(Event):
    routing_key = "insurance.eligibility.confirmed"

    appointment_id: str
    patient_id: str
    coverage_id: str


class EligibilityDenied(Event):
    """reason_code is machine-readable; reason is plain language without clinical detail."""

    routing_key = "insurance.eligibility.denied"

    appointment_id: str
    patient_id: str
    reason_code: str
    reason: str
