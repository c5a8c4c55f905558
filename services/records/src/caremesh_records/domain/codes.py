"""The code systems records accepts: the kit's, shared with scheduling (referral reasons)."""

from caremesh_kit.codes import (
    CPT,
    CVX,
    ICD10CM,
    NAMES,
    ROLE_CODE,
    RXNORM,
    SERVICE_CODE,
    SNOMED,
    Coding,
    Text,
    canonical,
    check,
    problem,
    verhoeff_valid,
)

__all__ = [
    "CPT",
    "CVX",
    "ICD10CM",
    "NAMES",
    "ROLE_CODE",
    "RXNORM",
    "SERVICE_CODE",
    "SNOMED",
    "Coding",
    "Text",
    "canonical",
    "check",
    "problem",
    "verhoeff_valid",
]
