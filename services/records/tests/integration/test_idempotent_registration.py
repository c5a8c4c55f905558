"""Registering a patient under an Idempotency-Key whose process was killed after the patient was
saved: the retry gets that patient, with its medical record number, and nothing more is made."""

from datetime import UTC, datetime, timedelta

import pytest

from caremesh_records.app import build
from caremesh_records.settings import RecordsSettings
from caremesh_testing import left_in_flight, running, service_settings

PATIENT = {
    "given_name": "Ida",
    "family_name": "Retry",
    "birth_date": "1990-05-01",
    "email": "ida.retry@example.org",
    "time_zone": "Europe/Paris",
}


@pytest.fixture
async def service(namespace):
    app = build(service_settings(RecordsSettings, namespace))
    async with running(app) as client:
        yield client, app.state.runtime.store.db


async def test_a_retry_after_a_crash_returns_the_patient_the_first_attempt_registered(service):
    client, db = service
    key = {"Idempotency-Key": "register-1"}
    first = await client.post("/patients", json=PATIENT, headers=key)
    assert first.status_code == 201, first.text
    await left_in_flight(db, datetime.now(UTC) - timedelta(seconds=1))

    retry = await client.post("/patients", json=PATIENT, headers=key)
    assert retry.status_code == 201, retry.text
    assert (retry.json()["id"], retry.json()["mrn"]) == (first.json()["id"], first.json()["mrn"])
    assert retry.json()["warnings"] == []  # not named a duplicate of itself
    assert await db["patients"].count_documents({}) == 1
    assert await db["mrns"].count_documents({}) == 1  # no number reserved for nothing
