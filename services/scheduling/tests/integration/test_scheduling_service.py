"""Scheduling against the real broker and its own real store: booking derived slots, the
insurance reactions, and claims left behind by crashes."""

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentDeclined,
    AppointmentRequested,
    EligibilityConfirmed,
    EligibilityDenied,
)
from caremesh_testing import EventCapture, eventually, publish_event, wait_settled


async def a_slot(clinic, scheduling, days: int = 3, **kw) -> tuple[object, dict]:
    c = await clinic(scheduling, **kw)
    return c, await c.first_slot(datetime.now(UTC) + timedelta(days=days))


async def test_request_emits_requested_with_the_local_service_date(scheduling, clinic, namespace, amqp_url):
    c, slot = await a_slot(clinic, scheduling, tz="Pacific/Kiritimati")  # UTC+14: the local date differs
    async with EventCapture(amqp_url, namespace) as cap:
        r = await c.book(slot["slot_id"])
        assert r.status_code == 201 and r.json()["status"] == "pending", r.text
        [event] = await cap.wait_for(AppointmentRequested)
    start = datetime.fromisoformat(slot["start"])
    body = r.json()
    assert event.appointment_id == body["id"] and event.start == start and event.slot_id == slot["slot_id"]
    assert event.service_date == start.astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    assert (body["location_id"], body["room"], body["service_type_id"], body["service_code"]) == (
        c.location["id"],
        "R1",
        c.service["id"],
        "99213",
    )


async def test_booking_by_parts_is_the_same_as_by_slot_id(scheduling, clinic):
    c, slot = await a_slot(clinic, scheduling)
    r = await scheduling.post(
        "/appointments",
        json={
            "patient_id": "p1",
            "practitioner_id": c.practitioner["id"],
            "location_id": c.location["id"],
            "service_type_id": c.service["id"],
            "start": slot["start"],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["slot_id"] == slot["slot_id"]
    assert (await c.book(slot["slot_id"], "p2")).status_code == 409


async def test_confirmed_books_once_even_when_delivered_twice(scheduling, clinic, namespace, amqp_url):
    c, slot = await a_slot(clinic, scheduling)
    appt = (await c.book(slot["slot_id"])).json()
    async with EventCapture(amqp_url, namespace, "scheduling.appointment.*") as cap:
        confirmed = EligibilityConfirmed(appointment_id=appt["id"], patient_id="p1", coverage_id="c")
        eid = await publish_event(amqp_url, namespace, confirmed)
        await publish_event(amqp_url, namespace, confirmed, event_id=eid)
        [booked] = await cap.wait_for(AppointmentBooked)
        await wait_settled(namespace)
        assert len(cap.ids_of(AppointmentBooked)) == 1
    assert booked.practitioner_name == "Dr. Ruth"
    assert (await scheduling.get(f"/appointments/{appt['id']}")).json()["status"] == "booked"


async def test_denied_declines_and_frees_the_time(scheduling, clinic, namespace, amqp_url):
    c, slot = await a_slot(clinic, scheduling)
    appt = (await c.book(slot["slot_id"])).json()
    assert (await c.book(slot["slot_id"], "p2")).status_code == 409
    assert slot["slot_id"] not in {s["slot_id"] for s in await c.slots(**{"from": slot["start"][:10]})}
    async with EventCapture(amqp_url, namespace, "scheduling.appointment.*") as cap:
        await publish_event(
            amqp_url,
            namespace,
            EligibilityDenied(appointment_id=appt["id"], patient_id="p1", reason_code="no_coverage", reason="none"),
        )
        [declined] = await cap.wait_for(AppointmentDeclined)
    assert declined.reason_code == "no_coverage"

    async def freed():
        return (await c.book(slot["slot_id"], "p2")).status_code == 201

    await eventually(freed, what="time freed")


async def test_concurrent_requests_for_one_slot_give_exactly_one_appointment(scheduling, clinic):
    c, slot = await a_slot(clinic, scheduling)
    results = await asyncio.gather(*(c.book(slot["slot_id"], f"p{i}") for i in range(20)))
    assert sorted(r.status_code for r in results) == [201] + [409] * 19
    conflicts = [r for r in results if r.status_code == 409]
    assert all(r.headers["content-type"].startswith("application/problem+json") for r in conflicts)
    assert {(r.json()["field"], r.json()["resource"]) for r in conflicts} == {("slot_id", "practitioner")}


async def test_unknown_and_underived_slots_are_clear_errors(scheduling, clinic):
    r = await scheduling.post("/appointments", json={"patient_id": "p", "slot_id": "no-such-slot"})
    assert r.status_code == 422 and r.json()["field"] == "slot_id"
    c, slot = await a_slot(clinic, scheduling)
    off_grid = (datetime.fromisoformat(slot["start"]) + timedelta(minutes=5)).isoformat()
    r = await scheduling.post(
        "/appointments",
        json={
            "patient_id": "p",
            "practitioner_id": c.practitioner["id"],
            "location_id": c.location["id"],
            "service_type_id": c.service["id"],
            "start": off_grid,
        },
    )
    assert r.status_code == 422 and r.json()["field"] == "start", r.text
    r = await scheduling.post("/appointments", json={"patient_id": "p", "practitioner_id": c.practitioner["id"]})
    assert r.status_code == 422 and r.json()["field"] == "location_id"
    r = await scheduling.post(
        "/appointments", json={"patient_id": "p", "slot_id": slot["slot_id"], "start": slot["start"]}
    )
    assert r.status_code == 422 and r.json()["field"] == "start"
    r = await scheduling.post("/appointments", json={"patient_id": "p"})
    assert r.status_code == 422 and r.json()["field"] == "slot_id"
    past = slot["slot_id"].rsplit(".", 1)[0] + ".20200106T1500Z"
    r = await c.book(past)
    assert r.status_code == 422 and r.json()["field"] == "slot_id"


async def test_an_attempt_left_by_a_crash_is_freed_or_settled(scheduling, clinic, stale):
    c, slot = await a_slot(clinic, scheduling)
    uc = scheduling._transport.app.state.usecases
    # Claims whose appointment was never saved, as a crash between the two writes leaves them.
    from caremesh_scheduling.domain import Appointment, Slot

    s = Slot(
        practitioner_id=c.practitioner["id"],
        location_id=c.location["id"],
        service_type_id=c.service["id"],
        service_code="99213",
        room="R1",
        start=datetime.fromisoformat(slot["start"]),
        end=datetime.fromisoformat(slot["end"]),
        buffer_before=timedelta(),
        buffer_after=timedelta(),
        time_zone="America/Chicago",
    )
    ghost = Appointment.request("never-saved", "p9", s, datetime.now(UTC))
    old = stale
    assert await uc.booking.claims.acquire(ghost.id, ghost.claims(), uc.booking.book.holds, old) is None
    # Held, and the attempt is stale: no wait. Only this test sweeps (see ORPHAN_CLAIM_SECONDS).
    assert (await c.book(slot["slot_id"])).status_code == 409
    assert await uc.housekeeping.free_orphan_claims() == 1
    r = await c.book(slot["slot_id"])
    assert r.status_code == 201, r.text
    # A saved appointment's attempt is settled, never freed, however old.
    await uc.booking.claims.attempts.insert_one({"_id": r.json()["id"], "claimed_at": old, "claims": {}})
    assert await uc.housekeeping.free_orphan_claims() == 0
    assert await uc.booking.claims.attempts.count_documents({}) == 0
    assert (await c.book(slot["slot_id"], "p2")).status_code == 409


async def test_claims_left_by_a_cancelled_appointment_are_taken_over(scheduling, clinic):
    c, slot = await a_slot(clinic, scheduling)
    appt = (await c.book(slot["slot_id"])).json()
    assert (await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})).status_code == 200
    uc = scheduling._transport.app.state.usecases
    # As if the process died between the cancel commit and the release: the claims are back.
    cancelled = await uc.booking.appointments.repo.get(appt["id"])
    for claim in cancelled.claims():
        await uc.booking.claims.collection(claim.bucket.date()).insert_one(
            {"_id": claim.id, "appointment_id": appt["id"], "claimed_at": datetime.now(UTC)}
        )
    r = await c.book(slot["slot_id"], "p2")
    assert r.status_code == 201, r.text
    claim = next(c for c in cancelled.claims() if c.kind == "practitioner")
    holder = await uc.booking.claims.collection(claim.bucket.date()).find_one({"_id": claim.id})
    assert holder["appointment_id"] == r.json()["id"]
