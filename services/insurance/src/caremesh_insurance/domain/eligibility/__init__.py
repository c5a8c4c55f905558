"""Eligibility, pure: decisions (``decision``), checks with their history (``check``), the 270/271
mapping (``x12_mapping``) and the FHIR view (``fhir``). The payer adapters are in ``adapters``."""

from caremesh_insurance.domain.eligibility.check import AppointmentStatus, CheckRun, EligibilityCheck, Trigger
from caremesh_insurance.domain.eligibility.decision import (
    PLAIN_REASONS,
    BenefitDetail,
    Decision,
    DenialReason,
    EligibilityResult,
    Outcome,
    Rejection,
    RejectionAction,
    Visit,
    choose,
    counts_visits,
    decide,
    evaluate,
    in_order,
)

__all__ = [
    "PLAIN_REASONS",
    "AppointmentStatus",
    "BenefitDetail",
    "CheckRun",
    "Decision",
    "DenialReason",
    "EligibilityCheck",
    "EligibilityResult",
    "Outcome",
    "Rejection",
    "RejectionAction",
    "Trigger",
    "Visit",
    "choose",
    "counts_visits",
    "decide",
    "evaluate",
    "in_order",
]
