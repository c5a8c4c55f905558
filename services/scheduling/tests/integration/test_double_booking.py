"""Double booking under concurrency: 200 parallel attempts on 20 slots."""

import asyncio
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from caremesh_scheduling.app import build
from caremesh_scheduling.domain import HOLDS_SLOT
from caremesh_scheduling.settings import SchedulingSettings
from caremesh_testing import running, service_settings


@pytest.fixture
async def scheduling(namespace):
    """The default orphan age: requests under this load take longer than the one-second age the
    other tests use to see the sweeper at work."""
    async with running(build(service_settings(SchedulingSettings, namespace))) as client:
        yield client


async def test_200_parallel_attempts_on_20_slots_book_exactly_20_and_no_patient_twice(scheduling, clinic):
    # Four practitioners, each in their own room, at the same five times: 20 slots, and the slots at
    # one time overlap across practitioners.
    first = await clinic(scheduling, tz="Europe/Berlin", rooms=("R0", "R1", "R2", "R3"), name="Dr. 0")
    clinics = [first] + [
        await clinic(scheduling, rooms=(f"R{i}",), name=f"Dr. {i}", location=first.location) for i in range(1, 4)
    ]
    # Mid-morning in Berlin, so the five times never reach the end of the clinic day at midnight.
    when = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=3)
    times = [(await first.first_slot(when + timedelta(minutes=30 * k)))["start"] for k in range(5)]
    slots = {(i, t): (await c.slots(**{"from": t[:10], "to": t[:10]})) for i, c in enumerate(clinics) for t in times}
    slot_ids = {key: next(s["slot_id"] for s in found if s["start"] == key[1]) for key, found in slots.items()}
    assert len(set(slot_ids.values())) == 20

    # Per slot: four attempts by "eager" patients, each of whom tries all four practitioners at one
    # time, and six by patients trying only that slot. 200 in all.
    attempts = []
    for k, t in enumerate(times):
        for e in range(4):
            attempts += [(f"eager-{k}-{e}", slot_ids[(i, t)]) for i in range(4)]
        for i in range(4):
            attempts += [(f"single-{k}-{i}-{n}", slot_ids[(i, t)]) for n in range(6)]
    assert len(attempts) == 200
    random.shuffle(attempts)
    results = await asyncio.gather(*(first.book(slot, patient) for patient, slot in attempts))

    # Exactly one appointment per slot in the store, and no patient holds two overlapping ones.
    uc = scheduling._transport.app.state.usecases
    holding = [
        d
        async for d in uc.booking.appointments.repo.collection.find({"status": {"$in": [s.value for s in HOLDS_SLOT]}})
    ]
    assert sorted(d["slot_id"] for d in holding) == sorted(slot_ids.values())
    by_patient = defaultdict(list)
    for d in holding:
        by_patient[d["patient_id"]].append((d["start"], d["end"]))
    for spans in by_patient.values():
        spans.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(spans))
    # And the responses say the same: 20 created, every other attempt a 409 naming its field.
    created = [r.json() for r in results if r.status_code == 201]
    assert sorted(a["id"] for a in created) == sorted(d["_id"] for d in holding)
    assert sorted({r.status_code for r in results}) == [201, 409]
    assert all(r.json()["field"] in ("slot_id", "patient_id") for r in results if r.status_code == 409)
    # Nothing was left claimed half-way, and the search shows none of the 20 as free.
    assert await uc.booking.claims.attempts.count_documents({}) == 0
    for c in clinics:
        free = {s["slot_id"] for s in await c.slots(**{"from": times[0][:10], "to": times[-1][:10]})}
        assert not free & set(slot_ids.values())
