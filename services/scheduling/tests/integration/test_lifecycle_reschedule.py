"""Atomic reschedule over HTTP, on the real broker and store."""

import asyncio
from datetime import UTC, datetime, timedelta

from caremesh_contracts import AppointmentRescheduled, EligibilityConfirmed
from caremesh_testing import EventCapture, eventually, publish_event, wait_settled


async def booked_at(client, c, namespace, amqp_url, slot: dict, patient: str = "p1") -> dict:
    r = await c.book(slot["slot_id"], patient)
    assert r.status_code == 201, r.text
    appt = r.json()
    await publish_event(
        amqp_url, namespace, EligibilityConfirmed(appointment_id=appt["id"], patient_id=patient, coverage_id="c1")
    )

    async def is_booked():
        return (await client.get(f"/appointments/{appt['id']}")).json()["status"] == "booked"

    await eventually(is_booked, what="booked")
    return appt


async def held_claims(scheduling, appointment_id: str, day) -> set[str]:
    uc = scheduling._transport.app.state.usecases
    return {d["_id"] async for d in uc.booking.claims.collection(day).find({"appointment_id": appointment_id})}


async def test_reschedule_frees_the_old_time_holds_the_new_and_emits_one_event(scheduling, clinic, namespace, amqp_url):
    c = await clinic(scheduling, name="Dr. Move")
    old = await c.first_slot(datetime.now(UTC) + timedelta(days=3))
    new = await c.first_slot(datetime.now(UTC) + timedelta(days=4))
    appt = await booked_at(scheduling, c, namespace, amqp_url, old)
    async with EventCapture(amqp_url, namespace, "scheduling.appointment.rescheduled") as cap:
        r = await scheduling.post(f"/appointments/{appt['id']}/reschedule", json={"slot_id": new["slot_id"]})
        assert r.status_code == 200, r.text
        [event] = await cap.wait_for(AppointmentRescheduled)
        # The same request again changes nothing.
        again = await scheduling.post(f"/appointments/{appt['id']}/reschedule", json={"slot_id": new["slot_id"]})
        assert again.status_code == 200 and again.json()["version"] == r.json()["version"]
        await wait_settled(namespace)
        assert len(cap.ids_of(AppointmentRescheduled)) == 1
    body = r.json()
    assert (body["status"], body["slot_id"], body["start"]) == ("booked", new["slot_id"], new["start"])
    assert body["previous_starts"] == [old["start"]]
    assert event.previous_start == datetime.fromisoformat(old["start"]) and event.status == "booked"
    assert event.practitioner_name == "Dr. Move"
    assert (await c.book(new["slot_id"], "p2")).status_code == 409  # the new time is held
    assert (await c.book(old["slot_id"], "p2")).status_code == 201  # the old one is free


async def test_a_failed_reschedule_leaves_the_old_booking_intact(scheduling, clinic, namespace, amqp_url):
    c = await clinic(scheduling)
    old = await c.first_slot(datetime.now(UTC) + timedelta(days=3))
    other = await c.first_slot(datetime.now(UTC) + timedelta(days=4))
    appt = await booked_at(scheduling, c, namespace, amqp_url, old)
    assert (await c.book(other["slot_id"], "p2")).status_code == 201
    r = await scheduling.post(f"/appointments/{appt['id']}/reschedule", json={"slot_id": other["slot_id"]})
    assert r.status_code == 409 and r.json()["resource"] == "practitioner", r.text
    still = (await scheduling.get(f"/appointments/{appt['id']}")).json()
    assert (still["status"], still["slot_id"], still["version"]) == ("booked", old["slot_id"], appt["version"] + 1)
    assert (await c.book(old["slot_id"], "p3")).status_code == 409
    uc = scheduling._transport.app.state.usecases
    kept = await uc.booking.appointments.repo.get(appt["id"])
    days = {x.bucket.date() for x in kept.claims()} | {datetime.fromisoformat(other["start"]).date()}
    held = set().union(*[await held_claims(scheduling, appt["id"], d) for d in days])
    assert held == {x.id for x in kept.claims()}  # none of the failed move's claims are left
    # Cancelled: nothing to move, a 409 naming both states.
    await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})
    r = await scheduling.post(f"/appointments/{appt['id']}/reschedule", json={"slot_id": other["slot_id"]})
    assert r.status_code == 409 and (r.json()["current"], r.json()["requested"]) == ("cancelled", "rescheduled")


async def test_an_overlapping_move_keeps_exactly_the_new_claims(scheduling, clinic, namespace, amqp_url):
    c = await clinic(scheduling, slot_interval_minutes=15, start="09:00", end="17:00")
    first = await c.first_slot(datetime.now(UTC) + timedelta(days=3))
    later = next(
        s
        for s in await c.slots(**{"from": first["start"][:10], "to": first["start"][:10]})
        if datetime.fromisoformat(s["start"]) == datetime.fromisoformat(first["start"]) + timedelta(minutes=15)
    )
    appt = await booked_at(scheduling, c, namespace, amqp_url, first)
    r = await scheduling.post(f"/appointments/{appt['id']}/reschedule", json={"slot_id": later["slot_id"]})
    assert r.status_code == 200, r.text
    uc = scheduling._transport.app.state.usecases
    moved = await uc.booking.appointments.repo.get(appt["id"])
    day = moved.start.date()
    assert await held_claims(scheduling, appt["id"], day) == {x.id for x in moved.claims() if x.bucket.date() == day}
    assert await uc.booking.claims.attempts.count_documents({}) == 0


async def test_a_crash_on_either_side_of_the_move_leaves_only_the_appointments_claims(
    scheduling, clinic, namespace, amqp_url, stale
):
    c = await clinic(scheduling)
    old = await c.first_slot(datetime.now(UTC) + timedelta(days=3))
    new = await c.first_slot(datetime.now(UTC) + timedelta(days=4))
    appt = await booked_at(scheduling, c, namespace, amqp_url, old)
    uc = scheduling._transport.app.state.usecases
    before = await uc.booking.appointments.repo.get(appt["id"])

    def entry(claims):
        by_day: dict = {}
        for x in claims:
            by_day.setdefault(f"{x.bucket:%Y%m%d}", []).append(x.id)
        return {"_id": appt["id"], "claimed_at": stale, "claims": by_day}

    # Crashed before the commit: the new time's claims and an entry naming both sides.
    moved = before.model_copy(deep=True)
    slot, _ = await uc.calendar.derive_slot(new["slot_id"])
    moved.reschedule(slot, "Dr. Ruth", datetime.now(UTC))
    assert await uc.booking.claims.acquire(appt["id"], moved.claims(), uc.booking.book.holds, datetime.now(UTC)) is None
    await uc.booking.claims.attempts.replace_one({"_id": appt["id"]}, entry(moved.claims() + before.claims()))
    await uc.housekeeping.free_orphan_claims()
    r = await c.book(new["slot_id"], "p2")
    assert r.status_code == 201, r.text  # the new time was freed
    assert (await c.book(old["slot_id"], "p3")).status_code == 409  # the old booking kept its own
    # Crashed after the commit: the old time's claims are still there with the entry.
    other = await c.first_slot(datetime.now(UTC) + timedelta(days=5))
    r = await scheduling.post(f"/appointments/{appt['id']}/reschedule", json={"slot_id": other["slot_id"]})
    assert r.status_code == 200, r.text
    for x in before.claims():
        await uc.booking.claims.collection(x.bucket.date()).insert_one(
            {"_id": x.id, "appointment_id": appt["id"], "claimed_at": stale}
        )
    after = await uc.booking.appointments.repo.get(appt["id"])
    await uc.booking.claims.attempts.replace_one(
        {"_id": appt["id"]}, entry(after.claims() + before.claims()), upsert=True
    )
    await uc.housekeeping.free_orphan_claims()
    assert (await c.book(old["slot_id"], "p3")).status_code == 201
    assert (await c.book(other["slot_id"], "p4")).status_code == 409


async def test_a_reschedule_racing_bookings_for_the_same_time_gives_one_holder(scheduling, clinic, namespace, amqp_url):
    c = await clinic(scheduling)
    old = await c.first_slot(datetime.now(UTC) + timedelta(days=3))
    new = await c.first_slot(datetime.now(UTC) + timedelta(days=4))
    appt = await booked_at(scheduling, c, namespace, amqp_url, old)
    move = scheduling.post(f"/appointments/{appt['id']}/reschedule", json={"slot_id": new["slot_id"]})
    results = await asyncio.gather(move, *(c.book(new["slot_id"], f"r{i}") for i in range(8)))
    assert sorted(r.status_code for r in results) == [200 if results[0].status_code == 200 else 201] + [409] * 8
    now = (await scheduling.get(f"/appointments/{appt['id']}")).json()
    if results[0].status_code == 200:
        assert now["slot_id"] == new["slot_id"]
        assert (await c.book(old["slot_id"], "r9")).status_code == 201
    else:
        assert now["slot_id"] == old["slot_id"] and now["status"] == "booked"
        assert (await c.book(old["slot_id"], "r9")).status_code == 409
