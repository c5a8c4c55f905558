"""The rest of the journey on the real broker, store and Mailpit: waitlist offers with working links,
authorization outcomes by consent, the survey answered once, the care team's own messages and the
patient's message history."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from caremesh_contracts import (
    AppointmentFulfilled,
    AuthorizationApproved,
    AuthorizationDenied,
    AuthorizationRequired,
    ConsentChanged,
    PatientRegistered,
    RelatedPersonAdded,
    SurveyCompleted,
    WaitlistEntryOffered,
)
from caremesh_kit import links
from caremesh_notifications.app import build
from caremesh_notifications.settings import NotificationsSettings
from caremesh_testing import (
    MAILPIT,
    EventCapture,
    bearer,
    eventually,
    mailbox,
    publish_event,
    running,
    service_settings,
    wait_settled,
)

SCHEDULING = "https://scheduling.test"
GOOD = {"overall": 5, "communication": 4, "waiting": 2, "recommend": 9}


@pytest.fixture
async def service(namespace):
    settings = service_settings(
        NotificationsSettings,
        namespace,
        reminder_policy="default=",
        scheduling_public_url=SCHEDULING,
        public_url="https://notifications.test",
    )
    async with running(build(settings)) as client:
        yield client


def state(client: httpx.AsyncClient):
    return client._transport.app.state


async def household(client, amqp_url, namespace, daughter_consent: list[str], son_consent: list[str]):
    """A patient, a daughter and a son, each with their own consent (and email)."""
    pid = str(uuid.uuid4())
    p = PatientRegistered(
        patient_id=pid, given_name="Grace", email=f"grace-{pid[:8]}@example.org", time_zone="America/New_York"
    )
    kids = [
        RelatedPersonAdded(
            related_person_id=str(uuid.uuid4()),
            patient_id=pid,
            given_name=name,
            relationship=rel,
            email=f"{name.lower()}-{pid[:8]}@example.org",
            time_zone="UTC",
        )
        for name, rel in (("Ruth", "DAU"), ("Tom", "SON"))
    ]
    for e in (p, *kids):
        await publish_event(amqp_url, namespace, e)
    for kid, categories in zip(kids, (daughter_consent, son_consent), strict=True):
        await publish_event(
            amqp_url,
            namespace,
            ConsentChanged(
                related_person_id=kid.related_person_id,
                patient_id=pid,
                categories=categories,
                changed_at=datetime(2026, 1, 1, tzinfo=UTC),
            ),
        )
    uc = state(client).usecases

    async def stored():
        members = [await uc.recipients.family.find(k.related_person_id) for k in kids]
        return await uc.recipients.contacts.find(pid) and all(m and m.consent_changed_at for m in members)

    await eventually(stored, what="the household stored")
    return p, kids[0], kids[1]


async def full_text(address: str, subject: str) -> str:
    [m] = [m for m in await mailbox(address) if m["Subject"] == subject]
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.get(f"{MAILPIT}/api/v1/message/{m['ID']}")).json()["Text"]


async def with_subject(address: str, subject: str) -> list[dict]:
    return [m for m in await mailbox(address) if m["Subject"] == subject]


def link(text: str, prefix: str) -> str:
    return next(w for w in text.split() if w.startswith(prefix))


async def test_a_waitlist_offer_links_to_scheduling_with_tokens_that_check_out(service, amqp_url, namespace):
    p, _, _ = await household(service, amqp_url, namespace, [], [])
    start = datetime(2030, 2, 1, 15, tzinfo=UTC)
    expires = datetime.now(UTC) + timedelta(hours=6)
    offer = WaitlistEntryOffered(
        entry_id="w-1",
        patient_id=p.patient_id,
        service_code="97110",
        offer_id=str(uuid.uuid4()),
        practitioner_id="pr",
        practitioner_name="Dr. Lovelace",
        start=start,
        end=start + timedelta(minutes=30),
        expires_at=expires,
    )
    await publish_event(amqp_url, namespace, offer)
    subject = "An earlier appointment is available"
    await eventually(lambda: with_subject(p.email, subject), what="the offer email")
    text = await full_text(p.email, subject)
    assert "Friday 01 February 2030 at 10:00 EST" in text and "97110" not in text
    assert "opens a page where you confirm" in text  # following a link changes nothing (scheduling)
    secret, now = state(service).settings.offer_link_secret, datetime.now(UTC)
    for action in links.OfferAction:
        url = urlsplit(link(text, f"{SCHEDULING}/waitlist/offers/{offer.offer_id}/{action.value}?token="))
        token = url.query.removeprefix("token=")
        assert links.verify_offer(secret, offer.offer_id, action, token, now)
        assert not links.verify_offer(secret, offer.offer_id, action, token, expires)  # lapses with the offer
    accept = urlsplit(link(text, f"{SCHEDULING}/waitlist/offers/{offer.offer_id}/accept?token="))
    assert not links.verify_offer(secret, offer.offer_id, "decline", accept.query[6:], now)  # one action each

    # An offer that lapsed before we heard of it is not sent.
    late = offer.model_copy(update={"offer_id": str(uuid.uuid4()), "expires_at": now - timedelta(minutes=1)})
    await publish_event(amqp_url, namespace, late)
    await wait_settled(namespace)
    assert len(await with_subject(p.email, subject)) == 1


async def test_authorization_outcomes_reach_the_patient_and_family_with_insurance_consent(service, amqp_url, namespace):
    p, ruth, tom = await household(service, amqp_url, namespace, ["insurance"], ["appointments"])
    base = {"authorization_id": "auth-1", "patient_id": p.patient_id, "appointment_id": "ap-1", "service_code": "97110"}
    await publish_event(amqp_url, namespace, AuthorizationRequired(**base, coverage_id="cov-1"))
    approved = AuthorizationApproved(
        **base,
        partial=True,
        authorization_number="PA-77",
        approved_units=4,
        valid_from=datetime(2030, 1, 1).date(),
        valid_to=datetime(2030, 3, 31).date(),
    )
    eid = await publish_event(amqp_url, namespace, approved)
    await publish_event(amqp_url, namespace, approved, event_id=eid)  # delivered twice: told once
    # The same decision raised again for a second appointment that waited on it: still told once.
    await publish_event(amqp_url, namespace, approved.model_copy(update={"appointment_id": "ap-2"}))
    await publish_event(
        amqp_url,
        namespace,
        AuthorizationDenied(
            **(base | {"authorization_id": "auth-2"}),
            reason_code="N386",
            reason="Your plan covers this only after physical therapy has been tried.",
            appealable=True,
        ),
    )
    patient_subjects = {
        "Your health plan needs to approve a service",
        "Your health plan approved part of your care",
        "Your health plan did not approve a service",
    }

    async def all_three():
        found = {m["Subject"] for m in await mailbox(p.email)}
        return found if found >= patient_subjects else None

    await eventually(all_three, what="three emails to the patient")
    await eventually(
        lambda: with_subject(ruth.email, "Grace's health plan did not approve a service"),
        what="the daughter's denial email",
    )
    await wait_settled(namespace)
    assert len(await mailbox(p.email)) == 3
    assert sorted(m["Subject"] for m in await mailbox(ruth.email)) == [
        "Grace's health plan approved part of their care",
        "Grace's health plan did not approve a service",
    ]
    assert await mailbox(tom.email) == []  # appointments consent does not cover insurance
    denial = await full_text(p.email, "Your health plan did not approve a service")
    assert "only after physical therapy" in denial and "You can appeal" in denial and "N386" not in denial
    approval = await full_text(p.email, "Your health plan approved part of your care")
    assert "up to 4 visits or sessions from 1 January 2030 to 31 March 2030" in approval and "PA-77" in approval


async def test_a_fulfilled_visit_brings_a_survey_answered_once(service, amqp_url, namespace):
    p, ruth, _ = await household(service, amqp_url, namespace, ["appointments"], [])
    start = datetime.now(UTC) - timedelta(hours=1)
    visit = AppointmentFulfilled(
        appointment_id=str(uuid.uuid4()),
        patient_id=p.patient_id,
        practitioner_id="pr-9",
        practitioner_name="Dr. Lovelace",
        service_code="99213",
        start=start,
        end=start + timedelta(minutes=30),
        completed_at=start + timedelta(minutes=30),
    )
    async with EventCapture(amqp_url, namespace, "notifications.survey.#") as cap:
        await publish_event(amqp_url, namespace, visit)
        await eventually(lambda: with_subject(p.email, "How was your visit?"), what="the survey invitation")
        url = urlsplit(link(await full_text(p.email, "How was your visit?"), "https://notifications.test/surveys/"))
        anonymous = {"Authorization": ""}  # the link is the key: no bearer token
        survey = await service.get(url.path, params={"token": url.query[6:]}, headers=anonymous)
        assert survey.status_code == 200, survey.text
        assert survey.json()["status"] == "open" and len(survey.json()["questions"]) == 5
        forged = await service.get(url.path, params={"token": url.query[6:-2] + "xx"}, headers=anonymous)
        assert forged.status_code == 403

        answers = {"scores": GOOD, "comment": "My knee still hurts but the nurse was kind."}
        first = await service.post(url.path, params={"token": url.query[6:]}, json=answers, headers=anonymous)
        assert first.status_code == 201, first.text
        again = await service.post(url.path, params={"token": url.query[6:]}, json=answers, headers=anonymous)
        assert again.status_code == 409
        bad = await service.post(
            url.path, params={"token": url.query[6:]}, json={"scores": {"overall": 9}}, headers=anonymous
        )
        assert bad.status_code in (409, 422)
        [done] = await cap.wait_for(SurveyCompleted)
        await wait_settled(namespace)
        await _a_moment()
        assert len({(m.headers or {}).get("ce-id") for m in cap.messages}) == 1  # one event (a relay may repeat it)
        raw = [m.body for m in cap.messages]
    assert (done.appointment_id, done.patient_id, done.practitioner_id, done.service_code, done.scores) == (
        visit.appointment_id,
        p.patient_id,
        "pr-9",
        "99213",
        GOOD,
    )
    assert all(b"knee" not in body for body in raw)  # free text stays here
    assert await with_subject(ruth.email, "How was your visit?") == []  # the survey is the patient's
    trail = (await service.get("/audit", params={"patient_id": p.patient_id}, headers=bearer("admin"))).json()
    assert {(e["actor"], e["action"], e["resource_type"]) for e in trail} >= {
        ("survey-link", "read", "Survey"),
        ("survey-link", "create", "Survey"),
    }


async def _a_moment() -> None:
    await asyncio.sleep(1)  # the relay's scan would publish a second event by now, if there were one


async def test_coordinators_message_patient_and_consenting_family_and_see_the_history(service, amqp_url, namespace):
    p, ruth, tom = await household(service, amqp_url, namespace, ["care_plan"], ["appointments"])
    body = {
        "category": "care_plan",
        "subject": "Your new exercise plan",
        "to_family": True,
        "text": "Your physiotherapist has added two exercises to your plan; details at your next visit.",
        "short_text": "Your care plan has changed.",
    }
    clinician = await service.post(f"/patients/{p.patient_id}/messages", json=body, headers=bearer("clinician"))
    assert clinician.status_code == 403
    r = await service.post(f"/patients/{p.patient_id}/messages", json=body)
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["left_out"] == {"no_consent": 1}  # the son's consent covers appointments, not the care plan
    assert sorted(m["recipient_id"] or "patient" for m in sent["messages"]) == sorted(
        ["patient", ruth.related_person_id]
    )
    assert {m["sent_by"] for m in sent["messages"]} == {"test-user"}
    assert {m["template"] for m in sent["messages"]} == {"care_team.message", "family.care_team.message"}
    await eventually(lambda: with_subject(ruth.email, "Your new exercise plan"), what="the daughter's email")
    assert "A message from Grace's care team:" in await full_text(ruth.email, "Your new exercise plan")
    assert await mailbox(tom.email) == []

    # Only the daughter, by id; a stranger's id is refused.
    only = await service.post(
        f"/patients/{p.patient_id}/messages",
        json=body | {"to_patient": False, "related_person_ids": [ruth.related_person_id]},
    )
    assert only.status_code == 201 and [m["recipient_id"] for m in only.json()["messages"]] == [ruth.related_person_id]
    stranger = await service.post(
        f"/patients/{p.patient_id}/messages", json=body | {"related_person_ids": [str(uuid.uuid4())]}
    )
    assert stranger.status_code == 404

    # The history, newest first, a page at a time, audited.
    first = (await service.get(f"/patients/{p.patient_id}/messages", params={"limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    rest = (await service.get(f"/patients/{p.patient_id}/messages", params={"offset": 2, "limit": 2})).json()
    assert len(rest["items"]) == 1 and rest["next_offset"] is None
    ids = [m["id"] for m in first["items"] + rest["items"]]
    assert len(set(ids)) == 3
    assert first["items"][0]["created_at"] >= rest["items"][0]["created_at"]
    mine = bearer("patient", subject="grace", patient_id=p.patient_id)
    assert (await service.get(f"/patients/{p.patient_id}/messages", headers=mine)).status_code == 200
    other = bearer("patient", subject="eve", patient_id="someone-else")
    assert (await service.get(f"/patients/{p.patient_id}/messages", headers=other)).status_code == 403
    trail = (await service.get("/audit", params={"patient_id": p.patient_id}, headers=bearer("admin"))).json()
    seen = {(e["actor"], e["action"], e["resource_type"], e["allowed"]) for e in trail}
    assert {
        ("test-user", "create", "Communication", True),
        ("test-user", "read", "Message", True),
        ("grace", "read", "Message", True),
        ("eve", "read", "Message", False),
    } <= seen
