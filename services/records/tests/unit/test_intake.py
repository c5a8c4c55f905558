"""The intake questionnaire and reading responses to it (pure)."""

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from caremesh_kit.errors import Invalid
from caremesh_records.domain.history import Kind
from caremesh_records.domain.history.kinds import NewAllergy, NewFamilyHistory
from caremesh_records.domain.intake import CANONICAL, entries, parse_response, questionnaire

SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"


def coding(system, code, display):
    return {"valueCoding": {"system": system, "code": code, "display": display}}


def response(*groups, status="completed", rid="qr-1"):
    return {
        "resourceType": "QuestionnaireResponse",
        "id": rid,
        "questionnaire": CANONICAL,
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "item": list(groups),
    }


ALLERGY = {
    "linkId": "allergies",
    "item": [
        {"linkId": "allergies.substance", "answer": [coding(RXNORM, "7980", "penicillin G")]},
        {"linkId": "allergies.reaction", "answer": [{"valueString": "hives"}]},
        {"linkId": "allergies.severity", "answer": [coding("urn:caremesh:intake", "severe", "Severe")]},
    ],
}
MOTHER = {
    "linkId": "family-history",
    "item": [
        {"linkId": "family-history.relationship", "answer": [coding(ROLE, "MTH", "mother")]},
        {"linkId": "family-history.condition", "answer": [coding(SNOMED, "44054006", "Diabetes mellitus type 2")]},
        {"linkId": "family-history.onset_age", "answer": [{"valueInteger": 50}]},
    ],
}


def test_the_questionnaire_is_valid_r4b_and_asks_for_every_kind():
    q = Questionnaire.model_validate_json(questionnaire().model_dump_json())
    assert {i.linkId for i in q.item} == {
        "allergies",
        "medications",
        "conditions",
        "procedures",
        "family-history",
        "immunizations",
    }
    substance = q.item[0].item[0]
    assert substance.type == "choice" and substance.required and substance.answerValueSet
    onset_age = next(i for i in q.item if i.linkId == "family-history").item[2]
    assert onset_age.type == "integer" and not onset_age.required


def test_each_repetition_of_a_group_is_one_entry_with_an_id_of_its_own():
    second = {**ALLERGY, "item": [{"linkId": "allergies.substance", "answer": [coding(SNOMED, "256349002", "Peanut")]}]}
    got = entries(parse_response(response(ALLERGY, second, MOTHER)), "p1")
    assert [(a.section.kind, a.index) for a in got] == [(Kind.ALLERGY, 0), (Kind.ALLERGY, 1), (Kind.FAMILY_HISTORY, 0)]
    assert isinstance(got[0].body, NewAllergy) and got[0].body.severity == "severe"
    assert got[0].body.reaction == "hives" and got[0].body.source.reference == "QuestionnaireResponse/qr-1"
    assert isinstance(got[2].body, NewFamilyHistory) and got[2].body.onset_age == 50
    assert len({a.entry_id for a in got}) == 3


def test_ids_are_derived_from_patient_response_and_place():
    once = entries(parse_response(response(ALLERGY)), "p1")
    again = entries(parse_response(response(ALLERGY)), "p1")
    other_patient = entries(parse_response(response(ALLERGY)), "p2")
    other_response = entries(parse_response(response(ALLERGY, rid="qr-2")), "p1")
    assert once[0].entry_id == again[0].entry_id
    assert once[0].entry_id not in (other_patient[0].entry_id, other_response[0].entry_id)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (response(ALLERGY) | {"questionnaire": "urn:other"}, "questionnaire"),
        (response(ALLERGY, status="in-progress"), "status"),
        ({k: v for k, v in response(ALLERGY).items() if k != "id"}, "id"),
        (response({"linkId": "hobbies", "item": []}), "item[hobbies]"),
        (
            response(
                {"linkId": "allergies", "item": [{"linkId": "allergies.colour", "answer": [{"valueString": "x"}]}]}
            ),
            "item[allergies][0]",
        ),
        (
            response(
                {
                    "linkId": "allergies",
                    "item": [{"linkId": "allergies.substance", "answer": [{"valueString": "penicillin"}]}],
                }
            ),
            "item[allergies][0].substance",
        ),
        (
            response(
                {"linkId": "allergies", "item": [{"linkId": "allergies.reaction", "answer": [{"valueString": "x"}]}]}
            ),
            "item[allergies][0].substance",
        ),
        (response(ALLERGY) | {"status": 7}, "status"),
    ],
)
def test_a_malformed_response_names_where(raw, field):
    with pytest.raises(Invalid) as err:
        entries(parse_response(raw), "p1")
    assert err.value.extra["field"] == field
