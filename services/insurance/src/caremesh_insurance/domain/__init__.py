"""Insurance's domain, pure Python with no I/O and no clock (``now`` is passed in): one import for
its main parts.

- ``plans``: payers and plans with their benefits;
- ``coverage``: a patient's coverages, whose changes raise ``insurance.coverage.changed``;
- ``eligibility``: decisions (the plan rules), checks with their history and re-checks, the 270/271
  mapping and the FHIR view;
- ``authorization``: prior authorizations (state machine, deadlines, turnaround report, what a
  submission carries and its 278), imported from there;
- ``x12``: parsing and building the 270, 271 and 278 interchanges;
- ``correspondence``: the payer correspondence log's entries.
"""

from caremesh_insurance.domain.coverage import (
    Coverage,
    CoverageOrder,
    CoverageStatus,
    CoverageTerms,
    Person,
    Relationship,
)
from caremesh_insurance.domain.eligibility import (
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
    RejectionAction,
    Trigger,
    Visit,
    choose,
    counts_visits,
    decide,
    evaluate,
    in_order,
)
from caremesh_insurance.domain.plans import (
    CostShare,
    EligibilityAdapterName,
    Payer,
    PayerTerms,
    Plan,
    PlanStatus,
    PlanTerms,
    ServiceBenefit,
    SubmissionAdapterName,
)
from caremesh_kit.codes import SERVICE_CODE

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
    "RejectionAction",
    "Relationship",
    "ServiceBenefit",
    "SubmissionAdapterName",
    "Trigger",
    "Visit",
    "choose",
    "counts_visits",
    "decide",
    "evaluate",
    "in_order",
]
