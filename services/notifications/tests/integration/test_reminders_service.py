"""Reminders on the real broker, store and Mailpit: planned per recipient around quiet hours, moved by a
reschedule, removed by a cancellation, whatever the order of events; sent once by two replicas."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    ConsentChanged,
    MessageSent,
    PatientRegistered,
    RelatedPersonAdded,
)
from caremesh_notifications.app import build
from caremesh_notifications.domain import Channel
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

H = timedelta(hours=1)
START = datetime(2030, 1, 15, 14, 30, tzinfo=UTC)  # 09:30 EST in New York, 15:30 CET in Paris
REMINDERS = {"appointment.reminder", "family.appointment.reminder"}
REMINDER_SUBJECT = "Reminder: your upcoming appointment"


@pytest.fixture
async def service(namespace):
    async with running(build(service_settings(NotificationsSettings, namespace))) as client:
        yield client


def uc(client: httpx.AsyncClient):
    return client._transport.app.state.usecases


async def family_of_three(
    client, amqp_url, namespace
) -> tuple[PatientRegistered, RelatedPersonAdded, RelatedPersonAdded]:
    """A patient in New York; a daughter in Paris whose consent covers appointments; a son without consent."""
    pid = str(uuid.uuid4())
    p = PatientRegistered(
        patient_id=pid, given_name="Grace", email=f"grace-{pid[:8]}@example.org", time_zone="America/New_York"
    )
    daughter = RelatedPersonAdded(
        related_person_id=str(uuid.uuid4()),
        patient_id=pid,
        given_name="Ruth",
        relationship="DAU",
        email=f"ruth-{pid[:8]}@example.org",
        time_zone="Europe/Paris",
    )
    son = RelatedPersonAdded(
        related_person_id=str(uuid.uuid4()),
        patient_id=pid,
        given_name="Tom",
        relationship="SON",
        email=f"tom-{pid[:8]}@example.org",
        time_zone="UTC",
    )
    for e in (p, daughter, son):
        await publish_event(amqp_url, namespace, e)
    await publish_event(
        amqp_url,
        namespace,
        ConsentChanged(
            related_person_id=daughter.related_person_id,
            patient_id=pid,
            categories=["appointments"],
            changed_at=datetime(2026, 1, 1, tzinfo=UTC),
        ),
    )

    async def consented():
        m = await uc(client).recipients.family.find(daughter.related_person_id)
        return (
            m is not None
            and m.categories == ["appointments"]
            and await uc(client).recipients.family.find(son.related_person_id)
            and await uc(client).recipients.contacts.find(pid)
        )

    await eventually(consented, what="contact, family and consent stored")
    return p, daughter, son


def booked(patient_id: str, start: datetime = START, appointment_id: str | None = None) -> AppointmentBooked:
    return AppointmentBooked(
        appointment_id=appointment_id or str(uuid.uuid4()),
        patient_id=patient_id,
        practitioner_id="pr",
        practitioner_name="Dr. Lovelace",
        service_code="99213",
        start=start,
        end=start + H / 2,
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
        end=start + H / 2,
        status="booked",
    )


def cancelled(b: AppointmentBooked) -> AppointmentCancelled:
    return AppointmentCancelled(
        appointment_id=b.appointment_id,
        patient_id=b.patient_id,
        service_code="99213",
        start=b.start,
        reason_code="pat",
        cancelled_by_role="patient",
        late=False,
    )


async def reminders(client, patient_id: str, appointment_id: str, status: str | None = "queued") -> dict:
    """(recipient, not_before) of the appointment's reminders, by status."""
    history = (await client.get("/messages", params={"patient_id": patient_id, "limit": 500})).json()
    return sorted(
        (m["recipient_id"] or "patient", datetime.fromisoformat(m["not_before"]))
        for m in history
        if m["template"] in REMINDERS
        and m["appointment_id"] == appointment_id
        and (status is None or m["status"] == status)
    )


async def count(client, patient_id, appointment_id, n, status="queued"):
    async def probe():
        found = await reminders(client, patient_id, appointment_id, status)
        return found if len(found) == n else None

    return await eventually(probe, what=f"{n} {status} reminders")


async def test_a_booking_plans_three_reminders_each_in_the_recipients_own_quiet_hours(service, amqp_url, namespace):
    p, daughter, son = await family_of_three(service, amqp_url, namespace)
    # The patient's nights run 22:00-08:00 in New York: 2 h before 09:30 is 07:30, so it waits until 08:00.
    r = await service.put(
        f"/patients/{p.patient_id}/preferences", json={"quiet_hours": {"start": "22:00", "end": "08:00"}}
    )
    assert r.status_code == 200, r.text
    b = booked(p.patient_id)
    event_id = await publish_event(amqp_url, namespace, b)
    planned = await count(service, p.patient_id, b.appointment_id, 6)
    ruth = daughter.related_person_id
    assert planned == sorted(
        [
            ("patient", START - 72 * H),
            ("patient", START - 24 * H),
            ("patient", datetime(2030, 1, 15, 13, tzinfo=UTC)),
            (ruth, START - 72 * H),
            (ruth, START - 24 * H),
            (ruth, START - 2 * H),
        ]
    )
    assert son.related_person_id not in {who for who, _ in planned}  # no consent, no reminders
    await wait_settled(namespace)
    assert await mailbox(son.email) == []

    # A redelivery (the same event id) plans and sends nothing new.
    await publish_event(amqp_url, namespace, b, event_id=event_id)
    await wait_settled(namespace)
    history = (await service.get(f"/patients/{p.patient_id}/messages", params={"limit": 500})).json()["items"]
    assert sorted(m["template"] for m in history) == sorted(
        ["appointment.booked", "family.appointment.booked"]
        + ["appointment.reminder"] * 3
        + ["family.appointment.reminder"] * 3
    )
    assert len(await mailbox(daughter.email)) == 1  # her confirmation, once (the patient's may wait for 08:00)


async def test_a_reschedule_moves_them_and_a_cancellation_supersedes_them(service, amqp_url, namespace):
    p, daughter, _ = await family_of_three(service, amqp_url, namespace)
    b = booked(p.patient_id)
    await publish_event(amqp_url, namespace, b)
    await count(service, p.patient_id, b.appointment_id, 6)

    later = START + timedelta(days=2)
    await publish_event(amqp_url, namespace, rescheduled(b, later))
    await count(service, p.patient_id, b.appointment_id, 6, "superseded")
    moved = await count(service, p.patient_id, b.appointment_id, 6)
    assert {t for _, t in moved} == {later - 72 * H, later - 24 * H, later - 2 * H}
    mails = await eventually(lambda: _subjects(p.email, "Your appointment has moved"), what="the move email")
    assert "Thursday 17 January 2030 at 09:30 EST" in mails[0]["Snippet"]
    await eventually(lambda: _subjects(daughter.email, "Grace's appointment has moved"), what="the family email")

    await publish_event(amqp_url, namespace, cancelled(b))
    await count(service, p.patient_id, b.appointment_id, 12, "superseded")
    assert await reminders(service, p.patient_id, b.appointment_id) == []


async def test_a_cancellation_before_the_booking_leaves_nothing_to_resurrect(service, amqp_url, namespace):
    p, _, _ = await family_of_three(service, amqp_url, namespace)
    b = booked(p.patient_id)
    await publish_event(amqp_url, namespace, cancelled(b))
    await eventually(lambda: _subjects(p.email, "Your appointment has been cancelled"), what="the cancellation")
    await publish_event(amqp_url, namespace, rescheduled(b, START + H))
    await publish_event(amqp_url, namespace, b)
    await wait_settled(namespace)
    assert await reminders(service, p.patient_id, b.appointment_id, None) == []
    assert [m["Subject"] for m in await mailbox(p.email)] == ["Your appointment has been cancelled"]


async def test_a_reschedule_before_the_booking_plans_for_the_new_time(service, amqp_url, namespace):
    p, _, _ = await family_of_three(service, amqp_url, namespace)
    b = booked(p.patient_id)
    later = START + timedelta(days=1)
    await publish_event(amqp_url, namespace, rescheduled(b, later))
    await count(service, p.patient_id, b.appointment_id, 6)
    await publish_event(amqp_url, namespace, b)
    await wait_settled(namespace)
    planned = await reminders(service, p.patient_id, b.appointment_id, None)
    assert {t for _, t in planned} == {later - 72 * H, later - 24 * H, later - 2 * H} and len(planned) == 6
    [confirmation] = await _subjects(p.email, "Your appointment is confirmed")
    assert "Wednesday 16 January 2030" in confirmation["Snippet"]  # the time we know now, not the booking's


async def _subjects(address: str, subject: str) -> list[dict]:
    return [m for m in await mailbox(address) if m["Subject"] == subject]


async def test_a_due_reminder_survives_a_restart_and_two_replicas_send_it_once(namespace, amqp_url):
    # One-minute reminders and a fast due sweep, so the reminder falls due seconds after the booking.
    settings = service_settings(NotificationsSettings, namespace, reminder_policy="default=1m", due_scan_seconds=0.2)
    pid = str(uuid.uuid4())
    p = PatientRegistered(
        patient_id=pid, given_name="Grace", email=f"grace-{pid[:8]}@example.org", time_zone="America/New_York"
    )
    b = booked(pid, start=datetime.now(UTC) + timedelta(minutes=1, seconds=6))
    async with EventCapture(amqp_url, namespace, "notifications.#") as cap:
        first = build(settings)
        async with first.router.lifespan_context(first):  # not `running`: that would drop the database
            await publish_event(amqp_url, namespace, p)
            await publish_event(amqp_url, namespace, b)
            await eventually(lambda: _subjects(p.email, "Your appointment is confirmed"), what="the confirmation")
            assert await _subjects(p.email, REMINDER_SUBJECT) == []  # not due yet: it waits in the store
        async with running(build(settings)) as one, running(build(settings)) as two:
            await eventually(lambda: _subjects(p.email, REMINDER_SUBJECT), what="the reminder", timeout=30)
            await eventually(
                lambda: [m for m in cap.of(MessageSent) if m.template == "appointment.reminder"],
                what="message.sent for the reminder",
            )
            await _sweeps_pass()
            assert len(await _subjects(p.email, REMINDER_SUBJECT)) == 1
            # Two replicas' relays may both publish one commit: the same event (one ce-id), which consumers drop.
            sent_events = {
                m.headers["ce-id"]
                for m in cap.messages
                if m.headers["ce-type"] == MessageSent.ce_type()
                and MessageSent.model_validate_json(m.body).template == "appointment.reminder"
            }
            assert len(sent_events) == 1
            [sent] = [
                m
                for m in (await one.get("/messages", params={"patient_id": pid})).json()
                if m["template"] == "appointment.reminder"
            ]
            assert (sent["status"], sent["attempts"]) == ("sent", 1)
            assert (await two.get(f"/messages/{sent['id']}")).json()["status"] == "sent"


async def _sweeps_pass() -> None:
    await asyncio.sleep(2)  # ten sweeps of each replica


class InFlight:
    """Wraps a sender to record how many sends were in flight at once."""

    def __init__(self, sender) -> None:
        self.sender, self.channel = sender, sender.channel
        self.now = self.most = 0

    async def send(self, message):
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            return await self.sender.send(message)
        finally:
            self.now -= 1


async def test_two_replicas_sweeping_at_once_send_each_due_reminder_once_and_concurrently(namespace, amqp_url, clock):
    settings = service_settings(NotificationsSettings, namespace, due_scan_seconds=3600)
    async with running(build(settings, clock=clock)) as one, running(build(settings, clock=clock)) as two:
        pid = str(uuid.uuid4())
        p = PatientRegistered(patient_id=pid, given_name="Grace", email=f"grace-{pid[:8]}@example.org", time_zone="UTC")
        await publish_event(amqp_url, namespace, p)
        await eventually(lambda: uc(one).recipients.contacts.find(pid), what="contact stored")
        start = datetime.now(UTC) + timedelta(days=5)
        for i in range(10):  # three held reminders each
            await publish_event(amqp_url, namespace, booked(pid, start + i * H))
        await count_all(one, pid, 30)
        await eventually(lambda: mailbox_with(p.email, 10), what="the ten confirmations")
        await wait_settled(namespace)

        due = start + 10 * H  # every reminder's time has come
        clock.at = due
        flights = []
        for client in (one, two):
            d = uc(client).delivery
            d.sweep_batch, d.sweep_concurrency = 7, 4  # several pages, four at a time
            d.senders[Channel.EMAIL] = InFlight(d.senders[Channel.EMAIL])
            flights.append(d.senders[Channel.EMAIL])
        sent = await asyncio.gather(uc(one).delivery.send_due(due), uc(two).delivery.send_due(due))

        assert sum(sent) == 30
        assert 1 < max(f.most for f in flights) <= 4
        await wait_settled(namespace)
        mails = await _subjects(p.email, REMINDER_SUBJECT)
        assert len(mails) == 30
        history = (await one.get("/messages", params={"patient_id": pid, "limit": 500})).json()
        reminders_sent = [m for m in history if m["template"] == "appointment.reminder"]
        assert sorted({(m["status"], m["attempts"]) for m in reminders_sent}) == [("sent", 1)]
        assert len(reminders_sent) == 30


async def count_all(client, patient_id: str, n: int) -> list[dict]:
    async def probe():
        history = (await client.get("/messages", params={"patient_id": patient_id, "limit": 500})).json()
        held = [m for m in history if m["template"] == "appointment.reminder" and m["status"] == "queued"]
        return held if len(held) == n else None

    return await eventually(probe, what=f"{n} held reminders")
