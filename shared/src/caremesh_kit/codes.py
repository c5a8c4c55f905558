"""Coded values and the format rules of the code systems CareMesh accepts. Pure Python: no I/O.

Systems are named by their canonical URIs, as FHIR names them, so an export needs no mapping.
Only the format is checked (and SNOMED CT's check digit), not that a code exists in a release.
"""

import re
from collections.abc import Callable, Iterable
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from caremesh_kit.errors import Invalid

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CPT = "http://www.ama-assn.org/go/cpt"
CVX = "http://hl7.org/fhir/sid/cvx"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

NAMES = {
    ICD10CM: "ICD-10-CM",
    SNOMED: "SNOMED CT",
    RXNORM: "RxNorm",
    CPT: "CPT",
    CVX: "CVX",
    ROLE_CODE: "HL7 v3 RoleCode",
}

# A billable service: CPT (5 digits, or 4 and a letter) or HCPCS Level II (a letter and 4 digits).
SERVICE_CODE = r"^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$"

# Stripped, so blank text is empty; the pattern (a non-space, and no NUL, which a PostgreSQL-backed
# store cannot hold) says so in the JSON Schema too.
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NOT_BLANK)]


class Coding(BaseModel):
    """A code in a system, with the text a person reads (required: codes alone get misread)."""

    system: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NOT_BLANK)]
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=NOT_BLANK)]
    display: Text


# -- format rules: each returns why ``code`` is not valid, or None -------------------------------

_ICD10CM = re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")
_CPT = re.compile(r"[0-9]{4}[0-9FT]")


def _icd10cm(code: str) -> str | None:
    if _ICD10CM.fullmatch(code):
        return None
    return (
        "expected an uppercase letter, a digit, a letter or digit, then optionally a dot and up to "
        "4 letters or digits (e.g. E11.9, S72.001A)"
    )


def _snomed(code: str) -> str | None:
    if not code.isascii() or not code.isdigit() or not 6 <= len(code) <= 18:
        return "expected a SNOMED CT concept id of 6 to 18 digits"
    if code[0] == "0":
        return "a SNOMED CT id does not start with 0"
    # The two digits before the check digit say what the id names: 00 and 10 are concepts
    # (short and long format); 01, 02, 11, 12 are descriptions and relationships.
    if code[-3:-1] not in ("00", "10"):
        return "not a concept id (partition identifier must be 00 or 10)"
    if not verhoeff_valid(code):
        return "the check digit does not match (mistyped or truncated id?)"
    return None


def _rxnorm(code: str) -> str | None:
    if code.isascii() and code.isdigit() and len(code) <= 7 and code[0] != "0":
        return None
    return "expected an RxNorm RXCUI of 1 to 7 digits, without leading zeros"


def _cpt(code: str) -> str | None:
    if _CPT.fullmatch(code):
        return None
    return "expected 5 digits, or 4 digits then F (category II) or T (category III)"


def _cvx(code: str) -> str | None:
    if code.isascii() and code.isdigit() and len(code) <= 3:
        return None
    return "expected a CVX code of 1 to 3 digits"


# The v3 FamilyMember value set (the RoleCodes for relatives), for family history.
FAMILY_MEMBERS = frozenset(
    [
        "FAMMEMB",
        "CHILD",
        "CHLDADOPT",
        "DAUADOPT",
        "SONADOPT",
        "CHLDFOST",
        "DAUFOST",
        "SONFOST",
        "DAUC",
        "DAU",
        "SONC",
        "SON",
        "CHLDINLAW",
        "DAUINLAW",
        "SONINLAW",
        "NCHILD",
        "STPCHLD",
        "STPDAU",
        "STPSON",
        "EXT",
        "AUNT",
        "MAUNT",
        "PAUNT",
        "COUSN",
        "MCOUSN",
        "PCOUSN",
        "GGRPRN",
        "GGRFTH",
        "MGGRFTH",
        "PGGRFTH",
        "GGRMTH",
        "MGGRMTH",
        "PGGRMTH",
        "MGGRPRN",
        "PGGRPRN",
        "GRNDCHILD",
        "GRNDDAU",
        "GRNDSON",
        "GRPRN",
        "GRFTH",
        "MGRFTH",
        "PGRFTH",
        "GRMTH",
        "MGRMTH",
        "PGRMTH",
        "MGRPRN",
        "PGRPRN",
        "INLAW",
        "PRNINLAW",
        "FTHINLAW",
        "MTHINLAW",
        "SIBINLAW",
        "BROINLAW",
        "SISINLAW",
        "NIENEPH",
        "NEPHEW",
        "NIECE",
        "UNCLE",
        "MUNCLE",
        "PUNCLE",
        "PRN",
        "ADOPTP",
        "ADOPTF",
        "ADOPTM",
        "FTH",
        "FTHFOST",
        "NFTH",
        "NFTHF",
        "STPFTH",
        "MTH",
        "GESTM",
        "MTHFOST",
        "NMTH",
        "NMTHF",
        "STPMTH",
        "NPRN",
        "PRNFOST",
        "STPPRN",
        "SIB",
        "BRO",
        "HBRO",
        "NBRO",
        "TWINBRO",
        "FTWINBRO",
        "ITWINBRO",
        "STPBRO",
        "HSIB",
        "HSIS",
        "NSIB",
        "NSIS",
        "TWINSIS",
        "FTWINSIS",
        "ITWINSIS",
        "TWIN",
        "FTWIN",
        "ITWIN",
        "SIS",
        "STPSIS",
        "STPSIB",
        "SIGOTHR",
        "DOMPART",
        "FMRSPS",
        "SPS",
        "HUSB",
        "WIFE",
    ]
)


def _role_code(code: str) -> str | None:
    if code in FAMILY_MEMBERS:
        return None
    return "expected an HL7 v3 RoleCode for a family member (e.g. MTH, FTH, SIB)"


RULES: dict[str, Callable[[str], str | None]] = {
    ICD10CM: _icd10cm,
    SNOMED: _snomed,
    RXNORM: _rxnorm,
    CPT: _cpt,
    CVX: _cvx,
    ROLE_CODE: _role_code,
}


def problem(system: str, code: str) -> str | None:
    """Why ``code`` is not a valid code of ``system``, or None if it is."""
    rule = RULES.get(system)
    return rule(code) if rule else "unknown code system"


def check(field: str, coding: Coding, allowed: Iterable[str]) -> Coding:
    """``coding`` if its system is one of ``allowed`` and its code is well formed; else Invalid naming the field."""
    allowed = tuple(allowed)
    if coding.system not in allowed:
        names = " or ".join(f"{NAMES[s]} ({s})" for s in allowed)
        raise Invalid(f"{field}.system must be {names}", field=f"{field}.system")
    if why := problem(coding.system, coding.code):
        raise Invalid(f"{field}.code is not a valid {NAMES[coding.system]} code: {why}", field=f"{field}.code")
    return coding


def canonical(coding: Coding) -> str:
    """The code as one string for comparing entries; CVX is written with and without leading zeros."""
    code = (coding.code.lstrip("0") or "0") if coding.system == CVX else coding.code
    return f"{coding.system}|{code}"


# -- Verhoeff check digit (SNOMED CT ids) --------------------------------------------------------

_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
# Position permutations: the first applied i times (derived, so no table row can be mistyped).
_P1 = (1, 5, 7, 6, 2, 8, 3, 0, 9, 4)
_P = [tuple(range(10))]
for _ in range(7):
    _P.append(tuple(_P[-1][_P1[j]] for j in range(10)))


def verhoeff_valid(digits: str) -> bool:
    """True if the last digit is the Verhoeff check digit of the others."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0
