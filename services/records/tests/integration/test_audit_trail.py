"""Every read and write of patient data leaves an entry that can be queried and not changed."""

import pytest

from caremesh_records.app import build
from caremesh_records.settings import RecordsSettings
from caremesh_testing import bearer, running, service_settings

PATIENT = {
    "given_name": "Ada",
    "family_name": "Audit",
    "birth_date": "1984-03-09",
    "email": "ada.audit@example.org",
    "time_zone": "Europe/London",
}
ADMIN = bearer("admin", subject="privacy-officer")


@pytest.fixture
async def records(namespace):
    async with running(build(service_settings(RecordsSettings, namespace))) as client:
        yield client


async def test_reads_and_writes_are_recorded_with_who_what_and_why(records):
    coordinator = bearer("coordinator", subject="carol")
    pid = (await records.post("/patients", json=PATIENT, headers=coordinator)).json()["id"]
    await records.get(f"/patients/{pid}", headers=coordinator | {"X-Purpose-Of-Use": "CAREMGT"})
    await records.get(f"/patients/{pid}/timeline", headers=bearer("clinician", subject="dr-who"))

    trail = (await records.get("/audit", params={"patient_id": pid}, headers=ADMIN)).json()
    got = [(e["actor"], e["action"], e["resource_type"], e["purpose"], e["allowed"]) for e in reversed(trail)]
    assert got == [
        ("carol", "create", "Patient", "TREAT", True),
        ("carol", "read", "Patient", "CAREMGT", True),
        ("dr-who", "read", "Timeline", "TREAT", True),
    ]
    assert all(e["service"] == "records" and e["patient_id"] == pid and e["correlation_id"] for e in trail)
    assert trail[0]["route"] == "GET /patients/{patient_id}/timeline"


async def test_a_denied_read_is_recorded_and_the_patient_sees_their_access_report(records):
    pid = (await records.post("/patients", json=PATIENT)).json()["id"]
    other = bearer("patient", subject="mallory", patient_id="someone-else")
    assert (await records.get(f"/patients/{pid}", headers=other)).status_code == 403
    own = bearer("patient", subject="ada", patient_id=pid)
    assert (await records.get(f"/patients/{pid}", headers=own)).status_code == 200

    report = (await records.get(f"/audit/patients/{pid}", headers=own)).json()
    got = [(e["actor"], e["action"], e["purpose"], e["allowed"]) for e in reversed(report)]
    assert got == [
        ("test-user", "create", "TREAT", True),
        ("mallory", "read", "PATRQT", False),
        ("ada", "read", "PATRQT", True),
    ]
    assert (await records.get(f"/audit/patients/{pid}", headers=other)).status_code == 403


async def test_the_trail_is_for_administrators_and_cannot_be_changed(records):
    assert (await records.get("/audit")).status_code == 403  # a coordinator
    assert (await records.get("/audit", headers=ADMIN)).status_code == 200
    for method in ("put", "patch", "delete", "post"):
        r = await records.request(method.upper(), "/audit", headers=ADMIN)
        assert r.status_code == 405, method


async def test_an_unknown_purpose_of_use_is_refused_naming_the_header(records):
    pid = (await records.post("/patients", json=PATIENT)).json()["id"]
    r = await records.get(f"/patients/{pid}", headers={"X-Purpose-Of-Use": "CURIOSITY"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "x-purpose-of-use"
