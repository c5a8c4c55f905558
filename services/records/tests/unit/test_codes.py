"""Unit tests of the code systems' format rules and the SNOMED CT check digit."""

import pytest
from pydantic import ValidationError

from caremesh_kit.errors import Invalid
from caremesh_records.domain import codes
from caremesh_records.domain.codes import CPT, CVX, ICD10CM, ROLE_CODE, RXNORM, SNOMED, Coding, problem, verhoeff_valid

# Real concepts: type 2 diabetes, asthma, diabetes mellitus, hypertension, myocardial infarction,
# COVID-19, amoxicillin, paracetamol, appendectomy, allergy to penicillin.
REAL_SNOMED = [
    "44054006",
    "195967001",
    "73211009",
    "38341003",
    "22298006",
    "840539006",
    "372687004",
    "387517004",
    "80146002",
    "91936005",
]
# From the SNOMED CT specification's examples: the lowest concept id, short and long format ids.
SPEC_SNOMED = ["100005", "1290023401004", "11000001102", "10989121108", "1290989121103", "999999990989121104"]


# -- SNOMED CT -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", REAL_SNOMED + SPEC_SNOMED)
def test_valid_snomed_concept_ids(code):
    assert problem(SNOMED, code) is None


@pytest.mark.parametrize("code", REAL_SNOMED + SPEC_SNOMED)
def test_every_other_check_digit_is_refused(code):
    for digit in "0123456789":
        if digit != code[-1]:
            assert "check digit" in problem(SNOMED, code[:-1] + digit)


@pytest.mark.parametrize("code", REAL_SNOMED)
def test_swapped_neighbouring_digits_are_caught(code):
    # Verhoeff catches every transposition of adjacent digits (the partition digits are left alone).
    item = code[:-3]
    for i in range(len(item) - 1):
        if item[i] != item[i + 1]:
            swapped = item[:i] + item[i + 1] + item[i] + item[i + 2 :] + code[-3:]
            assert problem(SNOMED, swapped) is not None, swapped


@pytest.mark.parametrize("code", ["44054006", "195967001", "73211009"])
def test_a_mistyped_digit_is_caught(code):
    for i in range(len(code) - 3):
        for digit in "0123456789":
            if digit != code[i]:
                assert problem(SNOMED, code[:i] + digit + code[i + 1 :]) is not None


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("44054007", "check digit"),
        ("195967002", "check digit"),
        ("73211008", "check digit"),
        ("1290023401015", "partition"),  # a description id (01)
        ("9940000001029", "partition"),  # a relationship id (02)
        ("1290000001117", "partition"),  # a long-format description id (11)
        ("12345", "6 to 18 digits"),
        ("1234567890123456789", "6 to 18 digits"),
        ("4405400X", "6 to 18 digits"),
        ("４４０５４００６", "6 to 18 digits"),  # full-width digits
        ("044054006", "does not start with 0"),
        ("", "6 to 18 digits"),
    ],
)
def test_invalid_snomed_ids_say_why(code, says):
    assert says in problem(SNOMED, code)


def test_verhoeff_on_its_textbook_example():
    assert verhoeff_valid("2363")
    assert not verhoeff_valid("2364")


# -- ICD-10-CM, RxNorm, CPT, CVX, RoleCode -------------------------------------------------------

VALID = {
    ICD10CM: ["E11.9", "S72.001A", "U07.1", "I10", "A00", "J45.909", "Z00.00", "O09.891", "C50.911", "M1A.0110"],
    RXNORM: ["1", "6809", "7980", "1234567"],
    CPT: ["99213", "44950", "00100", "0001F", "0042T"],
    CVX: ["3", "03", "140", "208"],
    ROLE_CODE: ["MTH", "FTH", "SIB", "BRO", "SIS", "MGRMTH", "PGRFTH", "SON", "DAU", "AUNT", "UNCLE", "COUSN"],
}
INVALID = {
    ICD10CM: ["E119", "e11.9", "11.9", "E1.9", "E11.", "E11.12345", "E11-9", "EE1.9", "E11 .9", ""],
    RXNORM: ["", "12345678", "0123", "12a", "-1", "1.5"],
    CPT: ["9921", "992134", "0001f", "0001X", "A1234", "99 13"],
    CVX: ["", "1400", "1a", "CVX140"],
    ROLE_CODE: ["MOM", "mth", "", "DOCTOR"],
}


@pytest.mark.parametrize(("system", "code"), [(s, c) for s, cs in VALID.items() for c in cs])
def test_valid_codes(system, code):
    assert problem(system, code) is None


@pytest.mark.parametrize(("system", "code"), [(s, c) for s, cs in INVALID.items() for c in cs])
def test_invalid_codes(system, code):
    assert problem(system, code)


def test_an_unknown_system_is_a_problem():
    assert problem("http://loinc.org", "4548-4") == "unknown code system"


# -- check: the error names the field ------------------------------------------------------------


def coding(system: str, code: str) -> Coding:
    return Coding(system=system, code=code, display="something")


def test_check_returns_a_good_coding():
    c = coding(SNOMED, "195967001")
    assert codes.check("condition", c, (ICD10CM, SNOMED)) is c


def test_check_names_the_system_field_and_the_systems_allowed():
    with pytest.raises(Invalid) as exc:
        codes.check("medication", coding(SNOMED, "372687004"), (RXNORM,))
    assert exc.value.status == 422
    assert exc.value.extra == {"field": "medication.system"}
    assert exc.value.detail == f"medication.system must be RxNorm ({RXNORM})"


def test_check_names_the_code_field_and_why():
    with pytest.raises(Invalid) as exc:
        codes.check("condition", coding(SNOMED, "44054007"), (ICD10CM, SNOMED))
    assert exc.value.extra == {"field": "condition.code"}
    assert exc.value.detail.startswith("condition.code is not a valid SNOMED CT code: the check digit")


def test_check_does_not_echo_the_code():
    with pytest.raises(Invalid) as exc:
        codes.check("condition", coding(ICD10CM, "Q99.999X9"), (ICD10CM,))
    assert "Q99" not in exc.value.detail


def test_a_coding_needs_display_text():
    with pytest.raises(ValidationError) as exc:
        Coding(system=SNOMED, code="44054006", display="   ")
    assert exc.value.errors()[0]["loc"] == ("display",)
    with pytest.raises(ValidationError):
        Coding(system=SNOMED, code="44054006")  # type: ignore[call-arg]  # display left out on purpose


def test_canonical_form_ignores_leading_zeros_of_cvx_only():
    assert codes.canonical(coding(CVX, "03")) == codes.canonical(coding(CVX, "3")) == f"{CVX}|3"
    assert codes.canonical(coding(CVX, "0")) == f"{CVX}|0"
    assert codes.canonical(coding(ICD10CM, "E11.9")) == f"{ICD10CM}|E11.9"
