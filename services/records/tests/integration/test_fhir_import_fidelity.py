"""What a real import keeps, through HTTP on records' real store: a deceased patient's death,
every given name, Goals counted with their CarePlan, and a CarePlan rejected for its Condition
naming it. Synthea fixtures, some altered the way other senders write their bundles."""

import copy
import json
import uuid

import pytest
from fhir.resources.R4B.patient import Patient as FhirPatient

from caremesh_records.app import build
from caremesh_records.settings import RecordsSettings
from caremesh_testing import delete_namespace, running, service_settings
from caremesh_testing.fixtures import fixtures_dir

SYNTHEA = fixtures_dir() / "fhir" / "synthea"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def load(name: str) -> dict:
    path = SYNTHEA / name
    if not path.is_file():
        pytest.fail(f"Synthea fixture {path} is missing (see shared/fixtures/README.md)")
    return json.loads(path.read_text())


def resources(raw: dict, resource_type: str) -> list[dict]:
    return [e["resource"] for e in raw["entry"] if e["resource"]["resourceType"] == resource_type]


@pytest.fixture(scope="module")
async def client():
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    app = build(service_settings(RecordsSettings, namespace))
    try:
        async with running(app) as c:
            yield c
    finally:
        await delete_namespace(namespace)


async def post(client, raw: dict, source: str) -> dict:
    r = await client.post(f"/fhir?source={source}", content=json.dumps(raw), headers=FHIR_JSON, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def outcome_of(report: dict, resource_type: str) -> list[dict]:
    return [o for o in report["resources"] if o["resource_type"] == resource_type]


async def test_a_deceased_patient_keeps_the_death_through_the_api_and_fhir(client):
    raw = load("patient-04.json")  # Dennis Durgan, deceasedDateTime 2008-11-12T12:17:10+00:00
    report = await post(client, raw, "deceased")
    [patient] = outcome_of(report, "Patient")
    assert patient["outcome"] == "imported" and not any("deceased" in w for w in patient["warnings"])
    r = await client.get(f"/patients/{patient['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["deceased"] == {"at": "2008-11-12T12:17:10Z"}
    r = await client.get(f"/fhir/Patient/{patient['id']}")
    served = FhirPatient.model_validate(r.json())
    assert served.deceasedDateTime.isoformat() == "2008-11-12T12:17:10+00:00" and served.deceasedBoolean is None
    # Nothing new on a re-import, and the death is still there.
    assert (await post(client, raw, "deceased"))["totals"]["imported"] == 0
    assert (await client.get(f"/patients/{patient['id']}")).json()["deceased"] == {"at": "2008-11-12T12:17:10Z"}


async def test_a_living_patient_and_one_known_only_to_have_died(client):
    raw = load("patient-01.json")
    [alive] = outcome_of(await post(client, raw, "alive"), "Patient")
    assert (await client.get(f"/patients/{alive['id']}")).json()["deceased"] is None
    body = (await client.get(f"/fhir/Patient/{alive['id']}")).json()
    assert "deceasedBoolean" not in body and "deceasedDateTime" not in body
    [p] = resources(raw, "Patient")
    p["deceasedBoolean"] = True
    [dead] = outcome_of(await post(client, raw, "flag-only"), "Patient")
    assert (await client.get(f"/patients/{dead['id']}")).json()["deceased"] == {"at": None}
    assert (await client.get(f"/fhir/Patient/{dead['id']}")).json()["deceasedBoolean"] is True


async def test_several_given_names_round_trip_as_separate_given(client):
    raw = load("patient-01.json")
    [p] = resources(raw, "Patient")
    official = next(n for n in p["name"] if n.get("use") == "official")
    official["given"] = ["Kermit", "Marie"]
    [patient] = outcome_of(await post(client, raw, "two-given"), "Patient")
    assert patient["outcome"] == "imported"
    body = (await client.get(f"/patients/{patient['id']}")).json()
    assert body["given_name"] == "Kermit Marie"  # as clients read it before
    assert body["given_names"] == ["Kermit", "Marie"]
    served = FhirPatient.model_validate((await client.get(f"/fhir/Patient/{patient['id']}")).json())
    assert [n.given for n in served.name] == [["Kermit", "Marie"]]
    # A patient registered over the API with one given name reads the same as before.
    r = await client.post(
        "/patients",
        json={"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1984-03-09", "email": "a@example.org"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["given_names"] == ["Ada"] and r.json()["deceased"] is None
    served = FhirPatient.model_validate((await client.get(f"/fhir/Patient/{r.json()['id']}")).json())
    assert served.name[0].given == ["Ada"]
    r = await client.post(
        "/patients",
        json={
            "given_name": "Ada",
            "given_names": ["Ann", "Marie"],
            "family_name": "Lovelace",
            "birth_date": "1984-03-09",
            "email": "a@example.org",
        },
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == "given_names" for e in r.json()["errors"]), r.json()


async def test_goals_are_counted_as_imported_with_their_plan(client):
    raw = load("patient-03.json")
    goals = resources(raw, "Goal")
    report = await post(client, raw, "goals")
    assert report["summary"]["Goal"] == {"imported": len(goals), "skipped": 0, "rejected": 0}
    for o in outcome_of(report, "Goal"):
        r = await client.get(f"/fhir/Goal/{o['id']}")
        assert r.status_code == 200, r.text
        source = next(g for g in goals if g["id"] == o["source_id"])
        assert r.json()["description"]["text"] == source["description"]["text"]
    again = await post(client, raw, "goals")
    assert again["summary"]["Goal"] == {"imported": 0, "skipped": len(goals), "rejected": 0}
    first = {o["entry"]: o["id"] for o in outcome_of(report, "Goal")}
    assert all((o["reason"], o["id"]) == ("already imported", first[o["entry"]]) for o in outcome_of(again, "Goal"))


async def test_a_care_plan_rejected_for_its_condition_names_it_and_its_goals_follow(client):
    raw = load("patient-03.json")
    by_url = {e["fullUrl"]: e["resource"] for e in raw["entry"]}
    plan = next(p for p in resources(raw, "CarePlan") if p.get("addresses") and p.get("goal"))
    reference = plan["addresses"][0]["reference"]
    condition = by_url[reference]
    condition["code"] = condition["code"]["coding"][0]["code"]  # a bare code where FHIR wants a CodeableConcept
    report = await post(client, copy.deepcopy(raw), "broken-condition")
    [planned] = [o for o in outcome_of(report, "CarePlan") if o["source_id"] == plan["id"]]
    assert planned["outcome"] == "rejected"
    assert f"Condition/{condition['id']}" in planned["reason"] and reference in planned["reason"]
    assert "not a valid Condition: code" in planned["reason"]
    [rejected] = [o for o in outcome_of(report, "Condition") if o["source_id"] == condition["id"]]
    assert rejected["outcome"] == "rejected"
    named = {by_url[g["reference"]]["id"] for g in plan["goal"]}
    for o in outcome_of(report, "Goal"):
        if o["source_id"] in named:
            assert o["outcome"] == "rejected" and f"CarePlan/{plan['id']}" in o["reason"], o
