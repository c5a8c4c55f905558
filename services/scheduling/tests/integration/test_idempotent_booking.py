"""A booking under an Idempotency-Key whose process was killed after booking: the retry gets that
appointment, not a 409 and not a second booking."""

from datetime import UTC, datetime, timedelta

import pytest

from caremesh_scheduling.app import build
from caremesh_testing import left_in_flight, running

from .conftest import settings_for


@pytest.fixture
async def service(namespace):
    app = build(settings_for(namespace))
    async with running(app) as client:
        yield client, app.state.runtime.store.db


async def test_a_retry_after_a_crash_returns_the_booking_the_first_attempt_made(service, clinic):
    client, db = service
    c = await clinic(client)
    slot = await c.first_slot(datetime.now(UTC) + timedelta(days=3))
    body, key = {"patient_id": "p1", "slot_id": slot["slot_id"]}, {"Idempotency-Key": "book-1"}
    first = await client.post("/appointments", json=body, headers=key)
    assert first.status_code == 201, first.text
    await left_in_flight(db, datetime.now(UTC) - timedelta(seconds=1))

    # The slot is claimed by the very appointment the retry makes again: that is no conflict.
    retry = await client.post("/appointments", json=body, headers=key)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == first.json()["id"]
    booked = (await client.get("/appointments", params={"patient_id": "p1"})).json()
    assert [a["id"] for a in booked] == [first.json()["id"]]
    # The time stays the first booking's: another patient still cannot have it.
    other = await client.post("/appointments", json=body | {"patient_id": "p2"})
    assert other.status_code == 409, other.text
