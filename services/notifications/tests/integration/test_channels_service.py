"""SMS, the app webhook and fallback on the real broker, store and Mailpit, against local HTTP servers."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    ConsentChanged,
    MessageSent,
    PatientRegistered,
    RelatedPersonAdded,
)
from caremesh_kit import webhooks
from caremesh_kit.bus import QUEUE_HEADER, REASON_HEADER, Names
from caremesh_notifications.adapters.sms import signature
from caremesh_notifications.app import build
from caremesh_testing import (
    MAILPIT,
    EventCapture,
    bearer,
    delete_namespace,
    drain_queue,
    eventually,
    mailbox,
    publish_event,
    running,
    wait_settled,
)

pytestmark = pytest.mark.usefixtures("channels_service")


def patient(email: bool = True, phone: bool = True, time_zone: str = "America/New_York") -> PatientRegistered:
    pid = str(uuid.uuid4())
    return PatientRegistered(
        patient_id=pid,
        given_name="Grace",
        email=f"grace-{pid[:8]}@example.org" if email else None,
        phone=f"+1555{uuid.uuid4().int % 10**7:07d}" if phone else None,
        time_zone=time_zone,
    )


def booked(patient_id: str) -> AppointmentBooked:
    start = datetime(2030, 1, 15, 14, 30, tzinfo=UTC)
    return AppointmentBooked(
        appointment_id=str(uuid.uuid4()),
        patient_id=patient_id,
        practitioner_id="pr",
        practitioner_name="Dr. Lovelace",
        service_code="99213",
        start=start,
        end=start + timedelta(minutes=30),
    )


async def registered(client: httpx.AsyncClient, amqp_url: str, namespace: str, p: PatientRegistered, **prefs) -> None:
    await publish_event(amqp_url, namespace, p)
    uc = client._transport.app.state.usecases
    await eventually(lambda: uc.recipients.contacts.find(p.patient_id), what="contact stored")
    if prefs:
        r = await client.put(f"/patients/{p.patient_id}/preferences", json=prefs)
        assert r.status_code == 200, r.text


async def messages(client: httpx.AsyncClient, patient_id: str) -> list[dict]:
    return (await client.get("/messages", params={"patient_id": patient_id})).json()


def sms_to(server, phone: str) -> list:
    return [r for r in server.requests if r.form().get("To") == phone]


def settings(client: httpx.AsyncClient):
    return client._transport.app.state.settings


async def callback(
    client: httpx.AsyncClient, request, status: str, sid: str, token: str | None = None, **extra: str
) -> httpx.Response:
    """What the provider does later: POST the status, signed, to the StatusCallback it was given."""
    s = settings(client)
    url = request.form()["StatusCallback"]
    form = {
        "AccountSid": s.sms_account_sid,
        "MessageSid": sid,
        "MessageStatus": status,
        "To": request.form()["To"],
        "From": s.sms_from,
    } | extra
    path = url.removeprefix(s.sms_status_callback_url.removesuffix("/callbacks/sms/status"))
    sig = signature(token or s.sms_auth_token, url, form)
    return await client.post(path, data=form, headers={"X-Twilio-Signature": sig})


async def test_sms_carries_the_provider_id_and_its_callback_marks_it_delivered(
    channels_service, sms_provider, amqp_url, namespace
):
    p = patient()
    await registered(channels_service, amqp_url, namespace, p, channels=["sms", "email"])
    await publish_event(amqp_url, namespace, booked(p.patient_id))
    [req] = await eventually(lambda: sms_to(sms_provider, p.phone), what="the SMS at the provider")
    assert req.form()["From"] == settings(channels_service).sms_from
    assert req.form()["Body"].startswith("Hi Grace, your appointment on Tuesday 15 January 2030 at 09:30 EST")
    assert "Lovelace" not in req.form()["Body"] and "99213" not in req.form()["Body"]

    async def recorded_sent():
        ms = await messages(channels_service, p.patient_id)
        return ms if ms and ms[0]["status"] == "sent" else None

    [m] = await eventually(recorded_sent, what="the SMS recorded as sent")
    assert (m["channel"], m["template"], m["template_version"], m["provider_status"]) == (
        "sms",
        "appointment.booked",
        1,
        "queued",
    )
    assert m["provider_message_id"].startswith("SM")
    assert req.form()["StatusCallback"].endswith(f"?message_id={m['id']}")

    # A forged report is refused; the provider's signed one moves the message to delivered.
    forged = await callback(channels_service, req, "failed", token="not-the-token", sid=m["provider_message_id"])
    assert forged.status_code == 403
    assert (await callback(channels_service, req, "sent", sid=m["provider_message_id"])).status_code == 204
    assert (await callback(channels_service, req, "delivered", sid=m["provider_message_id"])).status_code == 204
    got = (await channels_service.get(f"/messages/{m['id']}")).json()
    assert (got["status"], got["provider_status"], got["delivered_at"] is not None) == ("delivered", "delivered", True)
    assert await mailbox(p.email) == []  # one channel was enough
    trail = (await channels_service.get("/audit", params={"patient_id": p.patient_id}, headers=bearer("admin"))).json()
    assert {(e["actor"], e["resource_type"], e["resource_id"]) for e in trail} >= {("sms-provider", "Message", m["id"])}


async def test_sms_refused_falls_back_to_email(channels_service, sms_provider, amqp_url, namespace):
    p = patient()
    await registered(channels_service, amqp_url, namespace, p, channels=["sms", "email"])
    sms_provider.fail(400, {"code": 21211, "message": "invalid To", "status": 400})
    async with EventCapture(amqp_url, namespace, "notifications.#") as cap:
        await publish_event(amqp_url, namespace, booked(p.patient_id))
        [mail] = await eventually(lambda: mailbox(p.email), what="the email fallback")
        [sent] = await cap.wait_for(MessageSent)
    assert mail["Subject"] == "Your appointment is confirmed" and sent.channel == "email"
    await wait_settled(namespace)
    by_channel = {m["channel"]: m for m in await messages(channels_service, p.patient_id)}
    assert by_channel["sms"]["status"] == "failed" and by_channel["sms"]["failure"] == "sms: http 400 code 21211"
    assert by_channel["email"]["status"] == "sent" and by_channel["email"]["replaces"] == by_channel["sms"]["id"]
    # The email carries an HTML part as well as the text.
    async with httpx.AsyncClient(timeout=10) as c:
        full = (await c.get(f"{MAILPIT}/api/v1/message/{mail['ID']}")).json()
    assert "<strong>Tuesday 15 January 2030 at 09:30 EST</strong>" in full["HTML"] and "Dr. Lovelace" in full["Text"]


async def test_transient_sms_failures_are_retried_then_sent(channels_service, sms_provider, amqp_url, namespace):
    p = patient()
    await registered(channels_service, amqp_url, namespace, p, channels=["sms", "email"])
    sms_provider.fail(503, times=1)
    await publish_event(amqp_url, namespace, booked(p.patient_id))
    await eventually(lambda: len(sms_to(sms_provider, p.phone)) == 2, what="a retry after the 503")
    await wait_settled(namespace)
    [m] = await messages(channels_service, p.patient_id)
    assert (m["channel"], m["status"], m["attempts"]) == ("sms", "sent", 2)
    assert await mailbox(p.email) == []


async def test_a_late_undelivered_report_hands_the_message_to_email(
    channels_service, sms_provider, amqp_url, namespace
):
    p = patient()
    await registered(channels_service, amqp_url, namespace, p, channels=["sms", "email"])
    await publish_event(amqp_url, namespace, booked(p.patient_id))
    [req] = await eventually(lambda: sms_to(sms_provider, p.phone), what="the SMS")
    await wait_settled(namespace)
    [m] = await messages(channels_service, p.patient_id)
    r = await callback(channels_service, req, "undelivered", sid=m["provider_message_id"], ErrorCode="30003")
    assert r.status_code == 204
    [mail] = await eventually(lambda: mailbox(p.email), what="the email after the SMS was undelivered")
    assert mail["Subject"] == "Your appointment is confirmed"
    await wait_settled(namespace)
    by_channel = {x["channel"]: x for x in await messages(channels_service, p.patient_id)}
    assert by_channel["sms"]["failure"] == "provider reported undelivered (error 30003)"
    assert by_channel["email"]["status"] == "sent"


async def test_the_app_webhook_is_signed(channels_service, patient_app, amqp_url, namespace):
    p = patient()
    await registered(channels_service, amqp_url, namespace, p, channels=["webhook", "email"])
    event = booked(p.patient_id)
    await publish_event(amqp_url, namespace, event)
    [req] = await eventually(
        lambda: [r for r in patient_app.requests if r.json()["recipient_id"] == p.patient_id],
        what="the push to the app",
    )
    # Standard Webhooks, checked as the app would, with the official library; the test secret is a
    # plain one (no whsec_ prefix), so the verifier is given its UTF-8 bytes.
    secret = settings(channels_service).webhook_secret
    assert Webhook(secret.encode()).verify(req.body, req.headers)["recipient_id"] == p.patient_id
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(req.body, req.headers)
    assert len(req.headers["webhook-signature"].split(" ")) == 1  # no rotation under way
    body = req.json()
    assert (body["kind"], body["title"], body["appointment_id"]) == (
        "appointment.booked",
        "Appointment confirmed",
        event.appointment_id,
    )
    assert "Lovelace" not in body["body"]  # lock screens show only plain facts
    await wait_settled(namespace)
    [m] = await messages(channels_service, p.patient_id)
    assert (m["channel"], m["status"], req.headers["webhook-id"]) == ("webhook", "sent", m["id"])


@pytest.fixture
async def rotating_service(channels_service, clock):
    """A second notifications service, on its own namespace and database, in the middle of a secret
    rotation: a new whsec_ secret, and the app's old plain one as the previous secret."""
    ns = f"test-{uuid.uuid4().hex[:12]}"
    s = settings(channels_service).model_copy(
        update={
            "bus_namespace": ns,
            "mongodb_db": f"t_{ns.replace('-', '_')}",
            "webhook_secret": webhooks.new_secret(),
            "webhook_previous_secret": "the-apps-old-plain-webhook-secret-0123456789",
        }
    )
    try:
        async with running(build(s, clock=clock)) as client:
            yield client, ns
    finally:
        await delete_namespace(ns)


async def test_during_a_rotation_either_secret_verifies_and_retries_keep_the_webhook_id(
    rotating_service, patient_app, amqp_url
):
    client, ns = rotating_service
    s = settings(client)
    p = patient()
    await registered(client, amqp_url, ns, p, channels=["webhook", "email"])
    patient_app.fail(503, times=1)
    await publish_event(amqp_url, ns, booked(p.patient_id))

    def pushes() -> list:
        return [r for r in patient_app.requests if r.json()["recipient_id"] == p.patient_id]

    await eventually(lambda: len(pushes()) >= 2, what="the push and its retry after the 503")
    await wait_settled(ns)
    first, retry = pushes()
    for req in (first, retry):
        assert len(req.headers["webhook-signature"].split(" ")) == 2
        Webhook(s.webhook_secret).verify(req.body, req.headers)  # an app already on the new secret
        Webhook(s.webhook_previous_secret.encode()).verify(req.body, req.headers)  # one still on the old
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(first.body, first.headers)
    [m] = await messages(client, p.patient_id)
    assert (m["channel"], m["status"], m["attempts"]) == ("webhook", "sent", 2)
    assert first.headers["webhook-id"] == retry.headers["webhook-id"] == m["id"]  # the app de-duplicates on it


async def test_a_duplicate_event_sends_one_sms(channels_service, sms_provider, amqp_url, namespace):
    p = patient(email=False)  # no preferences: email first, but there is none, so SMS
    await registered(channels_service, amqp_url, namespace, p)
    event = booked(p.patient_id)
    eid = await publish_event(amqp_url, namespace, event)
    await publish_event(amqp_url, namespace, event, event_id=eid)
    await eventually(lambda: sms_to(sms_provider, p.phone), what="the SMS")
    await wait_settled(namespace)
    assert len(sms_to(sms_provider, p.phone)) == 1
    assert [m["status"] for m in await messages(channels_service, p.patient_id)] == ["sent"]


async def test_an_unrecoverable_failure_is_dead_lettered_with_the_reason(
    channels_service, sms_provider, amqp_url, namespace
):
    p = patient(email=False)
    await registered(channels_service, amqp_url, namespace, p)
    sms_provider.fail(400, {"code": 21614, "message": "not a mobile number", "status": 400})
    await publish_event(amqp_url, namespace, booked(p.patient_id))
    dlq = Names(namespace).queue("notifications", AppointmentBooked) + ".dlq"
    [(headers, _)] = await eventually(lambda: drain_queue(amqp_url, dlq), what="the dead letter")
    [m] = await messages(channels_service, p.patient_id)
    assert (m["status"], m["failure"]) == ("failed", "sms: http 400 code 21614")
    assert headers[REASON_HEADER] == (
        f"unprocessable: not delivered on any channel: message {m['id']} (sms: http 400 code 21614)"
    )
    assert headers[QUEUE_HEADER] == Names(namespace).queue("notifications", AppointmentBooked)


async def test_quiet_hours_hold_a_message_and_required_ones_go_at_once(channels_service, clock, amqp_url, namespace):
    p = patient()
    now = datetime.now(UTC)
    quiet = {"start": f"{(now - timedelta(hours=1)).hour:02d}:00", "end": f"{(now + timedelta(hours=2)).hour:02d}:00"}
    await registered(channels_service, amqp_url, namespace, p, channels=["email"], quiet_hours=quiet, time_zone="UTC")
    await publish_event(amqp_url, namespace, booked(p.patient_id))
    await publish_event(
        amqp_url,
        namespace,
        AppointmentCancelled(  # required: not held
            appointment_id="a-c",
            patient_id=p.patient_id,
            service_code="99213",
            start=now + timedelta(days=1),
            reason_code="prov",
            cancelled_by_role="staff",
            late=False,
        ),
    )
    [mail] = await eventually(lambda: mailbox(p.email), what="the cancellation")
    assert mail["Subject"] == "Your appointment has been cancelled"
    await wait_settled(namespace)
    held = next(m for m in await messages(channels_service, p.patient_id) if m["template"] == "appointment.booked")
    assert held["status"] == "queued"
    assert datetime.fromisoformat(held["not_before"]).hour == (now + timedelta(hours=2)).hour

    dispatcher = channels_service._transport.app.state.usecases.delivery
    clock.at = datetime.fromisoformat(held["not_before"]) + timedelta(seconds=1)
    assert await dispatcher.send_due() == 1
    assert await dispatcher.send_due() == 0  # sent once
    assert len(await mailbox(p.email)) == 2


async def test_a_held_family_message_is_cancelled_when_consent_is_withdrawn(
    channels_service, clock, amqp_url, namespace
):
    p = patient()
    await registered(channels_service, amqp_url, namespace, p)
    ruth = RelatedPersonAdded(
        related_person_id=str(uuid.uuid4()),
        patient_id=p.patient_id,
        given_name="Ruth",
        relationship="DAU",
        email=f"ruth-{p.patient_id[:8]}@example.org",
        time_zone="UTC",
    )
    await publish_event(amqp_url, namespace, ruth)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    await publish_event(
        amqp_url,
        namespace,
        ConsentChanged(
            related_person_id=ruth.related_person_id,
            patient_id=p.patient_id,
            categories=["appointments"],
            changed_at=t0,
        ),
    )
    await wait_settled(namespace)
    now = datetime.now(UTC)
    r = await channels_service.put(
        f"/patients/{p.patient_id}/related-persons/{ruth.related_person_id}/preferences",
        json={
            "quiet_hours": {
                "start": f"{(now - timedelta(hours=1)).hour:02d}:00",
                "end": f"{(now + timedelta(hours=2)).hour:02d}:00",
            }
        },
    )
    assert r.status_code == 200 and datetime.fromisoformat(r.json()["next_allowed_at"]) > now
    await publish_event(amqp_url, namespace, booked(p.patient_id))
    await eventually(lambda: mailbox(p.email), what="the patient's email")
    await publish_event(
        amqp_url,
        namespace,
        ConsentChanged(
            related_person_id=ruth.related_person_id,
            patient_id=p.patient_id,
            categories=[],
            changed_at=t0 + timedelta(days=1),
        ),
    )
    await wait_settled(namespace)
    dispatcher = channels_service._transport.app.state.usecases.delivery
    clock.at = now + timedelta(hours=3)
    assert await dispatcher.send_due() == 0
    held = next(m for m in await messages(channels_service, p.patient_id) if m["recipient_id"])
    assert (held["status"], held["failure"]) == ("cancelled", "no_consent")
    assert await mailbox(ruth.email) == []
