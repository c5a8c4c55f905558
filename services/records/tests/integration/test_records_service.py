"""Records against the real broker and its own real store."""

from datetime import UTC, datetime, timedelta

import pytest

from caremesh_contracts import (
    AppointmentBooked,
    CoverageRegistered,
    EligibilityConfirmed,
    EligibilityDenied,
    PatientRegistered,
)
from caremesh_kit.bus import REASON_HEADER
from caremesh_records.app import build
from caremesh_records.settings import RecordsSettings
from caremesh_testing import (
    EventCapture,
    bearer,
    drain_queue,
    event_headers,
    eventually,
    publish_event,
    publish_raw,
    running,
    service_settings,
    wait_settled,
)

PATIENT = {
    "given_name": "Ada",
    "family_name": "Test",
    "birth_date": "1984-03-09",
    "email": "ada@example.org",
    "time_zone": "Europe/London",
}


@pytest.fixture
async def records(namespace):
    async with running(build(service_settings(RecordsSettings, namespace))) as client:
        yield client


def booked(patient_id: str) -> AppointmentBooked:
    start = datetime.now(UTC) + timedelta(days=1)
    return AppointmentBooked(
        appointment_id="appt-1",
        patient_id=patient_id,
        practitioner_id="pr-1",
        practitioner_name="Dr. Who",
        service_code="99213",
        start=start,
        end=start + timedelta(minutes=30),
    )


async def test_registering_a_patient_emits_only_contact_details(records, namespace, amqp_url):
    async with EventCapture(amqp_url, namespace) as cap:
        r = await records.post("/patients", json=PATIENT)
        assert r.status_code == 201, r.text
        [event] = await cap.wait_for(PatientRegistered)
    assert event.patient_id == r.json()["id"]
    assert event.email == "ada@example.org" and event.time_zone == "Europe/London"
    assert "birth_date" not in event.model_dump() and "family_name" not in event.model_dump()


async def test_invalid_patient_is_a_problem_naming_the_fields(records):
    r = await records.post("/patients", json=PATIENT | {"email": "nope", "time_zone": "Mars/Olympus"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"email", "time_zone"}


async def test_every_endpoint_checks_the_caller(records):
    r = await records.post("/patients", json=PATIENT, headers={"Authorization": ""})
    assert r.status_code == 401
    r = await records.post("/patients", json=PATIENT, headers=bearer("patient", patient_id="someone"))
    assert r.status_code == 403
    pid = (await records.post("/patients", json=PATIENT)).json()["id"]
    assert (await records.get(f"/patients/{pid}", headers=bearer("patient", patient_id="other"))).status_code == 403
    assert (await records.get(f"/patients/{pid}", headers=bearer("patient", patient_id=pid))).status_code == 200
    assert (await records.get("/metrics", headers=bearer("coordinator"))).status_code == 403
    assert (await records.get("/metrics", headers=bearer("service"))).status_code == 200


async def test_booked_appointment_lands_on_the_timeline_once(records, namespace, amqp_url):
    pid = (await records.post("/patients", json=PATIENT)).json()["id"]
    event = booked(pid)
    event_id = await publish_event(amqp_url, namespace, event)
    await publish_event(amqp_url, namespace, event, event_id=event_id)  # redelivery of the same event

    async def timeline():
        return (await records.get(f"/patients/{pid}/timeline")).json()

    entries = await eventually(timeline, what="timeline entry")
    await publish_event(amqp_url, namespace, event, event_id=event_id)
    # The third copy went through the same queue after the first two: once it is consumed, nothing changed.
    await eventually(lambda: _consumed(records), what="third delivery consumed")
    assert len(await timeline()) == 1
    assert entries[0]["appointment_id"] == "appt-1" and entries[0]["kind"] == "appointment.booked"


async def test_coverage_decisions_land_on_the_timeline_in_time_order(records, namespace, amqp_url):
    pid = (await records.post("/patients", json=PATIENT)).json()["id"]
    t0 = datetime.now(UTC) - timedelta(hours=3)
    await publish_event(
        amqp_url,
        namespace,
        CoverageRegistered(coverage_id="cov-1", patient_id=pid, payer="Acme Health", period_start=t0.date()),
        time=t0,
    )
    await publish_event(
        amqp_url,
        namespace,
        EligibilityDenied(
            appointment_id="appt-2", patient_id=pid, reason_code="not-covered", reason="The plan does not cover this"
        ),
        time=t0 + timedelta(hours=2),
    )
    await publish_event(
        amqp_url,
        namespace,
        EligibilityConfirmed(appointment_id="appt-1", patient_id=pid, coverage_id="cov-1"),
        time=t0 + timedelta(hours=1),
    )

    async def three():
        entries = (await records.get(f"/patients/{pid}/timeline")).json()
        return entries if len(entries) == 3 else None

    entries = await eventually(three, what="three coverage entries")
    assert [e["kind"] for e in entries] == ["coverage.registered", "eligibility.confirmed", "eligibility.denied"]
    assert entries[0]["appointment_id"] is None and "Acme Health" in entries[0]["summary"]
    assert entries[1]["appointment_id"] == "appt-1"
    assert "does not cover" in entries[2]["summary"]


async def _consumed(client) -> bool:
    text = (await client.get("/metrics", headers=bearer("service"))).text
    line = [
        x
        for x in text.splitlines()
        if x.startswith("caremesh_messages_handled_total") and "appointment.booked" in x and 'outcome="ack"' in x
    ]
    return bool(line) and float(line[0].rsplit(" ", 1)[1]) >= 3


async def test_malformed_event_is_dead_lettered_with_reason_and_service_keeps_going(records, namespace, amqp_url):
    queue = f"{namespace}.records.scheduling.appointment.booked"
    await publish_raw(
        amqp_url, namespace, "scheduling.appointment.booked", b'{"patient_id": 42}', event_headers(AppointmentBooked)
    )
    await publish_raw(amqp_url, namespace, "scheduling.appointment.booked", b"not json at all", {"x": "y"})
    dead = []

    async def collect():
        dead.extend(await drain_queue(amqp_url, queue + ".dlq"))
        return len(dead) >= 2

    await eventually(collect, what="two dead letters")
    reasons = sorted(h[REASON_HEADER] for h, _ in dead)
    assert reasons[0].startswith("invalid body:") and "appointment_id" in reasons[0]
    assert reasons[1].startswith("malformed envelope: missing CloudEvents headers")
    # Still consuming: a good event after the bad ones is applied.
    pid = (await records.post("/patients", json=PATIENT)).json()["id"]
    await publish_event(amqp_url, namespace, booked(pid))
    await eventually(lambda: _timeline_len(records, pid), what="good event applied")


async def _timeline_len(client, pid):
    return len((await client.get(f"/patients/{pid}/timeline")).json())


async def test_a_fulfilled_appointment_becomes_one_encounter_and_misses_are_noted(records, namespace, amqp_url):
    from caremesh_contracts import AppointmentCancelled, AppointmentFulfilled, AppointmentNoShowRecorded

    pid = (await records.post("/patients", json=PATIENT)).json()["id"]
    start = datetime(2030, 5, 1, 9, tzinfo=UTC)
    fulfilled = AppointmentFulfilled(
        appointment_id="visit-1",
        patient_id=pid,
        practitioner_id="pr-1",
        practitioner_name="Dr. Who",
        service_code="99213",
        start=start,
        end=start + timedelta(minutes=30),
        completed_at=start + timedelta(minutes=40),
    )
    eid = await publish_event(amqp_url, namespace, fulfilled)
    await publish_event(amqp_url, namespace, fulfilled, event_id=eid)  # redelivered
    await publish_event(
        amqp_url,
        namespace,
        AppointmentNoShowRecorded(
            appointment_id="visit-2", patient_id=pid, service_code="99213", start=start + timedelta(days=7)
        ),
    )
    await publish_event(
        amqp_url,
        namespace,
        AppointmentCancelled(
            appointment_id="visit-3",
            patient_id=pid,
            service_code="99213",
            start=start + timedelta(days=14),
            reason_code="pat",
            cancelled_by_role="patient",
            late=True,
        ),
    )

    async def three_entries():
        entries = (await records.get(f"/patients/{pid}/timeline")).json()
        return entries if len(entries) >= 3 else None

    entries = await eventually(three_entries, what="timeline entries")
    await wait_settled(namespace)
    entries = (await records.get(f"/patients/{pid}/timeline")).json()
    assert sorted((e["appointment_id"], e["kind"]) for e in entries) == [
        ("visit-1", "encounter"),
        ("visit-2", "appointment.no_show"),
        ("visit-3", "appointment.cancelled"),
    ]
    [encounter] = (await records.get(f"/patients/{pid}/encounters")).json()
    assert encounter["id"] == "visit-1" and encounter["status"] == "finished"
    assert encounter["practitioner_name"] == "Dr. Who" and encounter["service_code"] == "99213"
