from datetime import date

from pydantic import Field

from caremesh_contracts.base import Event


class CoverageRegistered(Event):
    routing_key = "insurance.coverage.registered"

    coverage_id: str
    patient_id: str
    payer: str
    period_start: date
    period_end: date | None = None


class CoverageChanged(Event):
    """The coverage as it now stands, raised on registration and on every later change.

    A snapshot, so a consumer keeps the one with the highest ``coverage_version`` (events may
    arrive out of order or twice). Scheduling filters availability by ``service_codes``. No
    member id, group id or subscriber details.
    """

    routing_key = "insurance.coverage.changed"

    coverage_id: str
    patient_id: str
    coverage_version: int
    plan_id: str
    payer_id: str | None = Field(default=None, description="whose plan; a payer partner hears only of its members")
    status: str = Field(description="active, or cancelled (entered in error)")
    period_start: date
    period_end: date | None = None
    service_codes: list[str] = Field(description="CPT/HCPCS codes the plan covers")
    prior_authorization_codes: list[str] = Field(description="those of service_codes that need prior authorization")


class EligibilityConfirmed(Event):
    """trigger (optional) says what checked it: appointment_requested, pre_visit, coverage_changed,
    on_demand, payer_response or rescheduled. A re-check emits only when the decision changes; a
    reschedule always emits (the decision for the new date)."""

    routing_key = "insurance.eligibility.confirmed"

    appointment_id: str
    patient_id: str
    coverage_id: str
    trigger: str | None = None


class EligibilityDenied(Event):
    """reason_code is machine-readable; reason is plain language without clinical detail."""

    routing_key = "insurance.eligibility.denied"

    appointment_id: str
    patient_id: str
    reason_code: str
    reason: str
    trigger: str | None = None
