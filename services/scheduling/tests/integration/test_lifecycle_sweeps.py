"""Hold expiry and automatic no-shows: background sweepers on two replicas of one store and
broker namespace, each change made exactly once."""

import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from caremesh_contracts import AppointmentHoldExpired, AppointmentNoShowRecorded, EligibilityConfirmed
from caremesh_scheduling.app import build
from caremesh_scheduling.settings import SchedulingSettings
from caremesh_testing import EventCapture, eventually, publish_event, running, service_settings, wait_settled


@pytest.fixture
def replicas(namespace):
    @contextlib.asynccontextmanager
    async def two(**overrides):
        settings = service_settings(
            SchedulingSettings, namespace, calendar_refresh_seconds=1, lifecycle_sweep_seconds=0.2, **overrides
        )
        async with running(build(settings)) as a, running(build(settings)) as b:
            yield a, b

    return two


async def test_an_expired_hold_frees_the_slot_once_across_replicas(replicas, clinic, namespace, amqp_url):
    async with replicas(hold_seconds=1.5) as (a, b):
        c = await clinic(a)
        slot = await c.first_slot(datetime.now(UTC) + timedelta(days=2))
        async with EventCapture(amqp_url, namespace, "scheduling.appointment.hold_expired") as cap:
            r = await c.book(slot["slot_id"])
            assert r.status_code == 201 and r.json()["status"] == "pending", r.text
            appt = r.json()
            held_until = datetime.fromisoformat(appt["hold_expires_at"])
            assert held_until - datetime.fromisoformat(appt["requested_at"]) == timedelta(seconds=1.5)
            assert (
                await b.post("/appointments", json={"patient_id": "p2", "slot_id": slot["slot_id"]})
            ).status_code == 409
            [event] = await cap.wait_for(AppointmentHoldExpired)
            await wait_settled(namespace)
            assert len(cap.ids_of(AppointmentHoldExpired)) == 1
        assert event.appointment_id == appt["id"] and event.held_as == "pending"
        assert (await b.get(f"/appointments/{appt['id']}")).json()["status"] == "expired"
        # Insurance's answer, late: nothing changes.
        await publish_event(
            amqp_url, namespace, EligibilityConfirmed(appointment_id=appt["id"], patient_id="p1", coverage_id="c1")
        )
        r = await b.post("/appointments", json={"patient_id": "p2", "slot_id": slot["slot_id"]})
        assert r.status_code == 201, r.text
        await wait_settled(namespace)
        assert (await a.get(f"/appointments/{appt['id']}")).json()["status"] == "expired"


async def test_a_booked_visit_nobody_arrived_for_becomes_a_no_show_once(replicas, clinic, namespace, amqp_url):
    async with replicas(no_show_after_minutes=10) as (a, b):
        c = await clinic(a)
        slots = [await c.first_slot(datetime.now(UTC) + timedelta(days=d)) for d in (2, 3)]
        ids = []
        for slot in slots:
            appt = (await c.book(slot["slot_id"])).json()
            await publish_event(
                amqp_url, namespace, EligibilityConfirmed(appointment_id=appt["id"], patient_id="p1", coverage_id="c1")
            )
            ids.append(appt["id"])

        async def booked():
            return all([(await a.get(f"/appointments/{i}")).json()["status"] == "booked" for i in ids])

        await eventually(booked, what="booked")
        uc = a._transport.app.state.usecases
        async with EventCapture(amqp_url, namespace, "scheduling.appointment.no_show_recorded") as cap:
            # Time passes: one visit ended 11 minutes ago, the other 9 (still within the grace).
            for appointment_id, ended in zip(ids, (11, 9), strict=True):
                appt = await uc.booking.appointments.repo.get(appointment_id)
                appt.end = datetime.now(UTC) - timedelta(minutes=ended)
                appt.start = appt.end - timedelta(minutes=30)
                await uc.booking.appointments.repo.save(appt)
            [event] = await cap.wait_for(AppointmentNoShowRecorded)
            await wait_settled(namespace)
            assert len(cap.ids_of(AppointmentNoShowRecorded)) == 1
        assert event.appointment_id == ids[0]
        missed = (await b.get(f"/appointments/{ids[0]}")).json()
        assert missed["status"] == "no_show" and missed["no_show_automatic"] is True
        assert (await b.get(f"/appointments/{ids[1]}")).json()["status"] == "booked"
        r = await b.get("/worklists/appointments/no-shows")
        assert [x["id"] for x in r.json()] == [ids[0]]
