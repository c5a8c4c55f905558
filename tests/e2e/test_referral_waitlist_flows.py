"""Across the four services: a cancellation offered to the waitlist by email and booked through the
link, and a referral whose visit is fulfilled closing the loop."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import httpx

from caremesh_kit.codes import ICD10CM
from caremesh_testing import MAILPIT, eventually, mailbox_with


async def email_text(address: str, subject: str) -> str:
    async def found():
        for m in await mailbox_with(address, 1) or []:
            if m["Subject"] == subject:
                return m
        return None

    message = await eventually(found, timeout=60, what=f"'{subject}' to {address}")
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.get(f"{MAILPIT}/api/v1/message/{message['ID']}")
        r.raise_for_status()
        return r.json()["Text"]


async def test_a_cancellation_reaches_the_waitlist_by_email_and_the_link_books_it(suite):
    first, _ = await suite.new_patient("Ann")
    waiting, email = await suite.new_patient("Wim")
    for patient in (first, waiting):
        await suite.cover(patient, ["99213"])
    [slot_id] = await suite.slots(1, starts_in=timedelta(days=3))
    appt = (await suite.request(first, slot_id)).json()
    assert await suite.settled_status(appt["id"]) == "booked"
    practitioner_id = (await suite.scheduling.get(f"/appointments/{appt['id']}")).json()["practitioner_id"]
    r = await suite.scheduling.post(
        "/waitlist", json={"patient_id": waiting, "service_code": "99213", "practitioner_id": practitioner_id}
    )
    assert r.status_code == 201, r.text
    entry = r.json()
    r = await suite.scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})
    assert r.status_code == 200, r.text

    text = await email_text(email, "An earlier appointment is available")
    accept = re.search(r"To take it: (\S+)", text).group(1)
    link = urlsplit(accept)
    assert link.path.endswith("/accept") and "token=" in link.query
    # The link names scheduling's public URL; the suite runs it on another port.
    # Opening the link (as a mail scanner would) books nothing; the page's button POSTs it.
    r = await suite.scheduling.get(f"{link.path}?{link.query}", headers={"Authorization": ""})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "open"
    r = await suite.scheduling.post(f"{link.path}?{link.query}", headers={"Authorization": ""})
    assert r.status_code == 200, r.text
    booked = (await suite.scheduling.get(f"/appointments/{r.json()['appointment_id']}")).json()
    assert (booked["patient_id"], booked["slot_id"]) == (waiting, slot_id)
    assert (await suite.scheduling.get(f"/waitlist/{entry['id']}")).json()["status"] == "booked"


async def test_a_referral_closes_when_its_visit_is_fulfilled(suite):
    patient, _ = await suite.new_patient("Rita")
    await suite.cover(patient, ["99213"])
    r = await suite.scheduling.post(
        "/referrals",
        json={
            "patient_id": patient,
            "service_code": "99213",
            "priority": "urgent",
            "referring": {"name": "Dr. Refer", "reference": "REF-E2E"},
            "reasons": [{"system": ICD10CM, "code": "M54.5", "display": "Low back pain"}],
        },
    )
    assert r.status_code == 201, r.text
    referral = r.json()
    [slot_id] = await suite.slots(1, starts_in=timedelta(minutes=40))

    async def booked_for_referral():
        # The coverage reaches scheduling by event; until then insurance may not have it either.
        r = await suite.scheduling.post(f"/referrals/{referral['id']}/appointments", json={"slot_id": slot_id})
        return r.json()["appointment"] if r.status_code == 201 else None

    appt = await eventually(booked_for_referral, timeout=30, what="booked for the referral")
    assert await suite.settled_status(appt["id"]) == "booked"
    assert (await suite.scheduling.post(f"/appointments/{appt['id']}/check-in")).status_code == 200
    assert (await suite.scheduling.post(f"/appointments/{appt['id']}/complete")).status_code == 200

    async def closed():
        body = (await suite.scheduling.get(f"/referrals/{referral['id']}")).json()
        return body if body["status"] == "closed" else None

    body = await eventually(closed, timeout=30, what="referral closed")
    assert [h["status"] for h in body["history"]] == ["received", "scheduled", "completed", "closed"]
