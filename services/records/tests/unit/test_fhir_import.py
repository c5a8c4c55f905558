"""FHIR Bundle import, the pure part: the six Synthea fixtures and hand-made resources mapped to
what records keeps, and what is skipped or rejected, with the reasons."""

import copy
import json
from collections import Counter
from pathlib import Path

import pytest

from caremesh_kit.errors import Invalid
from caremesh_records.domain.codes import CVX, ICD10CM, ROLE_CODE, RXNORM, SNOMED
from caremesh_records.domain.history import Kind
from caremesh_records.usecases.fhir_import import HANDLERS, NOT_IMPORTED, plan_of
from caremesh_records.usecases.fhir_import.clinical import HistoryData
from caremesh_records.usecases.fhir_import.patient import e164
from caremesh_records.usecases.fhir_import.plan import Handler, Item, Reject, plan
from caremesh_records.usecases.fhir_import.report import Outcome
from caremesh_testing.fixtures import fixtures_dir

REPO = Path(__file__).resolve().parents[4]
SYNTHEA = fixtures_dir() / "fhir" / "synthea"
NAMES = [f"patient-0{i}.json" for i in range(1, 7)]
HISTORY_TYPES = {"AllergyIntolerance", "MedicationRequest", "Condition", "Procedure", "Immunization"}
PATIENT_URL = "urn:uuid:11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def synthea() -> dict[str, dict]:
    missing = [n for n in NAMES if not (SYNTHEA / n).is_file()]
    if missing:
        pytest.fail(
            f"Synthea fixtures missing from {SYNTHEA}: {', '.join(missing)} "
            "(see shared/fixtures/README.md; they live next to the repository, in ../shared)"
        )
    return {n: json.loads((SYNTHEA / n).read_text()) for n in NAMES}


def types_of(raw: dict) -> Counter:
    return Counter(e["resource"]["resourceType"] for e in raw["entry"])


def bundle(*resources: dict, kind: str = "collection") -> dict:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"family": "Lovelace", "given": ["Ada"]}],
        "birthDate": "1984-03-09",
        "telecom": [{"system": "email", "value": "ada@example.org"}],
    }
    entries = [{"fullUrl": PATIENT_URL, "resource": patient}]
    entries += [
        {"fullUrl": f"urn:uuid:00000000-0000-0000-0000-{i:012d}", "resource": r} for i, r in enumerate(resources)
    ]
    if kind == "transaction":
        for e in entries:
            e["request"] = {"method": "POST", "url": e["resource"]["resourceType"]}
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def subject() -> dict:
    return {"reference": PATIENT_URL}


def only(raw: dict, resource_type: str) -> list[Item]:
    return [i for i in plan_of(raw).items if i.resource_type == resource_type]


def decided(raw: dict, resource_type: str):
    return [d for d in plan_of(raw).decided if d.resource_type == resource_type]


# -- the Synthea fixtures ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_resource_of_a_fixture_is_planned_or_reported(synthea, name):
    raw = synthea[name]
    p = plan_of(raw)
    assert p.bundle_type == ("collection" if name == "patient-06.json" else "transaction")
    assert p.source == "synthea" and p.resources == len(raw["entry"])
    # Nothing silently dropped: each entry is an item to write or a decided outcome.
    assert sorted([i.entry for i in p.items] + [d.entry for d in p.decided]) == list(range(len(raw["entry"])))
    counts = types_of(raw)
    planned = Counter(i.resource_type for i in p.items)
    assert planned["Patient"] == 1 and planned["Encounter"] == counts["Encounter"]
    for t in HISTORY_TYPES:
        assert planned[t] + len([d for d in p.decided if d.resource_type == t]) == counts[t]
    for d in p.decided:
        assert d.reason and (d.outcome is Outcome.SKIPPED or d.resource_type in HISTORY_TYPES)
        if d.resource_type in NOT_IMPORTED:
            assert d.outcome is Outcome.SKIPPED and d.reason == NOT_IMPORTED[d.resource_type]


def test_the_patient_keeps_demographics_and_an_import_identifier_not_government_numbers(synthea):
    raw = synthea["patient-01.json"]
    [item] = only(raw, "Patient")
    d = item.data.demographics
    assert (d.given_name, d.family_name, str(d.birth_date)) == ("Kermit", "Trantow", "1993-06-21")
    assert d.phone == "+15557937667" and d.language == "ru-RU" and d.email is None
    systems = [i.system for i in d.identifiers]
    assert systems[0] == "urn:caremesh:import:synthea" and d.identifiers[0].value == raw["entry"][0]["resource"]["id"]
    assert "https://github.com/synthetichealth/synthea" in systems
    assert "http://hl7.org/fhir/sid/us-ssn" not in systems and len(systems) == 3  # no SSN, licence, passport
    # The same bundle makes the same patient id, every time; another source label another one.
    assert only(copy.deepcopy(raw), "Patient")[0].data.patient_id == item.data.patient_id
    assert plan(raw, HANDLERS, NOT_IMPORTED, "other").items[0].data.patient_id != item.data.patient_id


def test_synthea_codes_are_kept_as_coded_and_a_malformed_one_is_rejected_with_the_reason(synthea):
    raw = synthea["patient-01.json"]
    meds = only(raw, "MedicationRequest")
    assert {m.data.kind for m in meds} == {Kind.MEDICATION}
    first = meds[0].data.new
    assert first.medication.system == RXNORM and first.medication.code == "665078"
    assert first.frequency == "as needed" and str(first.start_date) == "1994-03-30"
    assert first.source.type == "imported" and first.source.reference.startswith("synthea:MedicationRequest/")
    assert {i.data.new.vaccine.system for i in only(raw, "Immunization")} == {CVX}
    # Fixture 04 has a LOINC code labelled as SNOMED CT on one procedure.
    [bad] = [d for d in decided(synthea["patient-04.json"], "Procedure")]
    assert bad.outcome is Outcome.REJECTED
    assert bad.reason.startswith("Procedure.code.coding.0.code is not a valid SNOMED CT code")
    [dead] = only(synthea["patient-04.json"], "Patient")
    assert dead.data.deceased is not None and not dead.warnings  # kept: see test_fhir_import_fidelity


def test_fixture_05_conditional_references_are_reported_not_followed(synthea):
    p = plan_of(synthea["patient-05.json"])
    practitioners = [r for r in p.unresolved if r.startswith("Practitioner?identifier=")]
    assert practitioners and all(p.unresolved[r] > 0 for r in practitioners)
    encounter = next(i for i in p.items if i.resource_type == "Encounter")
    assert any("Practitioner?identifier=" in w and "not in the bundle" in w for w in encounter.warnings)
    assert encounter.data.fields["practitioner_name"] == "Dr. Douglass930 Windler79"
    assert encounter.data.fields["practitioner_id"] == "9999997395"
    assert encounter.data.fields["service_system"] == SNOMED
    assert not p.decided or all(d.outcome is Outcome.SKIPPED for d in p.decided)  # nothing rejected


def test_fixture_06_is_a_collection_and_imports_alike(synthea):
    p = plan_of(synthea["patient-06.json"])
    assert p.bundle_type == "collection" and not p.unresolved
    assert all(m.data.new.status == "stopped" for m in p.items if m.resource_type == "MedicationRequest")
    assert Counter(i.resource_type for i in p.items)["Procedure"] == 74


def test_in_bundle_references_resolve_by_full_url(synthea):
    p = plan_of(synthea["patient-01.json"])
    assert not p.unresolved
    assert {i.patient for i in p.items if i.resource_type != "Patient"} == {0}
    encounter = next(i for i in p.items if i.resource_type == "Encounter")
    assert encounter.data.fields["practitioner_name"] == "Dr. Levi Reichert"  # the Practitioner in the bundle


# -- envelopes: a malformed bundle is Invalid naming the field ------------------------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([], "resourceType"),
        ({"resourceType": "Patient"}, "resourceType"),
        ({"resourceType": "Bundle", "type": "batch"}, "type"),
        ({"resourceType": "Bundle"}, "type"),
        ({"resourceType": "Bundle", "type": "collection", "entry": {}}, "entry"),
        ({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]}, "entry.0.resource"),
        (
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"id": "x"}}]},
            "entry.0.resource.resourceType",
        ),
        (
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"fullUrl": 5, "resource": {"resourceType": "Basic"}}],
            },
            "entry.0.fullUrl",
        ),
        (
            {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {"resourceType": "Basic"}}]},
            "entry.0.request",
        ),
    ],
)
def test_a_malformed_bundle_names_the_field(raw, field):
    with pytest.raises(Invalid) as err:
        plan_of(raw)
    assert err.value.extra["field"] == field


def test_a_body_that_is_not_json_names_the_body():
    with pytest.raises(Invalid) as err:
        plan_of(b"{not json")
    assert err.value.extra["field"] == "body"


# -- types not imported, and resources that fail ---------------------------------------------------


def test_types_not_handled_are_skipped_with_a_reason():
    raw = bundle(
        {"resourceType": "Flag", "status": "active", "code": {"text": "x"}, "subject": subject()},
        {"resourceType": "CarePlan", "status": "active", "intent": "plan", "subject": subject()},
        {"resourceType": "Invented", "id": "z"},
    )
    out = {d.resource_type: d for d in plan_of(raw).decided}
    assert out["Flag"].outcome is Outcome.SKIPPED
    assert out["Flag"].reason == "resource type Flag is not imported by records"
    assert "CarePlan" not in out  # imported: it becomes an item, not a decision
    assert out["Invented"].outcome is Outcome.SKIPPED


def test_a_resource_its_model_refuses_is_rejected_alone_naming_the_field():
    raw = bundle(
        {
            "resourceType": "Condition",
            "subject": subject(),
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": SNOMED, "code": "44054006", "display": "Diabetes"}]},
            "onsetDateTime": "yesterday",
        }
    )
    [d] = plan_of(raw).decided
    assert d.outcome is Outcome.REJECTED and "onsetDateTime" in d.reason
    assert [i.resource_type for i in plan_of(raw).items] == ["Patient"]


def test_a_clinical_resource_needs_its_patient_in_the_bundle():
    raw = bundle(
        {
            "resourceType": "Immunization",
            "status": "completed",
            "patient": {"reference": "Patient/elsewhere"},
            "vaccineCode": {"coding": [{"system": CVX, "code": "140", "display": "Flu"}]},
            "occurrenceDateTime": "2020-01-01",
        }
    )
    [d] = plan_of(raw).decided
    assert d.reason == "Immunization.patient must reference a Patient in the bundle"


def test_a_patient_without_a_way_to_reach_them_is_rejected():
    raw = bundle()
    raw["entry"][0]["resource"]["telecom"] = [{"system": "phone", "value": "12"}]
    [d] = plan_of(raw).decided
    assert d.outcome is Outcome.REJECTED and "no email or phone" in d.reason


@pytest.mark.parametrize(
    ("written", "countries", "expected"),
    [
        ("555-860-3652", {"US"}, "+15558603652"),
        ("(617) 555-0100", set(), "+16175550100"),
        ("+44 20 7123 4567", {"GB"}, "+442071234567"),
        ("020 7123 4567", {"GB"}, None),
        ("12", {"US"}, None),
    ],
)
def test_phone_numbers_become_e164_only_when_unambiguous(written, countries, expected):
    assert e164(written, countries) == expected


# -- mappers on hand-made resources ----------------------------------------------------------------


def test_family_member_history_makes_one_entry_per_condition():
    raw = bundle(
        {
            "resourceType": "FamilyMemberHistory",
            "id": "f1",
            "status": "completed",
            "patient": subject(),
            "relationship": {"coding": [{"system": ROLE_CODE, "code": "MTH", "display": "mother"}]},
            "condition": [
                {
                    "code": {"coding": [{"system": ICD10CM, "code": "C50.911", "display": "Breast cancer"}]},
                    "onsetAge": {"value": 52, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"},
                },
                {"code": {"coding": [{"system": SNOMED, "code": "44054006", "display": "Diabetes"}]}},
                {"code": {"coding": [{"system": SNOMED, "code": "123", "display": "Bad"}]}},
            ],
        }
    )
    items = only(raw, "FamilyMemberHistory")
    assert [i.source_id for i in items] == ["f1#condition.0", "f1#condition.1"]
    assert items[0].data.new.onset_age == 52 and items[0].data.new.relationship.code == "MTH"
    assert items[1].data.new.onset_age is None
    assert any("condition.2.code" in w for w in items[0].warnings)


def test_medication_statement_and_a_medication_reference():
    medication = {
        "resourceType": "Medication",
        "id": "m1",
        "code": {"coding": [{"system": RXNORM, "code": "6809", "display": "metformin"}]},
    }
    raw = bundle(
        medication,
        {
            "resourceType": "MedicationStatement",
            "status": "completed",
            "subject": subject(),
            "medicationReference": {"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"},
            "effectivePeriod": {"start": "2020-01-01", "end": "2020-06-30"},
            "dosage": [
                {
                    "route": {"text": "oral"},
                    "doseAndRate": [{"doseQuantity": {"value": 500, "unit": "mg"}}],
                    "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                }
            ],
        },
    )
    [item] = only(raw, "MedicationStatement")
    new = item.data.new
    assert (new.medication.code, new.status, str(new.start_date), str(new.end_date)) == (
        "6809",
        "completed",
        "2020-01-01",
        "2020-06-30",
    )
    assert (new.dose, new.route, new.frequency) == ("500 mg", "oral", "2 times per day")
    assert decided(raw, "Medication")[0].reason == NOT_IMPORTED["Medication"]


def test_the_first_acceptable_coding_is_taken():
    raw = bundle(
        {
            "resourceType": "Condition",
            "subject": subject(),
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {
                "text": "Type 2 diabetes",
                "coding": [
                    {"system": "http://example.org/local", "code": "DM2"},
                    {"system": SNOMED, "code": "44054007"},  # check digit wrong
                    {"system": ICD10CM, "code": "E11.9"},
                ],
            },
        }
    )
    [item] = only(raw, "Condition")
    assert (item.data.new.condition.code, item.data.new.condition.display) == ("E11.9", "Type 2 diabetes")


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        (
            {
                "resourceType": "Condition",
                "verificationStatus": {"coding": [{"code": "refuted"}]},
                "code": {"coding": [{"system": SNOMED, "code": "44054006", "display": "x"}]},
            },
            "verificationStatus is refuted",
        ),
        (
            {
                "resourceType": "Immunization",
                "status": "entered-in-error",
                "occurrenceDateTime": "2020-01-01",
                "vaccineCode": {"coding": [{"system": CVX, "code": "140", "display": "x"}]},
            },
            "status is entered-in-error",
        ),
        (
            {
                "resourceType": "MedicationRequest",
                "status": "draft",
                "intent": "order",
                "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "6809", "display": "x"}]},
            },
            "a draft MedicationRequest is not a medication the patient takes or took",
        ),
        (
            {"resourceType": "Encounter", "status": "planned", "class": {"code": "AMB"}},
            "a planned encounter is not a visit that took place",
        ),
    ],
)
def test_resources_that_are_not_facts_about_the_patient_are_skipped(resource, reason):
    key = "patient" if resource["resourceType"] == "Immunization" else "subject"
    [d] = plan_of(bundle({**resource, key: subject()})).decided
    assert (d.outcome, d.reason) == (Outcome.SKIPPED, reason)


def test_a_not_done_immunization_keeps_no_lot_number():
    raw = bundle(
        {
            "resourceType": "Immunization",
            "status": "not-done",
            "patient": subject(),
            "lotNumber": "L1",
            "vaccineCode": {"coding": [{"system": CVX, "code": "140", "display": "Flu"}]},
            "occurrenceDateTime": "2020-10-01T10:00:00+02:00",
        }
    )
    [item] = only(raw, "Immunization")
    assert item.data.new.lot_number is None and str(item.data.new.date_given) == "2020-10-01"


def test_delete_requests_in_a_transaction_are_skipped():
    raw = bundle({"resourceType": "Condition", "subject": subject()}, kind="transaction")
    raw["entry"][1]["request"] = {"method": "DELETE", "url": "Condition/x"}
    [d] = plan_of(raw).decided
    assert d.reason == "request method DELETE is not imported (only POST and PUT)"


def test_the_handler_table_is_the_extension_point():
    assert set(HANDLERS) == {
        "Patient",
        "AllergyIntolerance",
        "MedicationRequest",
        "MedicationStatement",
        "Condition",
        "Procedure",
        "Immunization",
        "FamilyMemberHistory",
        "Encounter",
        "CarePlan",
        "Goal",
    }
    assert not set(HANDLERS) & set(NOT_IMPORTED)

    def care_plan(entry, b):
        if entry.resource.status == "revoked":
            raise Reject("revoked")
        return [
            Item(
                entry=entry.index,
                resource_type="CarePlan",
                source_id=entry.source_id,
                key=f"CarePlan/{entry.source_id}",
                patient=0,
                data=entry.resource.title,
            )
        ]

    async def write(sink, item):  # pragma: no cover - not called by the pure plan
        raise AssertionError

    table = {**HANDLERS, "CarePlan": Handler(care_plan, write)}
    raw = bundle(
        {"resourceType": "CarePlan", "status": "active", "intent": "plan", "title": "Diabetes", "subject": subject()}
    )
    p = plan(raw, table, NOT_IMPORTED)
    assert [(i.resource_type, i.data) for i in p.items] == [("Patient", p.items[0].data), ("CarePlan", "Diabetes")]
    assert isinstance(
        only(
            bundle(
                {
                    "resourceType": "Condition",
                    "subject": subject(),
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "code": {"coding": [{"system": SNOMED, "code": "44054006", "display": "x"}]},
                }
            ),
            "Condition",
        )[0].data,
        HistoryData,
    )


def test_synthea_care_plans_come_with_their_goals_and_activities(synthea):
    raw = synthea["patient-03.json"]
    p = plan_of(raw)
    plans = [i for i in p.items if i.resource_type == "CarePlan"]
    assert len(plans) == types_of(raw)["CarePlan"]
    with_goals = [i for i in plans if i.data.goals]
    assert with_goals and all(g["description"] for i in with_goals for g in i.data.goals)
    assert any(t["status"] == "in-progress" and t["code"].system == SNOMED for i in plans for t in i.data.tasks)
    wound = next(i for i in plans if i.data.plan.addresses)
    assert wound.data.plan.status == "completed" and wound.data.plan.period_end is not None
    # Each Goal is an item that reports what its plan made of it (written after the plans).
    goals = [i for i in p.items if i.resource_type == "Goal"]
    assert len(goals) == types_of(raw)["Goal"] == sum(len(i.data.goal_entries) for i in plans)
    assert {i.entry for i in goals} == {e for i in plans for e in i.data.goal_entries}


def test_a_goal_no_plan_names_is_reported():
    raw = bundle(
        {
            "resourceType": "Goal",
            "lifecycleStatus": "active",
            "description": {"text": "Walk daily"},
            "subject": {"reference": PATIENT_URL},
        }
    )
    [d] = [d for d in plan_of(raw).decided if d.resource_type == "Goal"]
    assert d.outcome is Outcome.SKIPPED and "no CarePlan in the bundle names this goal" in d.reason
