"""Eligibility decisions and what a check learned about the benefits. Pure Python: no I/O.

The rules adapter's logic lives here (``evaluate``): it decides from the plan data alone. The
X12 adapter's results take the same shape, so checks, events and the FHIR view do not care which
adapter answered.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from caremesh_insurance.domain.coverage import Coverage, CoverageStatus
from caremesh_insurance.domain.plans import Money, Payer, Percent, Plan


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    DENIED = "denied"


class DenialReason(StrEnum):
    NO_COVERAGE = "no_coverage"
    COVERAGE_INACTIVE = "coverage_inactive"
    SERVICE_NOT_COVERED = "service_not_covered"
    VISIT_LIMIT_REACHED = "visit_limit_reached"
    PAYER_REJECTED = "payer_rejected"  # the payer's 271 rejected the inquiry (AAA)


class RejectionAction(StrEnum):
    """What a coordinator must do before the payer can answer about the patient (the payer rejected
    the inquiry for a reason that says nothing about the coverage): then re-check."""

    FIX_REQUEST = "fix_request"  # correct the coverage's or the request's details (member id, names, dates)
    FIX_ENROLLMENT = "fix_enrollment"  # fix the provider's or the submitter's enrollment with the payer


PLAIN_REASONS = {
    DenialReason.NO_COVERAGE: "No insurance coverage is on file for this patient.",
    DenialReason.COVERAGE_INACTIVE: "The coverage on file is not active on the date of the visit.",
    DenialReason.SERVICE_NOT_COVERED: "The plan on file does not cover this service.",
    DenialReason.VISIT_LIMIT_REACHED: "The plan's visit limit for this year has been reached.",
    DenialReason.PAYER_REJECTED: "The insurer could not verify this coverage.",
}

# Which denial says most when no coverage confirms: an active plan that says no beats a lapsed one.
_RANK = {
    DenialReason.VISIT_LIMIT_REACHED: 4,
    DenialReason.SERVICE_NOT_COVERED: 3,
    DenialReason.PAYER_REJECTED: 2,
    DenialReason.COVERAGE_INACTIVE: 1,
    DenialReason.NO_COVERAGE: 0,
}


class Decision(BaseModel):
    outcome: Outcome
    coverage_id: str | None = None
    reason: DenialReason | None = None

    def same_as(self, other: "Decision") -> bool:
        return (self.outcome, self.coverage_id, self.reason) == (other.outcome, other.coverage_id, other.reason)


class BenefitDetail(BaseModel):
    """One service's (or X12 service type's) benefits, as the plan or the payer states them."""

    service_code: str | None = Field(None, description="CPT/HCPCS")
    service_type: str | None = Field(None, description="X12 service type code, e.g. 30")
    service_type_name: str | None = None
    covered: bool | None = None
    in_network: bool | None = None
    copay: Money | None = None
    coinsurance_percent: Percent | None = None
    deductible: Money | None = None
    deductible_remaining: Money | None = None
    visits_per_year: int | None = None
    visits_used: int | None = None
    visits_remaining: int | None = None
    prior_authorization_required: bool | None = None


class Rejection(BaseModel):
    """An AAA segment of a 271: the payer could not or would not answer."""

    loop: str = Field(description="where the AAA stood: 2100A payer, 2100B provider, 2100C subscriber…")
    valid_request: bool
    code: str = Field(description="AAA03 reject reason code")
    description: str
    follow_up_code: str | None = None
    follow_up: str | None = None


class EligibilityResult(BaseModel):
    decision: Decision
    adapter: str = Field(description="rules or x12")
    coverage_active: bool | None = None
    payer: str | None = Field(None, description="the payer's name")
    benefits: list[BenefitDetail] = []
    rejections: list[Rejection] = []
    findings: list[str] = Field([], description="validation findings on the payer's response")
    payer_error: str | None = Field(None, description="why the payer could not be asked; the rules decided")
    action: RejectionAction | None = Field(
        None, description="what a coordinator must fix before the payer answers (then re-check); the rules decided"
    )
    # The interchanges as sent and received, kept for disputes; not served by the API.
    x12_request: str | None = None
    x12_response: str | None = None


class Visit(BaseModel):
    """An appointment this coverage already confirmed, for visit limits."""

    coverage_id: str
    service_code: str
    service_date: date


@dataclass(frozen=True)
class Inquiry:
    """What a payer adapter is asked: one coverage's eligibility for a service on a day."""

    coverage: Coverage
    plan: Plan
    payer: Payer | None
    day: date
    service_code: str
    visits: list[Visit]


def denied(reason: DenialReason, adapter: str = "rules", **extra: Any) -> EligibilityResult:
    return EligibilityResult(decision=Decision(outcome=Outcome.DENIED, reason=reason), adapter=adapter, **extra)


def in_order(coverages: Iterable[Coverage]) -> list[Coverage]:
    """Coverages that count, primary first, then the earliest registered."""
    live = [c for c in coverages if c.status is not CoverageStatus.CANCELLED]
    return sorted(live, key=lambda c: (c.terms.order.rank, c.registered_at))


def counts_visits(plan: Plan, service_code: str) -> bool:
    """Whether the plan limits visits for the service: otherwise past visits change no decision."""
    benefit = plan.terms.benefit_for(service_code)
    return benefit is not None and (benefit.visits_per_year is not None or plan.terms.visits_per_year is not None)


def evaluate(
    coverage: Coverage,
    plan: Plan,
    day: date,
    service_code: str,
    visits: Iterable[Visit] = (),
    check_period: bool = True,
) -> EligibilityResult:
    """The rules adapter: one coverage, from its period and its plan's benefits (``check_period``
    False when a payer has already said the coverage is active)."""
    payer = coverage.payer
    if check_period and not coverage.active_on(day):
        return denied(DenialReason.COVERAGE_INACTIVE, coverage_active=False, payer=payer)
    benefit = plan.terms.benefit_for(service_code)
    if benefit is None:
        return denied(
            DenialReason.SERVICE_NOT_COVERED,
            coverage_active=True,
            payer=payer,
            benefits=[BenefitDetail(service_code=service_code, covered=False)],
        )
    same_year = [v for v in visits if v.coverage_id == coverage.id and v.service_date.year == day.year]
    used_service = sum(1 for v in same_year if v.service_code == service_code)
    share = plan.terms.cost_share_for(service_code)
    limit, used = (
        (benefit.visits_per_year, used_service)
        if benefit.visits_per_year
        else (plan.terms.visits_per_year, len(same_year))
    )
    detail = BenefitDetail(
        service_code=service_code,
        covered=True,
        copay=share.copay if share else None,
        coinsurance_percent=share.coinsurance_percent if share else None,
        deductible=plan.terms.deductible,
        visits_per_year=limit,
        visits_used=used if limit else None,
        prior_authorization_required=benefit.prior_authorization,
    )
    over_service = benefit.visits_per_year is not None and used_service >= benefit.visits_per_year
    over_plan = plan.terms.visits_per_year is not None and len(same_year) >= plan.terms.visits_per_year
    if over_service or over_plan:
        return denied(
            DenialReason.VISIT_LIMIT_REACHED,
            coverage_active=True,
            payer=payer,
            benefits=[detail.model_copy(update={"covered": False})],
        )
    return EligibilityResult(
        decision=Decision(outcome=Outcome.CONFIRMED, coverage_id=coverage.id),
        adapter="rules",
        coverage_active=True,
        payer=payer,
        benefits=[detail],
    )


def choose(results: list[EligibilityResult]) -> EligibilityResult:
    """The first confirmation in coverage order, else the denial that says most."""
    for r in results:
        if r.decision.outcome is Outcome.CONFIRMED:
            return r
    if not results:
        return denied(DenialReason.NO_COVERAGE)
    return max(results, key=lambda r: _RANK[r.decision.reason or DenialReason.NO_COVERAGE])  # first on ties


def decide(
    coverages: list[Coverage], plans: dict[str, Plan], day: date, service_code: str, visits: Iterable[Visit] = ()
) -> EligibilityResult:
    """The rules adapter over all of a patient's coverages."""
    visits = list(visits)
    return choose([evaluate(c, plans[c.terms.plan_id], day, service_code, visits) for c in in_order(coverages)])
