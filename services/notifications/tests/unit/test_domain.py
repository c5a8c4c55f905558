"""Unit tests of notifications' pure domain: message ids, content, and the claim/lease/send rules."""

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from caremesh_contracts import AppointmentBooked, AppointmentDeclined, MessageSent, PatientRegistered
from caremesh_kit.errors import Conflict
from caremesh_notifications.domain import (
    Channel,
    Contact,
    Content,
    Message,
    MessageStatus,
    booking_confirmation,
    decline_notice,
    message_id,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def contact(time_zone: str = "America/New_York", email: str | None = "amara@example.org",
            phone: str | None = None) -> Contact:
    return Contact.from_registration(PatientRegistered(patient_id="pat-1", given_name="Amara", email=email,
                                                       phone=phone, time_zone=time_zone))


def booked(start: datetime, service_code: str = "99213") -> AppointmentBooked:
    return AppointmentBooked(appointment_id="appt-1", patient_id="pat-1", practitioner_id="prac-1",
                             practitioner_name="Dr Ada Okafor", service_code=service_code, start=start,
                             end=start + timedelta(minutes=30))


def declined(start: datetime, service_code: str = "99213") -> AppointmentDeclined:
    return AppointmentDeclined(appointment_id="appt-1", patient_id="pat-1", service_code=service_code,
                               start=start, reason_code="service_not_covered")


def queued(appointment_id: str | None = "appt-1") -> Message:
    content = Content(template="appointment.booked", subject="Your appointment is confirmed", text="Hello")
    return Message.compose("msg-1", contact(), appointment_id, content, NOW)


# -- Contact ------------------------------------------------------------------------------------

def test_contact_from_registration_keys_on_the_patient_id():
    c = contact(time_zone="Europe/Paris", phone="+33612345678")
    assert (c.id, c.given_name, c.email, c.phone, c.time_zone) == (
        "pat-1", "Amara", "amara@example.org", "+33612345678", "Europe/Paris")


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
    # Only one channel exists today; a stand-in with another value shows the channel is part of the id.
    other_channel = message_id("evt-1", "amara@example.org", SimpleNamespace(value="sms"))
    assert len({base, other_event, other_recipient, other_channel}) == 4


def test_message_id_does_not_depend_on_anything_random():
    # Fixed namespace: the id is the same in every process (a redelivery elsewhere finds the same message).
    assert message_id("evt-1", "amara@example.org", Channel.EMAIL) == str(
        uuid.uuid5(uuid.UUID("8f8a4c43-5d7e-4a3b-9a77-2c1b8e0d6f10"), "evt-1|amara@example.org|email"))


# -- content ------------------------------------------------------------------------------------

def test_booking_confirmation_in_new_york_summer_uses_edt():
    content = booking_confirmation(contact("America/New_York"), booked(datetime(2026, 7, 15, 13, 30, tzinfo=UTC)))
    assert content.template == "appointment.booked"
    assert content.subject == "Your appointment is confirmed"
    assert content.text == (
        "Hello Amara,\n\nYour appointment with Dr Ada Okafor is confirmed for "
        "Wednesday 15 July 2026 at 09:30 EDT.\n\nReference: appt-1\n")


def test_booking_confirmation_in_new_york_winter_uses_est():
    content = booking_confirmation(contact("America/New_York"), booked(datetime(2026, 1, 15, 14, 30, tzinfo=UTC)))
    assert "Thursday 15 January 2026 at 09:30 EST" in content.text


def test_booking_confirmation_shows_the_local_day_not_the_utc_day():
    # 23:30 UTC on 3 May is 08:30 on 4 May in Tokyo.
    content = booking_confirmation(contact("Asia/Tokyo"), booked(datetime(2026, 5, 3, 23, 30, tzinfo=UTC)))
    assert "Monday 04 May 2026 at 08:30 JST" in content.text
    assert "23:30" not in content.text


def test_booking_confirmation_in_utc():
    content = booking_confirmation(contact("UTC"), booked(datetime(2026, 5, 3, 9, 0, tzinfo=UTC)))
    assert "Sunday 03 May 2026 at 09:00 UTC" in content.text


@pytest.mark.parametrize("code", ["99213", "G0008", "0001U"])
def test_booking_confirmation_never_includes_the_service_code(code):
    content = booking_confirmation(contact(), booked(datetime(2026, 7, 15, 13, 30, tzinfo=UTC), code))
    assert code not in content.text
    assert code not in content.subject


def test_decline_notice():
    content = decline_notice(contact("America/New_York"), declined(datetime(2026, 1, 15, 14, 30, tzinfo=UTC)))
    assert content.template == "appointment.declined"
    assert content.subject == "We could not confirm your appointment"
    assert content.text.startswith("Hello Amara,\n\nWe could not confirm your appointment request for "
                                   "Thursday 15 January 2026 at 09:30 EST because")
    assert "insurance coverage" in content.text
    assert content.text.endswith("Reference: appt-1\n")
    # Neither the service nor the machine reason code reaches the patient.
    assert "99213" not in content.text
    assert "service_not_covered" not in content.text


# -- Message.compose ----------------------------------------------------------------------------

def test_compose_queues_an_email_to_the_contact():
    content = booking_confirmation(contact(), booked(datetime(2026, 7, 15, 13, 30, tzinfo=UTC)))
    msg = Message.compose("msg-1", contact(), "appt-1", content, NOW)
    assert msg.id == "msg-1"
    assert msg.patient_id == "pat-1"
    assert msg.appointment_id == "appt-1"
    assert msg.channel is Channel.EMAIL
    assert msg.to == "amara@example.org"
    assert (msg.template, msg.subject, msg.text) == (content.template, content.subject, content.text)
    assert msg.status is MessageStatus.QUEUED
    assert msg.created_at == NOW
    assert (msg.sent_at, msg.claimed_at, msg.provider_message_id, msg.attempts) == (None, None, None, 0)
    assert msg.take_events() == []  # composing raises nothing; only a send does


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
    assert msg.take_events() == [MessageSent(message_id="msg-1", patient_id="pat-1", appointment_id="appt-1",
                                             channel="email", template="appointment.booked")]


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


def test_cancellation_and_no_show_messages_give_the_local_time_and_no_service_code():
    from caremesh_contracts import AppointmentCancelled, AppointmentNoShowRecorded
    from caremesh_notifications.domain import cancellation_notice, rebooking_invitation

    c = Contact(id="p1", given_name="Grace", email="g@example.org", phone=None, time_zone="America/New_York")
    start = datetime(2026, 7, 15, 13, 30, tzinfo=UTC)
    cancelled = cancellation_notice(c, AppointmentCancelled(
        appointment_id="a1", patient_id="p1", service_code="99213", start=start, reason_code="prov",
        cancelled_by_role="staff", late=True))
    missed = rebooking_invitation(c, AppointmentNoShowRecorded(
        appointment_id="a1", patient_id="p1", service_code="99213", start=start))
    for content, template in ((cancelled, "appointment.cancelled"), (missed, "appointment.no_show")):
        assert content.template == template
        assert "Wednesday 15 July 2026 at 09:30 EDT" in content.text
        assert "99213" not in content.text + content.subject
