"""Held appointment messages against later changes, on the real broker, store and Mailpit: a confirmation
held by quiet hours does not outlive a cancellation or a reschedule, however the events are redelivered
or reordered, and the due sweep checks once more before it sends."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from caremesh_contracts import AppointmentBooked, AppointmentCancelled, AppointmentRescheduled, PatientRegistered
from caremesh_notifications.app import build
from caremesh_notifications.domain import VisitStatus
from caremesh_notifications.settings import NotificationsSettings
from caremesh_testing import eventually, mailbox, publish_event, running, service_settings, wait_settled

START = datetime(2030, 1, 15, 14, 30, tzinfo=UTC)
BOOKED_AT = datetime(2030, 1, 12, 12, 40, tzinfo=UTC)  # 07:40 in New York, inside 22:00-09:30
QUIET_UNTIL = datetime(2030, 1, 12, 14, 30, tzinfo=UTC)  # 09:30 in New York
CANCELLED, MOVED = "Your appointment has been cancelled", "Your appointment has moved"


@pytest.fixture
async def service(namespace, clock):
    clock.at = BOOKED_AT
    settings = service_settings(NotificationsSettings, namespace, due_scan_seconds=3600)
    async with running(build(settings, clock=clock)) as client:
        yield client


def uc(client: httpx.AsyncClient):
    return client._transport.app.state.usecases


async def quiet_patient(client, amqp_url, namespace) -> PatientRegistered:
    pid = str(uuid.uuid4())
    p = PatientRegistered(
        patient_id=pid, given_name="Grace", email=f"grace-{pid[:8]}@example.org", time_zone="America/New_York"
    )
    await publish_event(amqp_url, namespace, p)
    await eventually(lambda: uc(client).recipients.contacts.find(pid), what="contact stored")
    r = await client.put(f"/patients/{pid}/preferences", json={"quiet_hours": {"start": "22:00", "end": "09:30"}})
    assert r.status_code == 200, r.text
    return p


def booked(p: PatientRegistered) -> AppointmentBooked:
    return AppointmentBooked(
        appointment_id=str(uuid.uuid4()),
        patient_id=p.patient_id,
        practitioner_id="pr",
        practitioner_name="Dr. Lovelace",
        service_code="99213",
        start=START,
        end=START + timedelta(minutes=30),
    )


def cancelled(b: AppointmentBooked) -> AppointmentCancelled:
    return AppointmentCancelled(
        appointment_id=b.appointment_id,
        patient_id=b.patient_id,
        service_code="99213",
        start=b.start,
        reason_code="prov",
        cancelled_by_role="staff",
        late=False,
    )


def rescheduled(b: AppointmentBooked, start: datetime) -> AppointmentRescheduled:
    return AppointmentRescheduled(
        appointment_id=b.appointment_id,
        patient_id=b.patient_id,
        practitioner_id="pr",
        practitioner_name="Dr. Lovelace",
        service_code="99213",
        previous_start=b.start,
        start=start,
        end=start + timedelta(minutes=30),
        status="booked",
    )


async def listed(client, patient_id: str) -> list[dict]:
    r = await client.get(f"/patients/{patient_id}/messages", params={"limit": 500})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def the(client, patient_id: str, template: str, status: str) -> dict:
    async def probe():
        found = [m for m in await listed(client, patient_id) if m["template"] == template and m["status"] == status]
        return found[0] if len(found) == 1 else None

    return await eventually(probe, what=f"a {status} {template}")


async def subjects(address: str) -> list[str]:
    return sorted(m["Subject"] for m in await mailbox(address))


async def test_a_cancellation_supersedes_the_confirmation_held_by_quiet_hours(service, amqp_url, namespace, clock):
    p = await quiet_patient(service, amqp_url, namespace)
    b = booked(p)
    booking = await publish_event(amqp_url, namespace, b)
    held = await the(service, p.patient_id, "appointment.booked", "queued")
    assert datetime.fromisoformat(held["not_before"]) == QUIET_UNTIL

    cancellation = await publish_event(amqp_url, namespace, cancelled(b))
    await eventually(lambda: mailbox(p.email), what="the cancellation")  # required: it goes at once
    gone = await the(service, p.patient_id, "appointment.booked", "superseded")
    assert (gone["id"], gone["superseded_by"], gone["failure"]) == (held["id"], cancellation, "appointment cancelled")
    assert (await service.get(f"/messages/{held['id']}")).json()["status"] == "superseded"

    # A redelivered booking, and a stale one under a new id, resurrect nothing.
    await publish_event(amqp_url, namespace, b, event_id=booking)
    await publish_event(amqp_url, namespace, b)
    await wait_settled(namespace)
    clock.at = QUIET_UNTIL + timedelta(minutes=1)
    assert await uc(service).delivery.send_due() == 0
    assert await subjects(p.email) == [CANCELLED]
    history = await listed(service, p.patient_id)
    assert sorted((m["template"], m["status"]) for m in history if not m["template"].endswith("reminder")) == [
        ("appointment.booked", "superseded"),
        ("appointment.cancelled", "sent"),
    ]
    assert {m["status"] for m in history if m["template"] == "appointment.reminder"} == {"superseded"}


async def test_a_reschedule_supersedes_the_confirmation_of_the_old_time(service, amqp_url, namespace, clock):
    p = await quiet_patient(service, amqp_url, namespace)
    b = booked(p)
    await publish_event(amqp_url, namespace, b)
    held = await the(service, p.patient_id, "appointment.booked", "queued")
    move = await publish_event(amqp_url, namespace, rescheduled(b, START + timedelta(days=1)))
    gone = await the(service, p.patient_id, "appointment.booked", "superseded")
    assert (gone["id"], gone["superseded_by"], gone["failure"]) == (held["id"], move, "appointment moved")
    await eventually(lambda: mailbox(p.email), what="the move")  # required: it goes at once
    clock.at = QUIET_UNTIL + timedelta(minutes=1)
    assert await uc(service).delivery.send_due() == 0
    assert await subjects(p.email) == [MOVED]


async def test_the_due_sweep_checks_the_appointment_once_more_before_it_sends(service, amqp_url, namespace, clock):
    # The appointment ends without the event-time pass seeing the held confirmation (as when the
    # confirmation is stored just after a concurrent cancellation read the appointment's messages).
    p = await quiet_patient(service, amqp_url, namespace)
    b = booked(p)
    await publish_event(amqp_url, namespace, b)
    held = await the(service, p.patient_id, "appointment.booked", "queued")
    await wait_settled(namespace)
    appointments = uc(service).appointments.reminders.appointments
    await appointments.mutate(b.appointment_id, lambda a: a.end(VisitStatus.CANCELLED, START, "ev-cancel"))

    clock.at = QUIET_UNTIL + timedelta(minutes=1)
    assert await uc(service).delivery.send_due() == 0
    gone = (await service.get(f"/messages/{held['id']}")).json()
    assert (gone["status"], gone["superseded_by"]) == ("superseded", "ev-cancel")
    assert await mailbox(p.email) == []
