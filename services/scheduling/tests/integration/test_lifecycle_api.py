"""The appointment lifecycle over HTTP, on the real broker and store."""

from datetime import UTC, datetime, timedelta

from caremesh_contracts import (
    AppointmentArrived,
    AppointmentCancelled,
    AppointmentFulfilled,
    EligibilityConfirmed,
)
from caremesh_testing import EventCapture, bearer, eventually, publish_event


async def booked(client, clinic, namespace, amqp_url, starts_in: timedelta, patient: str = "p1") -> dict:
    c = await clinic(client, name="Dr. Kim")
    slot = await c.first_slot(datetime.now(UTC) + starts_in)
    appt = (await c.book(slot["slot_id"], patient)).json()
    await publish_event(
        amqp_url, namespace, EligibilityConfirmed(appointment_id=appt["id"], patient_id=patient, coverage_id="c1")
    )

    async def is_booked():
        return (await client.get(f"/appointments/{appt['id']}")).json()["status"] == "booked"

    await eventually(is_booked, what="booked")
    return appt


async def test_cancelling_frees_the_slot_and_flags_a_late_cancel(scheduling, clinic, namespace, amqp_url):
    appt = await booked(scheduling, clinic, namespace, amqp_url, timedelta(hours=3))
    async with EventCapture(amqp_url, namespace, "scheduling.appointment.cancelled") as cap:
        r = await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat-lt", "note": "bus"})
        assert r.status_code == 200, r.text
        [event] = await cap.wait_for(AppointmentCancelled)
    assert event.late is True and event.reason_code == "pat-lt"
    body = r.json()
    assert body["status"] == "cancelled" and body["cancellation"]["by"] == "test-user"
    # The time is free again.
    again = await scheduling.post("/appointments", json={"patient_id": "p2", "slot_id": appt["slot_id"]})
    assert again.status_code == 201
    # Completing a cancelled appointment is a 409 naming both states.
    r = await scheduling.post(f"/appointments/{appt['id']}/complete")
    assert r.status_code == 409
    assert (r.json()["current"], r.json()["requested"]) == ("cancelled", "fulfilled")


async def test_check_in_then_complete_emits_arrived_and_fulfilled(scheduling, clinic, namespace, amqp_url):
    appt = await booked(scheduling, clinic, namespace, amqp_url, timedelta(minutes=30))
    async with EventCapture(amqp_url, namespace, "scheduling.appointment.*") as cap:
        assert (await scheduling.post(f"/appointments/{appt['id']}/check-in")).json()["status"] == "arrived"
        done = await scheduling.post(f"/appointments/{appt['id']}/complete", headers=bearer("clinician"))
        assert done.json()["status"] == "fulfilled"
        [arrived] = await cap.wait_for(AppointmentArrived)
        [fulfilled] = await cap.wait_for(AppointmentFulfilled)
    assert arrived.appointment_id == fulfilled.appointment_id == appt["id"]
    assert fulfilled.practitioner_name == "Dr. Kim" and fulfilled.service_code == "99213"


async def test_patients_cancel_only_their_own(scheduling, clinic, namespace, amqp_url):
    appt = await booked(scheduling, clinic, namespace, amqp_url, timedelta(days=3), patient="pat-9")
    other = bearer("patient", subject="eve", patient_id="someone-else")
    r = await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"}, headers=other)
    assert r.status_code == 403
    own = bearer("patient", subject="pat-9-user", patient_id="pat-9")
    r = await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"}, headers=own)
    assert r.status_code == 200 and r.json()["cancellation"] == {
        "reason_code": "pat",
        "by": "pat-9-user",
        "by_role": "patient",
        "at": r.json()["cancellation"]["at"],
        "late": False,
        "note": None,
    }
    # Patients may not check in or complete.
    assert (await scheduling.post(f"/appointments/{appt['id']}/check-in", headers=own)).status_code == 403


async def test_unknown_cancel_reason_names_the_field(scheduling, clinic, namespace, amqp_url):
    appt = await booked(scheduling, clinic, namespace, amqp_url, timedelta(days=3))
    r = await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "bored"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason_code"
