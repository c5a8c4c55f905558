"""The intake questionnaire over HTTP, against records' real store."""

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire

from caremesh_records.app import build
from caremesh_records.domain.intake import CANONICAL
from caremesh_records.settings import RecordsSettings
from caremesh_testing import bearer, running, service_settings

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
PATIENT = {
    "given_name": "Ida",
    "family_name": "Intake",
    "birth_date": "1961-02-03",
    "email": "ida.intake@example.org",
    "time_zone": "America/Chicago",
}
ADMIN = bearer("admin", subject="privacy-officer")


def coding(system, code, display):
    return {"valueCoding": {"system": system, "code": code, "display": display}}


def group(link_id, **answers):
    return {"linkId": link_id, "item": [{"linkId": f"{link_id}.{k}", "answer": [v]} for k, v in answers.items()]}


def form(pid, *groups, rid="intake-1"):
    return {
        "resourceType": "QuestionnaireResponse",
        "id": rid,
        "questionnaire": CANONICAL,
        "status": "completed",
        "subject": {"reference": f"Patient/{pid}"},
        "item": list(groups),
    }


PENICILLIN = group("allergies", substance=coding(RXNORM, "7980", "penicillin G"), reaction={"valueString": "hives"})
METFORMIN = group(
    "medications",
    medication=coding(RXNORM, "6809", "metformin"),
    dose={"valueString": "500 mg"},
    start_date={"valueDate": "2022-04-01"},
)
DIABETES = group("conditions", condition=coding(SNOMED, "44054006", "Diabetes mellitus type 2"))


@pytest.fixture
async def records(namespace):
    async with running(build(service_settings(RecordsSettings, namespace))) as client:
        yield client


@pytest.fixture
async def pid(records):
    r = await records.post("/patients", json=PATIENT)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_the_questionnaire_is_served_as_fhir(records, pid):
    r = await records.get("/fhir/Questionnaire/intake", headers=bearer("patient", patient_id=pid))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    assert Questionnaire.model_validate_json(r.text).url == CANONICAL.split("|")[0]
    assert (await records.get("/fhir/Questionnaire/intake", headers={"Authorization": ""})).status_code == 401


async def test_a_response_lands_in_the_history_once(records, pid):
    me = bearer("patient", patient_id=pid, subject=f"patient-{pid}")
    r = await records.post("/fhir/QuestionnaireResponse", json=form(pid, PENICILLIN, METFORMIN, DIABETES), headers=me)
    assert r.status_code == 201, r.text
    assert [o["outcome"] for o in r.json()] == ["recorded"] * 3
    [allergy] = (await records.get(f"/patients/{pid}/allergies")).json()
    assert allergy["substance"]["code"] == "7980" and allergy["reaction"] == "hives"
    assert allergy["provenance"]["source"] == {"type": "imported", "reference": "QuestionnaireResponse/intake-1"}
    assert allergy["provenance"]["recorded_by"] == f"patient-{pid}"
    [med] = (await records.get(f"/patients/{pid}/medications")).json()
    assert med["dose"] == "500 mg" and med["start_date"] == "2022-04-01"

    again = await records.post(
        "/fhir/QuestionnaireResponse", json=form(pid, PENICILLIN, METFORMIN, DIABETES), headers=me
    )
    assert again.status_code == 200, again.text
    assert {o["outcome"] for o in again.json()} == {"already recorded"}
    for path in ("allergies", "medications", "conditions"):
        assert len((await records.get(f"/patients/{pid}/{path}")).json()) == 1

    # A new form that reports a condition already on file: kept once, and said so.
    later = await records.post("/fhir/QuestionnaireResponse", json=form(pid, DIABETES, rid="intake-2"), headers=me)
    assert later.status_code == 201 and later.json()[0]["outcome"] == "already recorded"
    assert later.json()[0]["entry_id"] == r.json()[2]["entry_id"]

    bundle = Bundle.model_validate_json((await records.get(f"/fhir/QuestionnaireResponse?patient={pid}")).text)
    assert [e.resource.id for e in bundle.entry] == ["intake-1", "intake-2"]


async def test_a_response_with_a_bad_code_records_nothing_and_names_the_item(records, pid):
    bad = group("conditions", condition=coding(SNOMED, "44054007", "check digit wrong"))
    r = await records.post("/fhir/QuestionnaireResponse", json=form(pid, PENICILLIN, bad))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "item[conditions][0].condition.code", r.json()
    assert "check digit" in r.json()["detail"]
    assert (await records.get(f"/patients/{pid}/allergies")).json() == []


async def test_only_the_patient_or_the_care_team_submits(records, pid):
    r = await records.post(
        "/fhir/QuestionnaireResponse", json=form(pid, PENICILLIN), headers=bearer("patient", patient_id="someone-else")
    )
    assert r.status_code == 403
    assert (await records.get(f"/patients/{pid}/allergies")).json() == []
    trail = (await records.get(f"/audit/patients/{pid}", headers=ADMIN)).json()
    assert any(e["resource_type"] == "QuestionnaireResponse" and not e["allowed"] for e in trail)


async def test_writes_are_audited(records, pid):
    await records.post("/fhir/QuestionnaireResponse", json=form(pid, PENICILLIN), headers=bearer("clinician"))
    trail = (await records.get(f"/audit/patients/{pid}", headers=ADMIN)).json()
    assert {("create", "QuestionnaireResponse"), ("create", "AllergyIntolerance")} <= {
        (e["action"], e["resource_type"]) for e in trail
    }
