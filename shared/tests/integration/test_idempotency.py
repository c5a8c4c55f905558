"""Idempotency-Key on POST: a retried request returns the first response and changes nothing."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from caremesh_insurance.app import build
from caremesh_insurance.settings import InsuranceSettings
from caremesh_kit import idempotency
from caremesh_kit.store import Store
from caremesh_testing import bearer, left_in_flight, running, service_settings

COVERAGE = {
    "patient_id": "p1",
    "payer": "Acme",
    "plan": "PPO",
    "member_id": "M1",
    "period_start": "2026-01-01",
    "service_codes": ["99213"],
}


@pytest.fixture
async def service(namespace):
    app = build(service_settings(InsuranceSettings, namespace))
    async with running(app) as client:
        yield client, app.state.runtime.store.db


@pytest.fixture
async def insurance(service):
    return service[0]


async def coverages(client) -> list[dict]:
    return (await client.get("/coverages", params={"patient_id": "p1"})).json()


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


async def test_a_key_a_crash_left_pending_is_taken_over_after_its_lease(service):
    client, db = service
    key = {"Idempotency-Key": "crashed"}
    first = await client.post("/coverages", json=COVERAGE, headers=key)
    await left_in_flight(db, datetime.now(UTC) - timedelta(seconds=1))
    retry = await client.post("/coverages", json=COVERAGE, headers=key)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == first.json()["id"]  # the first attempt's coverage, not a second one
    assert len(await coverages(client)) == 1
    again = await client.post("/coverages", json=COVERAGE, headers=key)
    assert again.headers["idempotent-replayed"] == "true" and again.json()["id"] == first.json()["id"]


async def test_a_lease_still_held_answers_409_with_retry_after(service):
    client, db = service
    key = {"Idempotency-Key": "in-flight"}
    await client.post("/coverages", json=COVERAGE, headers=key)
    await left_in_flight(db, datetime.now(UTC) + timedelta(seconds=20))
    held = await client.post("/coverages", json=COVERAGE, headers=key)
    assert held.status_code == 409 and held.json()["detail"].endswith("still in progress")
    assert 0 < int(held.headers["retry-after"]) <= 20
    other_body = await client.post("/coverages", json=COVERAGE | {"plan": "HMO"}, headers=key)
    assert other_body.status_code == 422  # another payload under the key: 422 even while it runs


async def test_of_concurrent_retries_after_a_crash_one_takes_over(service):
    client, db = service
    key = {"Idempotency-Key": "crashed-burst"}
    first = await client.post("/coverages", json=COVERAGE, headers=key)
    await left_in_flight(db, datetime.now(UTC) - timedelta(seconds=1))
    results = await asyncio.gather(*(client.post("/coverages", json=COVERAGE, headers=key) for _ in range(8)))
    assert {r.status_code for r in results} <= {201, 409}
    ran = [r for r in results if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(ran) == 1  # the compare-and-set let exactly one retry run the request again
    assert {r.json()["id"] for r in results if r.status_code == 201} == {first.json()["id"]}
    assert len(await coverages(client)) == 1


async def test_the_sweep_deletes_only_keys_past_their_retention():
    store = Store("mongodb://127.0.0.1:27103/", f"t_sweep_{uuid.uuid4().hex[:12]}")
    db = store.db
    keys, now, day = db["idempotency_keys"], datetime.now(UTC), timedelta(hours=24)
    old, fresh = now - day - timedelta(minutes=1), now - day + timedelta(minutes=1)
    await keys.insert_many(
        [
            {"_id": "old-done", "state": "done", "created_at": old},
            {"_id": "fresh-done", "state": "done", "created_at": fresh},
            # A pending key waits for a retry to take it over, for the retention after its lease.
            {"_id": "old-pending", "state": "pending", "created_at": old, "lease_until": now - timedelta(hours=1)},
            {"_id": "abandoned", "state": "pending", "created_at": old - day, "lease_until": old},
            {"_id": "in-flight", "state": "pending", "created_at": now, "lease_until": now + timedelta(seconds=30)},
        ]
    )
    assert await idempotency.sweep(db, day.total_seconds(), now) == 2
    assert sorted([d["_id"] async for d in keys.find({})]) == ["fresh-done", "in-flight", "old-pending"]
    await store.client.drop_database(db.name)
    await store.close()
