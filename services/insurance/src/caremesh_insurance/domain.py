"""Insurance's domain, pure Python with no I/O: one import for its parts.

- ``plans``: payers and plans with their benefits;
- ``coverage``: a patient's coverages, whose changes raise ``insurance.coverage.changed``;
- ``eligibility``: decisions (the rules adapter), checks with their history and re-checks;
- ``x12``: the 270 inquiry and 271 response of 005010X279A1, the 278 request of 005010X217;
- ``authorization``: prior authorizations (state machine, deadlines, report, submission adapters),
  imported from there.
"""

from caremesh_insurance.coverage import (
    Coverage,
    CoverageOrder,
    CoverageStatus,
    CoverageTerms,
    Person,
    Relationship,
)
from caremesh_insurance.eligibility import (
    PLAIN_REASONS,
    AppointmentStatus,
    BenefitDetail,
    CheckRun,
    Decision,
    DenialReason,
    EligibilityCheck,
    EligibilityResult,
    Outcome,
    Rejection,
    Trigger,
    Visit,
    choose,
    counts_visits,
    decide,
    evaluate,
    in_order,
)
from caremesh_insurance.plans import (
    SERVICE_CODE,
    CostShare,
    EligibilityAdapterName,
    Payer,
    PayerTerms,
    Plan,
    PlanStatus,
    PlanTerms,
    ServiceBenefit,
)

__all__ = [
    "PLAIN_REASONS",
    "SERVICE_CODE",
    "AppointmentStatus",
    "BenefitDetail",
    "CheckRun",
    "CostShare",
    "Coverage",
    "CoverageOrder",
    "CoverageStatus",
    "CoverageTerms",
    "Decision",
    "DenialReason",
    "EligibilityAdapterName",
    "EligibilityCheck",
    "EligibilityResult",
    "Outcome",
    "Payer",
    "PayerTerms",
    "Person",
    "Plan",
    "PlanStatus",
    "PlanTerms",
    "Rejection",
    "Relationship",
    "ServiceBenefit",
    "Trigger",
    "Visit",
    "choose",
    "counts_visits",
    "decide",
    "evaluate",
    "in_order",
]
