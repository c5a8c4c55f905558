"""Scheduling against the real broker and its own real store."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from caremesh_contracts import (
    AppointmentBooked,
    AppointmentDeclined,
    AppointmentRequested,
    EligibilityConfirmed,
    EligibilityDenied,
)
from caremesh_kit.testing import EventCapture, eventually, publish_event, running, service_settings, wait_settled
from caremesh_scheduling.app import build
from caremesh_scheduling.settings import SchedulingSettings


@pytest.fixture
async def scheduling(namespace):
    async with running(build(service_settings(SchedulingSettings, namespace, orphan_claim_seconds=1))) as client:
        yield client


async def make_slots(client, n: int = 1, tz: str = "America/Chicago") -> list[dict]:
    pr = (await client.post("/practitioners", json={"name": "Dr. Ruth", "time_zone": tz})).json()
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    times = [{"start": (base + timedelta(hours=i)).isoformat(), "end": (base + timedelta(hours=i, minutes=30)).isoformat()}
             for i in range(n)]
    r = await client.post(f"/practitioners/{pr['id']}/slots", json={"slots": times})
    assert r.status_code == 201, r.text
    return r.json()


async def request(client, slot_id: str, patient: str = "p1"):
    return await client.post("/appointments", json={"patient_id": patient, "slot_id": slot_id, "service_code": "99213"})


async def test_request_emits_requested_with_the_local_service_date(scheduling, namespace, amqp_url):
    [slot] = await make_slots(scheduling, tz="Pacific/Kiritimati")  # UTC+14: the local date differs
    async with EventCapture(amqp_url, namespace) as cap:
        r = await request(scheduling, slot["id"])
        assert r.status_code == 201 and r.json()["status"] == "pending"
        [event] = await cap.wait_for(AppointmentRequested)
    start = datetime.fromisoformat(slot["start"])
    assert event.appointment_id == r.json()["id"] and event.start == start
    from zoneinfo import ZoneInfo
    assert event.service_date == start.astimezone(ZoneInfo("Pacific/Kiritimati")).date()


async def test_confirmed_books_once_even_when_delivered_twice(scheduling, namespace, amqp_url):
    [slot] = await make_slots(scheduling)
    appt = (await request(scheduling, slot["id"])).json()
    async with EventCapture(amqp_url, namespace, "scheduling.appointment.*") as cap:
        confirmed = EligibilityConfirmed(appointment_id=appt["id"], patient_id="p1", coverage_id="c")
        eid = await publish_event(amqp_url, namespace, confirmed)
        await publish_event(amqp_url, namespace, confirmed, event_id=eid)
        [booked] = await cap.wait_for(AppointmentBooked)
        await wait_settled(namespace)
        assert len(cap.of(AppointmentBooked)) == 1
    assert booked.practitioner_name == "Dr. Ruth"
    assert (await scheduling.get(f"/appointments/{appt['id']}")).json()["status"] == "booked"


async def test_denied_declines_and_frees_the_slot(scheduling, namespace, amqp_url):
    [slot] = await make_slots(scheduling)
    appt = (await request(scheduling, slot["id"])).json()
    assert (await request(scheduling, slot["id"], "p2")).status_code == 409
    async with EventCapture(amqp_url, namespace, "scheduling.appointment.*") as cap:
        await publish_event(amqp_url, namespace, EligibilityDenied(
            appointment_id=appt["id"], patient_id="p1", reason_code="no_coverage", reason="none"))
        [declined] = await cap.wait_for(AppointmentDeclined)
    assert declined.reason_code == "no_coverage"

    async def freed():
        return (await request(scheduling, slot["id"], "p2")).status_code == 201

    await eventually(freed, what="slot freed")


async def test_concurrent_requests_for_one_slot_give_exactly_one_appointment(scheduling):
    [slot] = await make_slots(scheduling)
    results = await asyncio.gather(*(request(scheduling, slot["id"], f"p{i}") for i in range(20)))
    codes = sorted(r.status_code for r in results)
    assert codes == [201] + [409] * 19
    assert all(r.headers["content-type"].startswith("application/problem+json") for r in results if r.status_code == 409)


async def test_unknown_slot_and_bad_code_are_clear_errors(scheduling):
    r = await request(scheduling, "no-such-slot")
    assert r.status_code == 404 and r.json()["detail"] == "Slot no-such-slot not found"
    [slot] = await make_slots(scheduling)
    r = await scheduling.post("/appointments", json={"patient_id": "p", "slot_id": slot["id"], "service_code": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "service_code"


async def test_an_orphaned_claim_is_freed(scheduling):
    [slot] = await make_slots(scheduling)
    uc = scheduling._transport.app.state.usecases
    # A claim whose appointment was never saved, as a crash between the two writes leaves it.
    await uc.claims.claim(slot["id"], "never-saved", datetime.now(UTC) - timedelta(seconds=5))
    assert await uc.free_orphan_claims() == 1
    assert (await request(scheduling, slot["id"])).status_code == 201
    # A saved appointment's claim is settled and never swept, however old.
    [claim] = await uc.claims.collection.find({"_id": slot["id"]}).to_list()
    assert claim["settled"] is True
    await uc.claims.collection.update_one({"_id": slot["id"]}, {"$set": {"settled": False}})
    assert await uc.free_orphan_claims() == 0  # not old enough yet
    await uc.claims.collection.update_one({"_id": slot["id"]}, {"$set": {"claimed_at": datetime.now(UTC) - timedelta(hours=1)}})
    assert await uc.free_orphan_claims() == 0  # old, but its appointment holds it: settled, not freed
    assert (await uc.claims.collection.find_one({"_id": slot["id"]}))["settled"] is True


async def test_a_claim_left_by_a_cancelled_appointment_is_taken_over(scheduling, namespace, amqp_url):
    [slot] = await make_slots(scheduling)
    appt = (await request(scheduling, slot["id"])).json()
    assert (await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})).status_code == 200
    uc = scheduling._transport.app.state.usecases
    # As if the process died between the cancel commit and the claim release.
    await uc.claims.collection.insert_one({"_id": slot["id"], "appointment_id": appt["id"],
                                           "claimed_at": datetime.now(UTC), "settled": True})
    r = await request(scheduling, slot["id"], "p2")
    assert r.status_code == 201, r.text
    assert (await uc.claims.holder(slot["id"]))["appointment_id"] == r.json()["id"]
