"""Closed-loop referrals over HTTP, on the real broker and store."""

import asyncio
from datetime import UTC, datetime, timedelta

from caremesh_contracts import EligibilityConfirmed
from caremesh_contracts.referrals import ReferralClosed, ReferralOverdue, ReferralScheduled
from caremesh_kit.codes import ICD10CM
from caremesh_scheduling.app import build
from caremesh_scheduling.settings import SchedulingSettings
from caremesh_testing import EventCapture, bearer, eventually, publish_event, running, service_settings


def referral(patient: str = "p1", **kw) -> dict:
    return {
        "patient_id": patient,
        "service_code": "99213",
        "referring": {"name": "Dr. Refer", "npi": "1234567893", "reference": "REF-77"},
        "reasons": [{"system": ICD10CM, "code": "M54.5", "display": "Low back pain"}],
        "attachments": [{"url": "https://clinic.example.org/docs/42"}],
    } | kw


async def confirm(client, namespace, amqp_url, appt: dict) -> None:
    await publish_event(
        amqp_url,
        namespace,
        EligibilityConfirmed(appointment_id=appt["id"], patient_id=appt["patient_id"], coverage_id="c1"),
    )

    async def booked():
        return (await client.get(f"/appointments/{appt['id']}")).json()["status"] == "booked"

    await eventually(booked, what="booked")


async def test_the_loop_closes_when_the_linked_visit_is_fulfilled(scheduling, clinic, namespace, amqp_url):
    c = await clinic(scheduling, name="Dr. Loop")
    r = await scheduling.post("/referrals", json=referral(), headers=bearer("service", subject="ehr-partner"))
    assert r.status_code == 201, r.text
    ref = r.json()
    assert ref["status"] == "received" and ref["history"][0]["by"] == "ehr-partner"
    assert (await scheduling.post(f"/referrals/{ref['id']}/accept")).json()["status"] == "accepted"
    slot = await c.first_slot(datetime.now(UTC) + timedelta(minutes=30))
    async with EventCapture(amqp_url, namespace, "scheduling.referral.*") as cap:
        r = await scheduling.post(f"/referrals/{ref['id']}/appointments", json={"slot_id": slot["slot_id"]})
        assert r.status_code == 201, r.text
        appt = r.json()["appointment"]
        assert r.json()["referral"]["status"] == "scheduled" and r.json()["referral"]["appointment_id"] == appt["id"]
        [scheduled] = await cap.wait_for(ReferralScheduled)
        await confirm(scheduling, namespace, amqp_url, appt)
        assert (await scheduling.post(f"/appointments/{appt['id']}/check-in")).status_code == 200
        assert (await scheduling.post(f"/appointments/{appt['id']}/complete")).status_code == 200
        [closed] = await cap.wait_for(ReferralClosed)
    assert scheduled.appointment_id == appt["id"]
    assert (closed.outcome, closed.referring_reference, closed.appointment_id) == ("completed", "REF-77", appt["id"])
    assert closed.seen_on is not None

    async def is_closed():
        return (await scheduling.get(f"/referrals/{ref['id']}")).json()["status"] == "closed"

    await eventually(is_closed, what="referral closed")


async def test_a_cancelled_visit_unlinks_and_the_referral_waits_again(scheduling, clinic, namespace, amqp_url):
    c = await clinic(scheduling, name="Dr. Again")
    ref = (await scheduling.post("/referrals", json=referral("p7"))).json()
    slot = await c.first_slot(datetime.now(UTC) + timedelta(days=2))
    appt = (await scheduling.post("/appointments", json={"patient_id": "p7", "slot_id": slot["slot_id"]})).json()
    # Another patient's appointment may not be linked.
    other = await c.first_slot(datetime.now(UTC) + timedelta(days=3))
    theirs = (await scheduling.post("/appointments", json={"patient_id": "p8", "slot_id": other["slot_id"]})).json()
    r = await scheduling.post(f"/referrals/{ref['id']}/link", json={"appointment_id": theirs["id"]})
    assert r.status_code == 422 and r.json()["field"] == "appointment_id", r.text
    r = await scheduling.post(f"/referrals/{ref['id']}/link", json={"appointment_id": appt["id"]})
    assert r.json()["status"] == "scheduled"
    await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})

    async def waiting_again():
        body = (await scheduling.get(f"/referrals/{ref['id']}")).json()
        return body if body["status"] == "accepted" and body["appointment_id"] is None else None

    await eventually(waiting_again, what="referral unlinked")
    page = (await scheduling.get("/worklists/referrals", params={"service_code": "99213"})).json()
    assert ref["id"] in [i["id"] for i in page["items"]]


async def test_overdue_is_reported_once_with_two_replicas(namespace, amqp_url, clinic):
    settings = service_settings(
        SchedulingSettings, namespace, referral_overdue_seconds=1, referral_waitlist_sweep_seconds=0.1
    )
    async with running(build(settings)) as one, running(build(settings.model_copy())) as two:
        async with EventCapture(amqp_url, namespace, "scheduling.referral.overdue") as cap:
            ids = [(await one.post("/referrals", json=referral(f"p{i}"))).json()["id"] for i in range(3)]
            await eventually(lambda: len(cap.distinct(ReferralOverdue)) >= 3, what="3 overdue referrals")
            await asyncio.sleep(1.5)  # both replicas keep sweeping
            # Delivery is at least once (either replica's outbox scan may publish a commit again):
            # a report is an event id.
            events = cap.distinct(ReferralOverdue)
        assert sorted(e.referral_id for e in events) == sorted(ids)
        page = (await two.get("/worklists/referrals", params={"overdue": "true"})).json()
        assert sorted(i["id"] for i in page["items"]) == sorted(ids) and page["total"] == 3
        assert all(i["overdue"] for i in page["items"])
        # Rejecting closes it for the referring provider.
        r = await two.post(f"/referrals/{ids[0]}/reject", json={"reason": "not our specialty"})
        assert r.json()["status"] == "closed" and r.json()["rejection_reason"] == "not our specialty"
        assert (await two.get("/worklists/referrals", params={"overdue": "true"})).json()["total"] == 2


async def test_who_may_send_read_and_withdraw_referrals(scheduling):
    patient = bearer("patient", subject="p9-user", patient_id="p9")
    assert (await scheduling.post("/referrals", json=referral("p9"), headers=patient)).status_code == 403
    r = await scheduling.post(
        "/referrals", json=referral("p9", reasons=[{"system": ICD10CM, "code": "not-a-code", "display": "x"}])
    )
    assert r.status_code == 422 and r.json()["field"] == "reasons[0].code"
    ref = (await scheduling.post("/referrals", json=referral("p9"), headers=bearer("service"))).json()
    assert (await scheduling.get(f"/referrals/{ref['id']}", headers=patient)).status_code == 200
    other = bearer("patient", subject="eve", patient_id="p10")
    assert (await scheduling.get(f"/referrals/{ref['id']}", headers=other)).status_code == 403
    assert (await scheduling.get("/referrals", params={"patient_id": "p9"}, headers=patient)).json()["total"] == 1
    r = await scheduling.post(
        f"/referrals/{ref['id']}/withdraw", json={"note": "seen elsewhere"}, headers=bearer("service")
    )
    assert r.json()["status"] == "closed" and r.json()["history"][-1]["note"] == "seen elsewhere"
    r = await scheduling.post(f"/referrals/{ref['id']}/accept")
    assert r.status_code == 409 and (r.json()["current"], r.json()["requested"]) == ("closed", "accepted")
