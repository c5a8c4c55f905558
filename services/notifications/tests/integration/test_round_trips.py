"""Store round trips on the booking path, counted as the bus counts them (``counting_round_trips``): an
upper bound per handler, so a change that adds reads or writes to it fails here."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from caremesh_contracts import AppointmentBooked, PatientRegistered
from caremesh_kit.envelope import Envelope
from caremesh_kit.store import counting_round_trips
from caremesh_notifications.app import build
from caremesh_notifications.settings import NotificationsSettings
from caremesh_testing import eventually, mailbox, publish_event, running, service_settings

# Before this bound was set the booked handler took 20 (44 with three reminders; 8 and 17 redelivered), a
# due reminder 11: a read per channel to find a chain, a read before each write, a claim of its own.
# The booked handler for a patient with a contact and default preferences (email), no family: the
# appointment's creation (3) and the recipients (contact, family, preferences: 3), at once; the message,
# stored already claimed, and its materialization (2); the send recorded (2).
BOOKED_MAX = 10
# With the default policy's three reminders: they go in the same two writes as the confirmation.
BOOKED_WITH_REMINDERS_MAX = 10
# A redelivery of a booking handled already: the appointment found (2), the recipients (3) and the
# appointment's messages (1); nothing to write.
REDELIVERED_MAX = 6
# A sweep that finds one due reminder: its two queries (held messages due, sends whose lease lapsed),
# the gate's reads (the patient's preferences, the appointment), the claim (2) and the send recorded (2).
REMINDER_SEND_MAX = 8


def uc(client):
    return client._transport.app.state.usecases


async def registered(client, amqp_url: str, namespace: str) -> PatientRegistered:
    pid = str(uuid.uuid4())
    p = PatientRegistered(
        patient_id=pid, given_name="Grace", email=f"grace-{pid[:8]}@example.org", time_zone="America/New_York"
    )
    await publish_event(amqp_url, namespace, p)
    await eventually(lambda: uc(client).recipients.contacts.find(pid), what="contact stored")
    return p


def booked(patient_id: str, start: datetime) -> tuple[AppointmentBooked, Envelope]:
    event = AppointmentBooked(
        appointment_id=str(uuid.uuid4()),
        patient_id=patient_id,
        practitioner_id="pr",
        practitioner_name="Dr. Lovelace",
        service_code="99213",
        start=start,
        end=start + timedelta(minutes=30),
    )
    env = Envelope(
        id=str(uuid.uuid4()),
        type=AppointmentBooked.ce_type(),
        source="/caremesh/scheduling",
        time=datetime.now(UTC),
        subject=event.appointment_id,
        correlation_id=str(uuid.uuid4()),
        traceparent=None,
    )
    return event, env


async def handled(client, event: AppointmentBooked, env: Envelope) -> int:
    with counting_round_trips() as trips:
        await uc(client).appointments.on_appointment_booked(event, env)
    return trips.store


async def history(client, patient_id: str) -> list[dict]:
    return (await client.get("/messages", params={"patient_id": patient_id, "limit": 50})).json()


@pytest.fixture
async def no_reminders(namespace):
    async with running(
        build(service_settings(NotificationsSettings, namespace, reminder_policy="default=", due_scan_seconds=3600))
    ) as client:
        yield client


@pytest.fixture
async def with_reminders(namespace, clock):
    settings = service_settings(NotificationsSettings, namespace, due_scan_seconds=3600)
    async with running(build(settings, clock=clock)) as client:
        yield client


async def test_the_booked_handler_sends_the_confirmation_in_few_round_trips(no_reminders, amqp_url, namespace):
    p = await registered(no_reminders, amqp_url, namespace)
    event, env = booked(p.patient_id, datetime(2030, 1, 15, 14, 30, tzinfo=UTC))
    trips = await handled(no_reminders, event, env)
    print(f"booked handler: {trips} store round trips")
    [m] = await history(no_reminders, p.patient_id)
    assert (m["template"], m["channel"], m["status"], m["attempts"]) == ("appointment.booked", "email", "sent", 1)
    assert len(await mailbox(p.email)) == 1
    assert trips <= BOOKED_MAX

    # The same event again (a redelivery): found, not sent again, and cheaper still.
    again = await handled(no_reminders, event, env)
    print(f"booked handler, redelivered: {again} store round trips")
    assert [x["status"] for x in await history(no_reminders, p.patient_id)] == ["sent"]
    assert len(await mailbox(p.email)) == 1
    assert again <= REDELIVERED_MAX


async def test_reminders_are_stored_in_the_same_writes_as_the_confirmation(with_reminders, amqp_url, namespace):
    p = await registered(with_reminders, amqp_url, namespace)
    event, env = booked(p.patient_id, datetime(2030, 1, 15, 14, 30, tzinfo=UTC))
    trips = await handled(with_reminders, event, env)
    print(f"booked handler with three reminders: {trips} store round trips")
    got = await history(with_reminders, p.patient_id)
    assert (
        sorted((m["template"], m["status"]) for m in got)
        == [("appointment.booked", "sent")] + [("appointment.reminder", "queued")] * 3
    )
    assert trips <= BOOKED_WITH_REMINDERS_MAX

    again = await handled(with_reminders, event, env)
    print(f"booked handler with three reminders, redelivered: {again} store round trips")
    assert len(await history(with_reminders, p.patient_id)) == 4
    assert again <= REDELIVERED_MAX


async def test_a_due_reminder_is_sent_in_few_round_trips(with_reminders, clock, amqp_url, namespace):
    p = await registered(with_reminders, amqp_url, namespace)
    start = datetime.now(UTC) + timedelta(days=5)
    event, env = booked(p.patient_id, start)
    await handled(with_reminders, event, env)
    first = min(
        (m for m in await history(with_reminders, p.patient_id) if m["template"] == "appointment.reminder"),
        key=lambda m: m["not_before"],
    )
    dispatcher = uc(with_reminders).delivery
    due_at = datetime.fromisoformat(first["not_before"]) + timedelta(seconds=1)
    clock.at = due_at
    with counting_round_trips() as trips:
        assert await dispatcher.send_due(due_at) == 1
    print(f"due sweep, one reminder: {trips.store} store round trips")
    assert trips.store <= REMINDER_SEND_MAX
    reminders = [m for m in await history(with_reminders, p.patient_id) if m["template"] == "appointment.reminder"]
    assert sorted(m["status"] for m in reminders) == ["queued", "queued", "sent"]
    assert len(await mailbox(p.email)) == 2  # the confirmation and the reminder
