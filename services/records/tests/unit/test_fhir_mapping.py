"""Records' models as FHIR R4B resources: each valid, round-tripping through JSON, with our values."""

from datetime import UTC, date, datetime, timedelta

import pytest
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.condition import Condition as FhirCondition
from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir.resources.R4B.familymemberhistory import FamilyMemberHistory
from fhir.resources.R4B.immunization import Immunization as FhirImmunization
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.procedure import Procedure as FhirProcedure

from caremesh_records.domain import Demographics, Encounter, Patient
from caremesh_records.domain.codes import CPT, CVX, ICD10CM, ROLE_CODE, RXNORM, SNOMED, Coding
from caremesh_records.domain.fhir import mapping
from caremesh_records.domain.history import (
    KINDS,
    Allergy,
    AllergyStatusUpdate,
    Condition,
    ConditionStatus,
    FamilyHistory,
    Immunization,
    Kind,
    Medication,
    MedicationStatusUpdate,
    NewAllergy,
    NewCondition,
    NewFamilyHistory,
    NewImmunization,
    NewMedication,
    NewProcedure,
    Procedure,
)

NOW = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
PENICILLIN = Coding(system=RXNORM, code="7980", display="penicillin G")
METFORMIN = Coding(system=RXNORM, code="6809", display="metformin")
DIABETES = Coding(system=SNOMED, code="44054006", display="Diabetes mellitus type 2")


def a_patient(**demographics) -> Patient:
    d = Demographics(
        **(
            {
                "given_name": "Ada",
                "family_name": "Lovelace",
                "birth_date": date(1970, 3, 9),
                "email": "ada@example.org",
                "phone": "+442071234567",
                "time_zone": "Europe/London",
            }
            | demographics
        )
    )
    p = Patient.register("p-1", d, NOW)
    p.version = 1
    return p


PATIENT = a_patient()


def recorded(cls, new, by="dr-house"):
    entry = cls.record(f"{cls.KIND.value}-1", PATIENT, new, by, NOW)
    entry.version = 1
    return entry


def round_trip(resource, model):
    """Serialized and parsed back, the resource is the same; returns its JSON as a dict."""
    text = resource.model_dump_json()
    again = model.model_validate_json(text)
    assert again == resource
    assert again.model_dump_json() == text
    return resource.model_dump(mode="json", by_alias=True, exclude_none=True)


def codings(concept: dict) -> list[tuple[str, str, str]]:
    return [(c["system"], c["code"], c.get("display")) for c in concept["coding"]]


# -- Patient --------------------------------------------------------------------------------------


def test_patient():
    r = round_trip(mapping.patient(PATIENT), FhirPatient)
    assert r["resourceType"] == "Patient" and r["id"] == "p-1"
    assert r["name"] == [{"use": "official", "family": "Lovelace", "given": ["Ada"]}]
    assert r["birthDate"] == "1970-03-09"
    assert r["telecom"] == [
        {"system": "email", "value": "ada@example.org"},
        {"system": "phone", "value": "+442071234567"},
    ]
    assert r["extension"] == [{"url": mapping.TIMEZONE_EXTENSION, "valueCode": "Europe/London"}]
    assert r["meta"]["versionId"] == "1"
    assert "communication" not in r  # no language in the demographics (yet)


def test_patient_without_phone_has_only_the_email():
    r = round_trip(mapping.patient(a_patient(phone=None)), FhirPatient)
    assert r["telecom"] == [{"system": "email", "value": "ada@example.org"}]


def test_patient_language_becomes_communication_when_the_demographics_have_one():
    p = PATIENT.model_copy(deep=True)
    object.__setattr__(p.demographics, "language", "en-GB")  # a field records may add
    r = round_trip(mapping.patient(p), FhirPatient)
    assert r["communication"] == [
        {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-GB"}]}, "preferred": True}
    ]


def test_patient_mrn_identifiers_and_merge_when_the_patient_has_them():
    ids = [type("Identifier", (), {"system": "urn:oid:2.16.840.1.113883.4.1", "value": "123-45-6789"})()]
    p = PATIENT.model_copy(update={"mrn": "10000017", "merged_into": "p-2"})
    object.__setattr__(p.demographics, "identifiers", ids)
    r = round_trip(mapping.patient(p), FhirPatient)
    assert r["identifier"] == [
        {
            "use": "usual",
            "system": mapping.MRN_SYSTEM,
            "value": "10000017",
            "type": {"coding": [{"system": mapping.IDENTIFIER_TYPE, "code": "MR", "display": "Medical record number"}]},
        },
        {"system": "urn:oid:2.16.840.1.113883.4.1", "value": "123-45-6789"},
    ]
    assert r["active"] is False and r["link"] == [{"other": {"reference": "Patient/p-2"}, "type": "replaced-by"}]


# -- history --------------------------------------------------------------------------------------


def test_allergy():
    a = recorded(
        Allergy, NewAllergy(substance=PENICILLIN, reaction="hives", severity="moderate", verification="confirmed")
    )
    r = round_trip(mapping.allergy(a), AllergyIntolerance)
    assert r["id"] == a.id and r["patient"] == {"reference": "Patient/p-1"}
    assert codings(r["code"]) == [(RXNORM, "7980", "penicillin G")] and r["code"]["text"] == "penicillin G"
    assert codings(r["clinicalStatus"]) == [(mapping.ALLERGY_CLINICAL, "active", "Active")]
    assert codings(r["verificationStatus"]) == [(mapping.ALLERGY_VERIFICATION, "confirmed", "Confirmed")]
    assert r["type"] == "allergy"
    assert r["reaction"] == [{"manifestation": [{"text": "hives"}], "severity": "moderate"}]
    assert r["recorder"] == {"identifier": {"system": mapping.USER, "value": "dr-house"}, "display": "dr-house"}
    assert datetime.fromisoformat(r["recordedDate"]) == NOW
    assert r["meta"] == {"versionId": "1", "lastUpdated": r["meta"]["lastUpdated"], "source": "urn:caremesh:entered"}


def test_allergy_without_a_reaction_has_none_and_a_severity_alone_still_validates():
    bare = recorded(Allergy, NewAllergy(substance=PENICILLIN))
    assert "reaction" not in round_trip(mapping.allergy(bare), AllergyIntolerance)
    severe = recorded(Allergy, NewAllergy(substance=PENICILLIN, severity="severe"))
    r = round_trip(mapping.allergy(severe), AllergyIntolerance)
    assert r["reaction"][0]["severity"] == "severe"


def test_a_status_change_shows_in_the_status_and_meta():
    a = recorded(Allergy, NewAllergy(substance=PENICILLIN))
    later = NOW + timedelta(days=3)
    a.change_status(AllergyStatusUpdate(status="resolved"), "dr-who", later, later.date())
    a.version = 2
    r = round_trip(mapping.allergy(a), AllergyIntolerance)
    assert codings(r["clinicalStatus"])[0][1] == "resolved"
    assert r["meta"]["versionId"] == "2" and datetime.fromisoformat(r["meta"]["lastUpdated"]) == later
    assert r["recorder"]["identifier"]["value"] == "dr-house"  # who recorded it first


def test_medication():
    m = recorded(
        Medication,
        NewMedication(
            medication=METFORMIN,
            dose="500 mg",
            route="oral",
            frequency="twice daily",
            start_date=date(2024, 1, 10),
            source={"type": "encounter", "encounter_id": "appt-42"},
        ),
    )
    r = round_trip(mapping.medication(m), MedicationStatement)
    assert r["status"] == "active" and r["subject"] == {"reference": "Patient/p-1"}
    assert codings(r["medicationCodeableConcept"]) == [(RXNORM, "6809", "metformin")]
    assert r["effectivePeriod"] == {"start": "2024-01-10"}
    assert r["dosage"] == [{"text": "500 mg oral twice daily", "route": {"text": "oral"}}]
    assert r["context"] == {"reference": "Encounter/appt-42"}
    assert r["meta"]["source"] == "urn:caremesh:encounter:appt-42"
    assert r["informationSource"]["identifier"]["value"] == "dr-house"


def test_a_stopped_medication_has_its_end():
    m = recorded(Medication, NewMedication(medication=METFORMIN, start_date=date(2024, 1, 10)))
    m.change_status(MedicationStatusUpdate(status="stopped", end_date=date(2025, 2, 1)), "dr-house", NOW, NOW.date())
    r = round_trip(mapping.medication(m), MedicationStatement)
    assert r["status"] == "stopped" and r["effectivePeriod"] == {"start": "2024-01-10", "end": "2025-02-01"}
    assert "dosage" not in r


def test_condition():
    c = recorded(
        Condition,
        NewCondition(
            condition=DIABETES,
            onset_date=date(2023, 6, 1),
            source={"type": "imported", "reference": "CCD from St. Elsewhere"},
        ),
    )
    r = round_trip(mapping.condition(c), FhirCondition)
    assert codings(r["code"]) == [(SNOMED, "44054006", "Diabetes mellitus type 2")]
    assert codings(r["clinicalStatus"]) == [(mapping.CONDITION_CLINICAL, "active", "Active")]
    assert codings(r["category"][0]) == [(mapping.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]
    assert r["onsetDateTime"] == "2023-06-01" and r["subject"] == {"reference": "Patient/p-1"}
    assert r["meta"]["source"] == "urn:caremesh:imported:CCD%20from%20St.%20Elsewhere"
    assert "encounter" not in r


@pytest.mark.parametrize("status", list(ConditionStatus))
def test_every_condition_status_is_a_fhir_clinical_status(status):
    c = recorded(Condition, NewCondition(condition=DIABETES))
    c.status = status
    assert codings(round_trip(mapping.condition(c), FhirCondition)["clinicalStatus"])[0][1] == status


def test_procedure():
    p = recorded(
        Procedure,
        NewProcedure(
            procedure=Coding(system=CPT, code="44950", display="Appendectomy"), performed_date=date(2010, 5, 4)
        ),
    )
    r = round_trip(mapping.procedure(p), FhirProcedure)
    assert r["status"] == "completed" and codings(r["code"]) == [(CPT, "44950", "Appendectomy")]
    assert r["performedDateTime"] == "2010-05-04" and r["subject"] == {"reference": "Patient/p-1"}
    assert r["recorder"]["identifier"]["value"] == "dr-house"


def test_family_history():
    f = recorded(
        FamilyHistory,
        NewFamilyHistory(
            relationship=Coding(system=ROLE_CODE, code="MTH", display="mother"),
            condition=Coding(system=ICD10CM, code="C50.911", display="Breast cancer, right"),
            onset_age=52,
        ),
    )
    r = round_trip(mapping.family_history(f), FamilyMemberHistory)
    assert r["status"] == "completed" and r["patient"] == {"reference": "Patient/p-1"}
    assert codings(r["relationship"]) == [(ROLE_CODE, "MTH", "mother")]
    [cond] = r["condition"]
    assert codings(cond["code"]) == [(ICD10CM, "C50.911", "Breast cancer, right")]
    assert cond["onsetAge"] == {"value": 52, "unit": "a", "system": mapping.UCUM, "code": "a"}
    assert datetime.fromisoformat(r["date"]) == NOW


def test_immunization():
    i = recorded(
        Immunization,
        NewImmunization(
            vaccine=Coding(system=CVX, code="140", display="Influenza, injectable, preservative free"),
            date_given=date(2024, 10, 1),
            lot_number="AB1234",
        ),
    )
    r = round_trip(mapping.immunization(i), FhirImmunization)
    assert r["status"] == "completed" and codings(r["vaccineCode"])[0][:2] == (CVX, "140")
    assert r["occurrenceDateTime"] == "2024-10-01" and r["lotNumber"] == "AB1234"
    assert r["patient"] == {"reference": "Patient/p-1"} and r["primarySource"] is True


def test_an_imported_immunization_is_not_first_hand_and_says_where_from():
    i = recorded(
        Immunization,
        NewImmunization(
            vaccine=Coding(system=CVX, code="140", display="flu"),
            date_given=date(2024, 10, 1),
            status="not-done",
            source={"type": "imported", "reference": "state registry"},
        ),
    )
    r = round_trip(mapping.immunization(i), FhirImmunization)
    assert r["status"] == "not-done" and r["primarySource"] is False
    assert r["reportOrigin"] == {"text": "state registry"}


def test_encounter():
    start = datetime(2030, 5, 1, 9, tzinfo=UTC)
    e = Encounter(
        id="visit-1",
        patient_id="p-1",
        practitioner_id="pr-1",
        practitioner_name="Dr. Who",
        service_code="99213",
        start=start,
        end=start + timedelta(minutes=30),
        completed_at=start + timedelta(minutes=40),
    )
    r = round_trip(mapping.encounter(e), FhirEncounter)
    assert r["status"] == "finished"
    assert r["class"] == {"system": mapping.ACT_CODE, "code": "AMB", "display": "ambulatory"}
    assert [codings(t) for t in r["type"]] == [[(CPT, "99213", None)]]
    assert r["participant"] == [
        {"individual": {"identifier": {"system": mapping.PRACTITIONER, "value": "pr-1"}, "display": "Dr. Who"}}
    ]
    assert r["subject"] == {"reference": "Patient/p-1"}
    period = r["period"]
    assert (datetime.fromisoformat(period["start"]), datetime.fromisoformat(period["end"])) == (
        start,
        start + timedelta(minutes=30),
    )
    assert r["meta"]["source"] == "urn:caremesh:scheduling"


# -- every kind, every status ---------------------------------------------------------------------

NEW = {
    Kind.ALLERGY: NewAllergy(substance=PENICILLIN),
    Kind.MEDICATION: NewMedication(medication=METFORMIN),
    Kind.CONDITION: NewCondition(condition=DIABETES),
    Kind.PROCEDURE: NewProcedure(procedure=Coding(system=CPT, code="44950", display="Appendectomy")),
    Kind.FAMILY_HISTORY: NewFamilyHistory(
        relationship=Coding(system=ROLE_CODE, code="FTH", display="father"), condition=DIABETES
    ),
    Kind.IMMUNIZATION: NewImmunization(
        vaccine=Coding(system=CVX, code="140", display="flu"), date_given=date(2024, 10, 1)
    ),
}


@pytest.mark.parametrize(("kind", "status"), [(k, s) for k in Kind for s in KINDS[k].model_fields["status"].annotation])
def test_every_status_of_every_kind_maps_to_a_valid_resource_of_its_type(kind, status):
    entry = recorded(KINDS[kind], NEW[kind])
    entry.status = status
    resource = mapping.history_entry(entry)
    assert resource.get_resource_type() == KINDS[kind].RESOURCE
    round_trip(resource, type(resource))
