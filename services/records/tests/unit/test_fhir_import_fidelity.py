"""What an import keeps of a patient and reports of care plans, the pure part: the deceased flag,
every given name, Goals planned with their CarePlan, and a CarePlan's Condition named when it is
the reason the plan is not imported."""

import json
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from caremesh_kit.errors import Invalid
from caremesh_records.domain import Deceased, Demographics, Patient
from caremesh_records.domain.codes import SNOMED
from caremesh_records.domain.fhir import mapping
from caremesh_records.usecases.fhir_import import plan_of
from caremesh_records.usecases.fhir_import.report import Outcome
from caremesh_testing.fixtures import fixtures_dir

SYNTHEA = fixtures_dir() / "fhir" / "synthea"
PATIENT_URL = "urn:uuid:11111111-2222-3333-4444-555555555555"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def fixture(name: str) -> dict:
    path = SYNTHEA / name
    if not path.is_file():
        pytest.fail(f"Synthea fixture {path} is missing (see shared/fixtures/README.md)")
    return json.loads(path.read_text())


def bundle(*resources: dict, **patient_fields) -> dict:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"family": "Lovelace", "given": ["Ada"]}],
        "birthDate": "1984-03-09",
        "telecom": [{"system": "email", "value": "ada@example.org"}],
        **patient_fields,
    }
    entries = [{"fullUrl": PATIENT_URL, "resource": patient}]
    entries += [
        {"fullUrl": f"urn:uuid:00000000-0000-0000-0000-{i:012d}", "resource": r} for i, r in enumerate(resources)
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def patient_data(raw: dict):
    [item] = [i for i in plan_of(raw).items if i.resource_type == "Patient"]
    return item


def registered(item) -> Patient:
    d = item.data
    return Patient.register(d.patient_id, d.demographics, NOW, "1234567897", deceased=d.deceased)


# -- deceased --------------------------------------------------------------------------------------


def test_a_deceased_synthea_patient_keeps_when_they_died():
    item = patient_data(fixture("patient-04.json"))
    assert item.data.deceased is not None
    assert item.data.deceased.at == datetime(2008, 11, 12, 12, 17, 10, tzinfo=UTC)
    assert not any("deceased" in w for w in item.warnings)
    out = mapping.patient(registered(item))
    assert out.deceasedDateTime == datetime(2008, 11, 12, 12, 17, 10, tzinfo=UTC) and out.deceasedBoolean is None


def test_deceased_without_a_date_is_kept_as_a_flag_and_the_living_have_none():
    item = patient_data(bundle(deceasedBoolean=True))
    assert item.data.deceased is not None and item.data.deceased.at is None
    out = mapping.patient(registered(item))
    assert out.deceasedBoolean is True and out.deceasedDateTime is None
    for fields in ({}, {"deceasedBoolean": False}):
        alive = patient_data(bundle(**fields))
        assert alive.data.deceased is None
        out = mapping.patient(registered(alive))
        assert out.deceasedBoolean is None and out.deceasedDateTime is None


@pytest.mark.parametrize(
    ("written", "why"),
    [("1980-01-01T00:00:00Z", "before the birth date"), ("2017", "not a full date and time")],
)
def test_a_death_date_records_cannot_take_keeps_the_fact_and_warns(written, why):
    item = patient_data(bundle(deceasedDateTime=written))
    assert item.data.deceased is not None and item.data.deceased.at is None
    assert any("Patient.deceasedDateTime" in w and why in w for w in item.warnings), item.warnings


def test_the_domain_refuses_a_death_before_birth_or_in_the_future():
    d = Demographics(given_name="Ada", family_name="Lovelace", birth_date=date(1984, 3, 9), email="a@example.org")
    for at in (datetime(1980, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)):
        with pytest.raises(Invalid) as err:
            Patient.register("p", d, NOW, deceased=Deceased(at=at))
        assert err.value.extra["field"] == "deceased.at"
    assert Patient.register("p", d, NOW).deceased is None


# -- given names -----------------------------------------------------------------------------------


def test_several_given_names_are_kept_apart_and_go_back_out_as_separate_given():
    item = patient_data(bundle(name=[{"use": "official", "family": "Lovelace", "given": ["Ann", "Marie"]}]))
    d = item.data.demographics
    assert d.given_name == "Ann Marie"  # what clients read, as before
    assert d.given_names == ["Ann", "Marie"]
    out = mapping.patient(registered(item))
    assert [n.given for n in out.name] == [["Ann", "Marie"]]


def test_given_names_default_to_the_given_name_and_must_agree_with_it():
    d = Demographics(given_name="Ada", family_name="Lovelace", birth_date=date(1984, 3, 9), email="a@example.org")
    assert d.given_names == ["Ada"]
    assert mapping.patient(Patient.register("p", d, NOW)).name[0].given == ["Ada"]
    # A record stored before given_names existed reads the same way.
    stored = Demographics.model_validate({k: v for k, v in d.model_dump().items() if k != "given_names"})
    assert stored.given_names == ["Ada"]
    with pytest.raises(ValidationError) as err:
        Demographics(**{**d.model_dump(), "given_names": ["Ann", "Marie"]})
    assert err.value.errors()[0]["loc"] == ("given_names",)


# -- goals and conditions of a care plan -----------------------------------------------------------


def test_goals_named_by_a_plan_are_planned_to_be_written_after_every_care_plan():
    p = plan_of(fixture("patient-03.json"))
    kinds = [i.resource_type for i in p.items]
    goals = [i for i in p.items if i.resource_type == "Goal"]
    assert len(goals) == 5 and not [d for d in p.decided if d.resource_type == "Goal"]
    assert max(n for n, k in enumerate(kinds) if k == "CarePlan") < min(n for n, k in enumerate(kinds) if k == "Goal")


def care_plan_addressing(condition: dict) -> dict:
    raw = bundle(
        {**condition, "id": "c1"},
        {
            "resourceType": "CarePlan",
            "id": "cp1",
            "status": "active",
            "intent": "plan",
            "subject": {"reference": PATIENT_URL},
            "addresses": [{"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"}],
        },
    )
    return raw


def test_a_care_plan_rejected_because_of_a_condition_names_it_and_why():
    # "code" must be a CodeableConcept: the Condition is not valid FHIR, and the plan that treats it
    # is rejected with it.
    raw = care_plan_addressing({"resourceType": "Condition", "subject": {"reference": PATIENT_URL}, "code": "x"})
    [d] = [d for d in plan_of(raw).decided if d.resource_type == "CarePlan"]
    assert d.outcome is Outcome.REJECTED
    assert "CarePlan.addresses.0" in d.reason and "Condition/c1" in d.reason
    assert "urn:uuid:00000000-0000-0000-0000-000000000000" in d.reason
    assert "not a valid Condition: code" in d.reason


def test_a_condition_code_records_cannot_keep_is_named_in_the_plans_warning():
    condition = {
        "resourceType": "Condition",
        "subject": {"reference": PATIENT_URL},
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": "4" * 41, "display": "Too long"}]},
    }
    p = plan_of(care_plan_addressing(condition))
    [item] = [i for i in p.items if i.resource_type == "CarePlan"]
    assert item.data.plan.addresses == []
    assert any("Condition/c1" in w and "CarePlan.addresses.0" in w for w in item.warnings), item.warnings
    [c] = [d for d in p.decided if d.resource_type == "Condition"]
    assert c.outcome is Outcome.REJECTED and "Condition.code.coding.0" in c.reason


def test_a_care_plan_rejected_because_of_a_goal_names_it():
    raw = bundle(
        {"resourceType": "Goal", "id": "g1", "lifecycleStatus": "active", "description": "x"},
        {
            "resourceType": "CarePlan",
            "id": "cp1",
            "status": "active",
            "intent": "plan",
            "subject": {"reference": PATIENT_URL},
            "goal": [{"reference": "Goal/g1"}],
        },
    )
    [d] = [d for d in plan_of(raw).decided if d.resource_type == "CarePlan"]
    assert d.outcome is Outcome.REJECTED and d.reason.startswith("CarePlan.goal.0 (Goal/g1) cannot be read")
