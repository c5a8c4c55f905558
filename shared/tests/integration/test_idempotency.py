"""Idempotency-Key on POST: a retried request returns the first response and changes nothing."""

import asyncio

import pytest

from caremesh_insurance.app import build
from caremesh_insurance.settings import InsuranceSettings
from caremesh_testing import bearer, running, service_settings

COVERAGE = {
    "patient_id": "p1",
    "payer": "Acme",
    "plan": "PPO",
    "member_id": "M1",
    "period_start": "2026-01-01",
    "service_codes": ["99213"],
}


@pytest.fixture
async def insurance(namespace):
    async with running(build(service_settings(InsuranceSettings, namespace))) as client:
        yield client


async def test_a_retry_with_the_same_key_replays_the_first_response(insurance):
    key = {"Idempotency-Key": "retry-1"}
    first = await insurance.post("/coverages", json=COVERAGE, headers=key)
    again = await insurance.post("/coverages", json=COVERAGE, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert len((await insurance.get("/coverages", params={"patient_id": "p1"})).json()) == 1


async def test_concurrent_retries_create_one_resource(insurance):
    key = {"Idempotency-Key": "burst"}
    results = await asyncio.gather(*(insurance.post("/coverages", json=COVERAGE, headers=key) for _ in range(8)))
    created = {r.json()["id"] for r in results if r.status_code == 201}
    assert len(created) == 1
    assert {r.status_code for r in results} <= {201, 409}
    assert len((await insurance.get("/coverages", params={"patient_id": "p1"})).json()) == 1


async def test_the_key_is_per_caller_and_bound_to_the_body(insurance):
    key = {"Idempotency-Key": "k"}
    mine = await insurance.post("/coverages", json=COVERAGE, headers=key)
    theirs = await insurance.post("/coverages", json=COVERAGE, headers=key | bearer(subject="someone-else"))
    assert mine.json()["id"] != theirs.json()["id"]
    reused = await insurance.post("/coverages", json=COVERAGE | {"plan": "HMO"}, headers=key)
    assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "idempotency-key"
    without = [await insurance.post("/coverages", json=COVERAGE) for _ in range(2)]
    assert without[0].json()["id"] != without[1].json()["id"]


async def test_a_replay_goes_only_to_the_same_principal(insurance):
    key = {"Idempotency-Key": "same-sub"}
    staff = await insurance.post("/coverages", json=COVERAGE, headers=key | bearer("coordinator", subject="dev-user"))
    # Same subject but other roles: not the same caller, so the request runs on its own.
    other = await insurance.post("/coverages", json=COVERAGE, headers=key | bearer("clinician", subject="dev-user"))
    assert staff.status_code == other.status_code == 201
    assert staff.json()["id"] != other.json()["id"] and "idempotent-replayed" not in other.headers
    patient = await insurance.post(
        "/coverages", json=COVERAGE, headers=key | bearer("patient", subject="dev-user", patient_id="p1")
    )
    assert patient.status_code == 403  # the route's own check, not a replay
