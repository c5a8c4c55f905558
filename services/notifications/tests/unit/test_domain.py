"""Unit tests of notifications' pure domain: message ids, and the claim/lease/send/report/fallback rules."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from caremesh_contracts import MessageSent, PatientRegistered
from caremesh_kit.errors import Conflict
from caremesh_notifications.domain import (
    Channel,
    Contact,
    Content,
    FamilyMember,
    Message,
    MessageStatus,
    Route,
    message_id,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def contact(
    time_zone: str = "America/New_York", email: str | None = "amara@example.org", phone: str | None = None
) -> Contact:
    return Contact.from_registration(
        PatientRegistered(patient_id="pat-1", given_name="Amara", email=email, phone=phone, time_zone=time_zone)
    )


def queued(appointment_id: str | None = "appt-1") -> Message:
    content = Content(template="appointment.booked", subject="Your appointment is confirmed", text="Hello")
    return Message.compose("msg-1", contact(), appointment_id, content, NOW)


# -- Contact ------------------------------------------------------------------------------------


def test_contact_from_registration_keys_on_the_patient_id():
    c = contact(time_zone="Europe/Paris", phone="+33612345678")
    assert (c.id, c.given_name, c.email, c.phone, c.time_zone) == (
        "pat-1",
        "Amara",
        "amara@example.org",
        "+33612345678",
        "Europe/Paris",
    )


# -- message_id ---------------------------------------------------------------------------------


def test_message_id_is_deterministic():
    a = message_id("evt-1", "amara@example.org", Channel.EMAIL)
    assert a == message_id("evt-1", "amara@example.org", Channel.EMAIL)
    parsed = uuid.UUID(a)
    assert parsed.version == 5
    assert str(parsed) == a


def test_message_id_differs_per_event_recipient_and_channel():
    base = message_id("evt-1", "amara@example.org", Channel.EMAIL)
    other_event = message_id("evt-2", "amara@example.org", Channel.EMAIL)
    other_recipient = message_id("evt-1", "bola@example.org", Channel.EMAIL)
    other_channel = message_id("evt-1", "amara@example.org", Channel.SMS)
    assert len({base, other_event, other_recipient, other_channel}) == 4


def test_message_id_does_not_depend_on_anything_random():
    # Fixed namespace: the id is the same in every process (a redelivery elsewhere finds the same message).
    assert message_id("evt-1", "amara@example.org", Channel.EMAIL) == str(
        uuid.uuid5(uuid.UUID("8f8a4c43-5d7e-4a3b-9a77-2c1b8e0d6f10"), "evt-1|amara@example.org|email")
    )


# -- Message.compose ----------------------------------------------------------------------------


def test_compose_queues_an_email_to_the_contact():
    content = Content(
        template="appointment.booked", version=2, subject="Your appointment is confirmed", text="Hi", html="<p>Hi</p>"
    )
    msg = Message.compose("msg-1", contact(), "appt-1", content, NOW)
    assert msg.id == "msg-1"
    assert msg.patient_id == "pat-1" and msg.recipient_id is None
    assert msg.appointment_id == "appt-1"
    assert msg.channel is Channel.EMAIL
    assert msg.to == "amara@example.org"
    assert (msg.template, msg.subject, msg.text, msg.html) == (
        content.template,
        content.subject,
        content.text,
        content.html,
    )
    assert msg.template_version == 2  # the version used is recorded
    assert msg.status is MessageStatus.QUEUED
    assert msg.created_at == NOW
    assert (msg.sent_at, msg.claimed_at, msg.provider_message_id, msg.attempts) == (None, None, None, 0)
    assert msg.take_events() == []  # composing raises nothing; only a send does


def test_compose_on_a_route_to_a_family_member():
    member = FamilyMember(
        id="rp-1",
        patient_id="pat-1",
        given_name="Ruth",
        relationship="DAU",
        email=None,
        phone="+33612345678",
        time_zone="Europe/Paris",
    )
    msg = Message.compose(
        "msg-2",
        member,
        None,
        Content(template="family.appointment.booked", text="x"),
        NOW,
        route=Route(channel=Channel.SMS, to="+33612345678"),
        fallbacks=[Route(channel=Channel.EMAIL, to="r@example.org")],
    )
    assert (msg.patient_id, msg.recipient_id, msg.recipient) == ("pat-1", "rp-1", "rp-1")
    assert (msg.channel, msg.to) == (Channel.SMS, "+33612345678")
    assert [r.channel for r in msg.fallbacks] == [Channel.EMAIL]


def test_compose_without_an_email_raises():
    content = Content(template="t", subject="s", text="x")
    with pytest.raises(ValueError, match="no email"):
        Message.compose("msg-1", contact(email=None, phone="+15555550123"), "appt-1", content, NOW)


# -- claim / lease ------------------------------------------------------------------------------


def test_a_queued_message_is_claimable():
    assert queued().claimable(NOW, LEASE) is True


def test_claim_marks_sending_and_counts_the_attempt():
    msg = queued()
    msg.claim(NOW)
    assert msg.status is MessageStatus.SENDING
    assert msg.claimed_at == NOW
    assert msg.attempts == 1


def test_a_fresh_claim_is_not_claimable_until_the_lease_lapses():
    msg = queued()
    msg.claim(NOW)
    assert msg.claimable(NOW, LEASE) is False
    assert msg.claimable(NOW + LEASE - timedelta(microseconds=1), LEASE) is False
    assert msg.claimable(NOW + LEASE, LEASE) is True
    assert msg.claimable(NOW + 10 * LEASE, LEASE) is True


def test_reclaiming_after_the_lease_lapses_restarts_the_lease():
    msg = queued()
    msg.claim(NOW)
    later = NOW + LEASE
    msg.claim(later)
    assert msg.attempts == 2
    assert msg.claimed_at == later
    assert msg.claimable(later + LEASE / 2, LEASE) is False


def test_a_sending_message_without_a_claim_time_is_claimable():
    msg = queued()
    msg.status = MessageStatus.SENDING
    assert msg.claimed_at is None
    assert msg.claimable(NOW, LEASE) is True


def test_a_sent_message_is_never_claimable():
    msg = queued()
    msg.claim(NOW)
    msg.mark_sent("prov-1", NOW + timedelta(seconds=1))
    assert msg.claimable(NOW + timedelta(seconds=2), LEASE) is False
    assert msg.claimable(NOW + timedelta(days=365), LEASE) is False


# -- mark_sent ----------------------------------------------------------------------------------


def test_mark_sent_from_sending_records_the_send_and_raises_message_sent():
    msg = queued()
    msg.claim(NOW)
    sent_at = NOW + timedelta(seconds=2)
    msg.mark_sent("prov-1", sent_at)

    assert msg.status is MessageStatus.SENT
    assert msg.sent_at == sent_at
    assert msg.provider_message_id == "prov-1"
    assert msg.take_events() == [
        MessageSent(
            message_id="msg-1",
            patient_id="pat-1",
            appointment_id="appt-1",
            channel="email",
            template="appointment.booked",
        )
    ]


def test_message_sent_without_an_appointment():
    msg = queued(appointment_id=None)
    msg.claim(NOW)
    msg.mark_sent("prov-1", NOW)
    [event] = msg.take_events()
    assert event.appointment_id is None


def test_mark_sent_on_a_queued_message_is_a_conflict():
    msg = queued()
    with pytest.raises(Conflict, match="queued"):
        msg.mark_sent("prov-1", NOW)
    assert msg.status is MessageStatus.QUEUED
    assert msg.sent_at is None and msg.provider_message_id is None
    assert msg.take_events() == []


def test_mark_sent_twice_is_a_conflict_and_raises_no_second_event():
    msg = queued()
    msg.claim(NOW)
    msg.mark_sent("prov-1", NOW)
    msg.take_events()

    with pytest.raises(Conflict, match="sent"):
        msg.mark_sent("prov-2", NOW + timedelta(seconds=5))
    assert msg.provider_message_id == "prov-1"
    assert msg.sent_at == NOW
    assert msg.take_events() == []


def sent(provider_id: str = "SM1") -> Message:
    msg = queued()
    msg.claim(NOW)
    msg.mark_sent(provider_id, NOW, "queued")
    msg.take_events()
    return msg


# -- holding, release, failure ------------------------------------------------------------------


def test_a_held_message_is_claimable_only_from_its_time():
    msg = queued()
    msg.not_before = NOW + timedelta(hours=8)
    assert msg.claimable(NOW, LEASE) is False
    assert msg.claimable(NOW + timedelta(hours=8), LEASE) is True


def test_release_puts_a_failed_attempt_back_in_the_queue_with_its_error():
    msg = queued()
    msg.claim(NOW)
    msg.release("sms: http 503")
    assert (msg.status, msg.claimed_at, msg.last_error, msg.attempts) == (
        MessageStatus.QUEUED,
        None,
        "sms: http 503",
        1,
    )
    assert msg.claimable(NOW, LEASE)


def test_an_unknown_outcome_keeps_the_claim_until_the_lease_lapses():
    msg = queued()
    msg.claim(NOW)
    msg.keep_claim("sms: ReadTimeout")
    assert msg.status is MessageStatus.SENDING and not msg.claimable(NOW + LEASE / 2, LEASE)


def test_fail_records_the_reason():
    msg = queued()
    msg.claim(NOW)
    msg.fail("sms: http 400 code 21211", NOW)
    assert (msg.status, msg.failure, msg.failed_at, msg.sent_at) == (
        MessageStatus.FAILED,
        "sms: http 400 code 21211",
        NOW,
        None,
    )
    with pytest.raises(Conflict):
        msg.fail("again", NOW)


def test_cancel_stops_a_queued_message_but_not_a_sent_one():
    msg = queued()
    assert msg.cancel("no_consent") is True and msg.status is MessageStatus.CANCELLED
    assert sent().cancel("no_consent") is False


# -- provider reports -----------------------------------------------------------------------------


def test_a_delivered_report_moves_sent_to_delivered():
    msg = sent()
    assert msg.report("SM1", "delivered", NOW + timedelta(seconds=3)) is True
    assert (msg.status, msg.delivered_at, msg.provider_status) == (
        MessageStatus.DELIVERED,
        NOW + timedelta(seconds=3),
        "delivered",
    )
    assert msg.report("SM1", "delivered", NOW) is False  # repeated: nothing changes
    assert msg.take_events() == []


def test_an_undelivered_report_fails_the_sent_message():
    msg = sent()
    msg.report("SM1", "undelivered", NOW, error_code="30003")
    assert msg.status is MessageStatus.FAILED and msg.failure == "provider reported undelivered (error 30003)"
    assert msg.sent_at == NOW and msg.take_events() == []


def test_an_intermediate_report_only_updates_the_provider_status():
    msg = sent()
    assert msg.report("SM1", "sent", NOW) is True
    assert (msg.status, msg.provider_status) == (MessageStatus.SENT, "sent")


def test_a_report_for_another_provider_message_is_a_conflict():
    with pytest.raises(Conflict):
        sent("SM1").report("SM2", "delivered", NOW)


def test_a_report_that_overtakes_our_record_of_the_send_is_applied_when_it_is_recorded():
    msg = queued()
    msg.claim(NOW)
    msg.report("SM9", "delivered", NOW)  # the callback came before mark_sent was committed
    assert msg.status is MessageStatus.SENDING
    msg.mark_sent("SM9", NOW, "queued")
    assert msg.status is MessageStatus.DELIVERED


# -- fallback -------------------------------------------------------------------------------------


def test_fallback_is_the_same_facts_on_the_next_route():
    msg = Message.compose(
        "msg-1",
        contact(phone="+15555550100"),
        "appt-1",
        Content(template="appointment.booked", text="sms text"),
        NOW,
        route=Route(channel=Channel.SMS, to="+15555550100"),
        source="evt-1",
        variables={"when": "Monday"},
        fallbacks=[Route(channel=Channel.EMAIL, to="a@example.org")],
    )
    msg.claim(NOW)
    msg.fail("sms: http 400", NOW)
    nxt = msg.fallback("msg-2", Content(template="appointment.booked", subject="S", text="email text"), NOW)
    assert nxt.not_before is None  # as the failed one: sent now, retried with the event
    assert msg.fallback("msg-2", Content(template="t", text="x"), NOW, due=True).not_before == NOW  # due sweep
    assert (nxt.id, nxt.channel, nxt.to, nxt.replaces, nxt.source) == (
        "msg-2",
        Channel.EMAIL,
        "a@example.org",
        "msg-1",
        "evt-1",
    )
    assert (nxt.variables, nxt.fallbacks, nxt.status) == ({"when": "Monday"}, [], MessageStatus.QUEUED)
    assert (nxt.patient_id, nxt.appointment_id, nxt.text) == ("pat-1", "appt-1", "email text")
