"""Eligibility: decisions, checks with their history, payer adapters and the FHIR view."""

from caremesh_insurance.eligibility.check import AppointmentStatus, CheckRun, EligibilityCheck, Trigger
from caremesh_insurance.eligibility.decision import (
    PLAIN_REASONS,
    BenefitDetail,
    Decision,
    DenialReason,
    EligibilityResult,
    Outcome,
    Rejection,
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
    "Trigger",
    "Visit",
    "choose",
    "counts_visits",
    "decide",
    "evaluate",
    "in_order",
]
