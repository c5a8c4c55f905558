"""Notifications against the real broker, its own real store and a real SMTP server (Mailpit)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentNoShowRecorded,
    ConsentChanged,
    MessageSent,
    PatientMerged,
    PatientRegistered,
    RelatedPersonAdded,
)
from caremesh_notifications.app import build
from caremesh_notifications.settings import NotificationsSettings
from caremesh_testing import (
    EventCapture,
    eventually,
    mailbox,
    mailbox_with,
    publish_event,
    running,
    service_settings,
    wait_settled,
)


@pytest.fixture
async def notifications(namespace):
    async with running(build(service_settings(NotificationsSettings, namespace, reminder_policy="default="))) as client:
        yield client


def patient(email: str | None = None) -> PatientRegistered:
    pid = str(uuid.uuid4())
    return PatientRegistered(
        patient_id=pid, given_name="Grace", email=email or f"grace-{pid[:8]}@example.org", time_zone="Asia/Tokyo"
    )


def booked(patient_id: str) -> AppointmentBooked:
    start = datetime(2030, 1, 15, 0, 30, tzinfo=UTC)
    return AppointmentBooked(
        appointment_id=str(uuid.uuid4()),
        patient_id=patient_id,
        practitioner_id="pr",
        practitioner_name="Dr. Lovelace",
        service_code="99213",
        start=start,
        end=start + timedelta(minutes=30),
    )


async def test_booking_sends_one_email_even_when_delivered_twice(notifications, namespace, amqp_url):
    p = patient()
    await publish_event(amqp_url, namespace, p)
    event = booked(p.patient_id)
    async with EventCapture(amqp_url, namespace, "notifications.#") as cap:
        eid = await publish_event(amqp_url, namespace, event)
        await publish_event(amqp_url, namespace, event, event_id=eid)
        [sent] = await cap.wait_for(MessageSent)
        await wait_settled(namespace)
        assert len(cap.ids_of(MessageSent)) == 1
    assert sent.appointment_id == event.appointment_id and sent.channel == "email"
    [mail] = await mailbox(p.email)
    assert mail["Subject"] == "Your appointment is confirmed"
    # Shown in the patient's own time zone: 00:30 UTC is 09:30 in Tokyo.
    assert "09:30" in mail["Snippet"] and "Dr. Lovelace" in mail["Snippet"]
    history = (await notifications.get("/messages", params={"patient_id": p.patient_id})).json()
    assert [m["status"] for m in history] == ["sent"] and history[0]["provider_message_id"]


async def test_booking_seen_before_the_registration_waits_for_the_contact(notifications, namespace, amqp_url):
    p = patient()
    await publish_event(amqp_url, namespace, booked(p.patient_id))  # registration not seen yet: retried
    await publish_event(amqp_url, namespace, p)
    mails = await eventually(lambda: mailbox(p.email), what="email after retry")
    assert len(mails) == 1


async def test_decline_notice_says_what_happened_without_clinical_detail(notifications, namespace, amqp_url):
    p = patient()
    await publish_event(amqp_url, namespace, p)
    await publish_event(
        amqp_url,
        namespace,
        AppointmentDeclined(
            appointment_id="a-1",
            patient_id=p.patient_id,
            service_code="99213",
            start=datetime(2030, 2, 1, 12, tzinfo=UTC),
            reason_code="service_not_covered",
        ),
    )
    [mail] = await eventually(lambda: mailbox(p.email), what="decline email")
    assert mail["Subject"] == "We could not confirm your appointment"
    assert "99213" not in mail["Snippet"]


async def test_cancellation_and_no_show_each_send_their_message(notifications, namespace, amqp_url):
    p = patient()
    await publish_event(amqp_url, namespace, p)
    start = datetime(2030, 3, 1, 9, tzinfo=UTC)
    await publish_event(
        amqp_url,
        namespace,
        AppointmentCancelled(
            appointment_id="a-c",
            patient_id=p.patient_id,
            service_code="99213",
            start=start,
            reason_code="prov",
            cancelled_by_role="staff",
            late=False,
        ),
    )
    await publish_event(
        amqp_url,
        namespace,
        AppointmentNoShowRecorded(appointment_id="a-n", patient_id=p.patient_id, service_code="99213", start=start),
    )
    mails = await eventually(lambda: mailbox_with(p.email, 2), what="two emails")
    assert sorted(m["Subject"] for m in mails) == ["We missed you today", "Your appointment has been cancelled"]
    history = (await notifications.get("/messages", params={"patient_id": p.patient_id})).json()
    assert sorted(m["template"] for m in history) == ["appointment.cancelled", "appointment.no_show"]


async def test_after_a_merge_messages_go_to_the_record_that_stayed(notifications, namespace, amqp_url):
    keep, dup = patient(), patient()
    await publish_event(amqp_url, namespace, keep)
    await publish_event(amqp_url, namespace, dup)
    await publish_event(amqp_url, namespace, PatientMerged(patient_id=dup.patient_id, merged_into=keep.patient_id))

    async def merged():
        c = await notifications._transport.app.state.usecases.recipients.contacts.find(dup.patient_id)
        return c is not None and c.merged_into == keep.patient_id

    await eventually(merged, what="contact merged")
    await publish_event(amqp_url, namespace, booked(dup.patient_id))
    [mail] = await eventually(lambda: mailbox(keep.email), what="email to the kept address")
    assert mail["Subject"] == "Your appointment is confirmed"
    assert await mailbox(dup.email) == []


async def test_family_is_told_by_consent_and_a_withdrawal_stops_it_at_once(notifications, namespace, amqp_url):
    p = patient()
    await publish_event(amqp_url, namespace, p)
    daughter = RelatedPersonAdded(
        related_person_id=str(uuid.uuid4()),
        patient_id=p.patient_id,
        given_name="Ruth",
        relationship="DAU",
        email=f"ruth-{p.patient_id[:8]}@example.org",
        time_zone="Europe/Paris",
    )
    son = RelatedPersonAdded(
        related_person_id=str(uuid.uuid4()),
        patient_id=p.patient_id,
        given_name="Tom",
        relationship="SON",
        email=f"tom-{p.patient_id[:8]}@example.org",
        time_zone="UTC",
    )
    await publish_event(amqp_url, namespace, daughter)
    await publish_event(amqp_url, namespace, son)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    consent = ConsentChanged(
        related_person_id=daughter.related_person_id,
        patient_id=p.patient_id,
        categories=["appointments"],
        changed_at=t0,
    )
    await publish_event(amqp_url, namespace, consent)
    await wait_settled(namespace)
    await publish_event(amqp_url, namespace, booked(p.patient_id))
    [to_ruth] = await eventually(lambda: mailbox(daughter.email), what="the daughter's email")
    assert to_ruth["Subject"] == "An appointment for Grace"
    await eventually(lambda: mailbox(p.email), what="the patient's email")
    await wait_settled(namespace)
    assert await mailbox(son.email) == []  # no consent, no message

    # Withdrawn; then the same consent delivered late again changes nothing.
    await publish_event(
        amqp_url,
        namespace,
        ConsentChanged(
            related_person_id=daughter.related_person_id,
            patient_id=p.patient_id,
            categories=[],
            changed_at=t0 + timedelta(days=1),
        ),
    )
    await publish_event(amqp_url, namespace, consent)
    await wait_settled(namespace)
    await publish_event(
        amqp_url,
        namespace,
        AppointmentCancelled(
            appointment_id="a-x",
            patient_id=p.patient_id,
            service_code="99213",
            start=datetime(2030, 1, 2, 9, tzinfo=UTC),
            reason_code="prov",
            cancelled_by_role="staff",
            late=False,
        ),
    )
    await eventually(lambda: mailbox_with(p.email, 2), what="the patient's cancellation email")
    await wait_settled(namespace)
    assert len(await mailbox(daughter.email)) == 1
