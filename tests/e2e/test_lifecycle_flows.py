"""The appointment lifecycle across services, as separate processes over the real broker:
a reschedule that notifications tells the patient about, and a visit that waits on a prior
authorization until a coordinator records the payer's approval in insurance."""

from datetime import date, timedelta

import pytest

from caremesh_testing import eventually

pytestmark = pytest.mark.e2e


async def test_reschedule_moves_the_visit_and_the_patient_hears_it_moved(suite):
    patient_id, email = await suite.new_patient("Rhea")
    await suite.cover(patient_id, ["99213"])
    first, second = await suite.slots(2, interval=60)
    r = await suite.request(patient_id, first)
    assert r.status_code == 201, r.text
    appointment_id = r.json()["id"]
    assert await suite.settled_status(appointment_id) == "booked"
    r = await suite.scheduling.post(f"/appointments/{appointment_id}/reschedule", json={"slot_id": second})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["slot_id"]) == ("booked", second)
    # The old time is free, the new one held.
    other, _ = await suite.new_patient("Otto")
    assert (await suite.request(other, second)).status_code == 409
    assert (await suite.request(other, first)).status_code == 201

    async def moved_email():
        r = await suite.notifications.get("/messages", params={"patient_id": patient_id})
        sent = [m for m in r.json() if m["template"] == "appointment.rescheduled" and m["status"] == "sent"]
        return sent or None

    [message] = await eventually(moved_email, timeout=60, what="the appointment-moved message")
    assert message["appointment_id"] == appointment_id and message["channel"] == "email"
    mails = await suite.mailbox(email, 2)
    assert any(m["Subject"] == "Your appointment has moved" for m in mails)


async def test_a_visit_waits_on_authorization_until_the_payer_approves(suite):
    patient_id, _ = await suite.new_patient("Ines")
    await suite.cover_plan(patient_id, [{"code": "99213", "prior_authorization": True}])
    [slot] = await suite.slots(1)
    r = await suite.request(patient_id, slot)
    assert r.status_code == 201, r.text
    appointment_id = r.json()["id"]
    waiting = await suite.settled_status(appointment_id)
    assert waiting == "waiting_on_authorization"
    appt = (await suite.scheduling.get(f"/appointments/{appointment_id}")).json()
    listed = (await suite.scheduling.get("/worklists/appointments/insurance")).json()
    assert appointment_id in [a["id"] for a in listed]

    # The coordinator works the authorization in insurance.
    auth = (await suite.insurance.get(f"/authorizations/{appt['authorization_id']}")).json()
    assert auth["patient_id"] == patient_id
    base = f"/authorizations/{auth['id']}"
    for step, body in (
        ("draft", {}),
        ("submit", {"priority": "standard", "units_requested": 4, "diagnosis_codes": ["M54.50"]}),
        (
            "approve",
            {
                "authorization_number": "E2E-1",
                "approved_units": 4,
                "valid_from": str(date.today()),
                "valid_to": str(date.today() + timedelta(days=90)),
            },
        ),
    ):
        r = await suite.insurance.post(f"{base}/{step}", json=body)
        assert r.status_code == 200, f"{step}: {r.text}"

    async def booked():
        return await suite.status(appointment_id) == "booked"

    await eventually(booked, timeout=60, what="booked after the approval")
    appt = (await suite.scheduling.get(f"/appointments/{appointment_id}")).json()
    assert (appt["needs_action"], appt["hold_expires_at"], appt["payment"]) == (None, None, "insurance")
