"""Coverages and eligibility decisions. Pure Python: no I/O."""

import re
from datetime import date, datetime
from enum import StrEnum

from caremesh_contracts import CoverageRegistered, EligibilityConfirmed, EligibilityDenied
from caremesh_kit.aggregate import Aggregate
from pydantic import BaseModel, Field, model_validator

# CPT (5 digits or 4 digits + letter) or HCPCS Level II (letter + 4 digits).
SERVICE_CODE = r"^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$"


class CoverageTerms(BaseModel):
    patient_id: str = Field(min_length=1)
    payer: str = Field(min_length=1, max_length=200)
    plan: str = Field(min_length=1, max_length=200)
    member_id: str = Field(min_length=1, max_length=80)
    period_start: date
    period_end: date | None = None
    service_codes: list[str] = Field(min_length=1, description="CPT/HCPCS codes the plan covers")

    @model_validator(mode="after")
    def _period(self) -> "CoverageTerms":
        if self.period_end and self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        bad = [c for c in self.service_codes if not re.fullmatch(SERVICE_CODE, c)]
        if bad:
            raise ValueError(f"not CPT/HCPCS codes: {', '.join(bad)}")
        return self

    def active_on(self, day: date) -> bool:
        return self.period_start <= day and (self.period_end is None or day <= self.period_end)


class Coverage(Aggregate):
    terms: CoverageTerms
    registered_at: datetime

    @classmethod
    def register(cls, coverage_id: str, terms: CoverageTerms, now: datetime) -> "Coverage":
        coverage = cls(id=coverage_id, terms=terms, registered_at=now)
        coverage.raise_event(CoverageRegistered(
            coverage_id=coverage_id, patient_id=terms.patient_id, payer=terms.payer,
            period_start=terms.period_start, period_end=terms.period_end,
        ))
        return coverage


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    DENIED = "denied"


class DenialReason(StrEnum):
    NO_COVERAGE = "no_coverage"
    COVERAGE_INACTIVE = "coverage_inactive"
    SERVICE_NOT_COVERED = "service_not_covered"


PLAIN_REASONS = {
    DenialReason.NO_COVERAGE: "No insurance coverage is on file for this patient.",
    DenialReason.COVERAGE_INACTIVE: "The coverage on file is not active on the date of the visit.",
    DenialReason.SERVICE_NOT_COVERED: "The plan on file does not cover this service.",
}


class Decision(BaseModel):
    outcome: Outcome
    coverage_id: str | None = None
    reason: DenialReason | None = None


def decide(coverages: list[Coverage], day: date, service_code: str) -> Decision:
    """The first coverage active on ``day`` that covers the service wins; else the closest reason."""
    if not coverages:
        return Decision(outcome=Outcome.DENIED, reason=DenialReason.NO_COVERAGE)
    active = [c for c in coverages if c.terms.active_on(day)]
    if not active:
        return Decision(outcome=Outcome.DENIED, reason=DenialReason.COVERAGE_INACTIVE)
    for c in sorted(active, key=lambda c: c.registered_at):
        if service_code in c.terms.service_codes:
            return Decision(outcome=Outcome.CONFIRMED, coverage_id=c.id)
    return Decision(outcome=Outcome.DENIED, reason=DenialReason.SERVICE_NOT_COVERED)


class EligibilityCheck(Aggregate):
    """One check per appointment; its id is the appointment id, so a redelivery finds it done."""

    patient_id: str
    service_code: str
    service_date: date
    decision: Decision
    checked_at: datetime

    @classmethod
    def record(cls, appointment_id: str, patient_id: str, service_code: str, service_date: date,
               decision: Decision, now: datetime) -> "EligibilityCheck":
        check = cls(id=appointment_id, patient_id=patient_id, service_code=service_code,
                    service_date=service_date, decision=decision, checked_at=now)
        if decision.outcome is Outcome.CONFIRMED:
            check.raise_event(EligibilityConfirmed(
                appointment_id=appointment_id, patient_id=patient_id, coverage_id=decision.coverage_id or ""))
        else:
            reason = decision.reason or DenialReason.NO_COVERAGE
            check.raise_event(EligibilityDenied(
                appointment_id=appointment_id, patient_id=patient_id, reason_code=reason.value,
                reason=PLAIN_REASONS[reason]))
        return check
