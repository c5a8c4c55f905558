"""Medical record numbers, duplicate warnings on registration, and merging duplicates."""

import pytest

from caremesh_contracts import PatientMerged
from caremesh_records.app import build
from caremesh_records.domain import mrn_with_check_digit
from caremesh_records.settings import RecordsSettings
from caremesh_testing import EventCapture, running, service_settings

ADA = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "birth_date": "1985-12-10",
    "email": "ada@example.org",
    "time_zone": "Europe/London",
    "language": "en-GB",
}


@pytest.fixture
async def records(namespace):
    async with running(build(service_settings(RecordsSettings, namespace))) as client:
        yield client


async def test_each_patient_gets_a_checked_mrn_and_no_warning_when_unique(records):
    r = await records.post("/patients", json=ADA)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["warnings"] == [] and body["status"] == "active" and body["language"] == "en-GB"
    assert len(body["mrn"]) == 10 and mrn_with_check_digit(body["mrn"][:9]) == body["mrn"]


async def test_same_name_and_birth_date_is_flagged_with_the_candidate(records):
    first = (await records.post("/patients", json=ADA)).json()
    again = (await records.post("/patients", json=ADA | {"given_name": "  ADA ", "family_name": "Lovelacé"})).json()
    [warning] = again["warnings"]
    assert warning["code"] == "possible-duplicate"
    assert warning["candidates"] == [
        {"patient_id": first["id"], "mrn": first["mrn"], "reason": "same name and birth date"}
    ]


async def test_a_shared_identifier_is_flagged_even_with_another_name(records):
    member = {"system": "urn:payer:acme", "value": "M-77"}
    first = (await records.post("/patients", json=ADA | {"identifiers": [member]})).json()
    other = (await records.post("/patients", json=ADA | {"given_name": "Augusta", "identifiers": [member]})).json()
    assert other["warnings"][0]["candidates"][0]["reason"] == "same identifier urn:payer:acme|M-77"
    assert other["warnings"][0]["candidates"][0]["patient_id"] == first["id"]


async def test_merging_marks_the_duplicate_and_tells_other_services(records, namespace, amqp_url):
    keep = (await records.post("/patients", json=ADA)).json()
    dup = (await records.post("/patients", json=ADA)).json()
    async with EventCapture(amqp_url, namespace, "records.patient.merged") as cap:
        r = await records.post(f"/patients/{dup['id']}/merge", json={"into": keep["id"]})
        assert r.status_code == 200 and r.json()["status"] == "merged" and r.json()["merged_into"] == keep["id"]
        again = await records.post(f"/patients/{dup['id']}/merge", json={"into": keep["id"]})  # a repeat
        assert again.status_code == 200
        [event] = await cap.wait_for(PatientMerged)
    assert (event.patient_id, event.merged_into) == (dup["id"], keep["id"])
    # Merged patients are no longer offered as duplicates; merging into a merged one is refused.
    third = (await records.post("/patients", json=ADA)).json()
    assert [c["patient_id"] for c in third["warnings"][0]["candidates"]] == [keep["id"]]
    r = await records.post(f"/patients/{third['id']}/merge", json={"into": dup["id"]})
    assert r.status_code == 409
    r = await records.post(f"/patients/{keep['id']}/merge", json={"into": keep["id"]})
    assert r.status_code == 422 and r.json()["field"] == "into"
