"""Family members and consent over HTTP, with the events notifications relies on."""

import pytest

from caremesh_contracts import ConsentChanged, RelatedPersonAdded
from caremesh_records.app import build
from caremesh_records.settings import RecordsSettings
from caremesh_testing import EventCapture, bearer, running, service_settings

PATIENT = {
    "given_name": "Iris",
    "family_name": "Family",
    "birth_date": "1950-02-02",
    "email": "iris@example.org",
    "time_zone": "Europe/Paris",
}


@pytest.fixture
async def records(namespace):
    async with running(build(service_settings(RecordsSettings, namespace))) as client:
        yield client


async def test_the_patient_adds_a_daughter_consents_then_withdraws(records, namespace, amqp_url):
    pid = (await records.post("/patients", json=PATIENT)).json()["id"]
    me = bearer("patient", subject="iris", patient_id=pid)
    async with EventCapture(amqp_url, namespace, "records.#") as cap:
        r = await records.post(
            f"/patients/{pid}/related-persons",
            headers=me,
            json={"given_name": "Ruth", "relationship": "DAU", "email": "ruth@example.org"},
        )
        assert r.status_code == 201, r.text
        rp = r.json()
        assert rp["consent"] == []
        r = await records.put(
            f"/patients/{pid}/related-persons/{rp['id']}/consent", headers=me, json={"categories": ["appointments"]}
        )
        assert r.json()["consent"] == ["appointments"]
        r = await records.put(f"/patients/{pid}/related-persons/{rp['id']}/consent", json={"categories": []})
        assert r.json()["consent"] == [] and [c["given_by_role"] for c in r.json()["consent_history"]] == [
            "patient",
            "staff",
        ]
        [added] = await cap.wait_for(RelatedPersonAdded)
        changes = await cap.wait_for(ConsentChanged, count=2)
    assert added.relationship == "DAU" and added.email == "ruth@example.org"
    assert [c.categories for c in changes] == [["appointments"], []]


async def test_others_cannot_touch_a_patients_family(records):
    pid = (await records.post("/patients", json=PATIENT)).json()["id"]
    stranger = bearer("patient", subject="x", patient_id="someone-else")
    r = await records.post(
        f"/patients/{pid}/related-persons", headers=stranger, json={"given_name": "Eve", "relationship": "FRND"}
    )
    assert r.status_code == 403
    r = await records.post(f"/patients/{pid}/related-persons", json={"given_name": "Eve", "relationship": "BFF"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "relationship"
