"""Reacting to insurance's eligibility and prior-authorization events, over HTTP and the broker."""

from datetime import UTC, date, datetime, timedelta

from caremesh_contracts import (
    AppointmentAwaitingAuthorization,
    AppointmentBooked,
    AuthorizationApproved,
    AuthorizationDenied,
    AuthorizationExpired,
    AuthorizationRequired,
    EligibilityConfirmed,
    EligibilityDenied,
)
from caremesh_testing import EventCapture, bearer, eventually, publish_event, wait_settled

IDS = {"authorization_id": "au-1", "patient_id": "p1", "service_code": "99213"}


def approved(appointment_id: str, covers: bool = True) -> AuthorizationApproved:
    return AuthorizationApproved(
        appointment_id=appointment_id,
        partial=False,
        covers_appointment=covers,
        authorization_number="A-1",
        approved_units=4,
        valid_from=date.today(),
        valid_to=date.today() + timedelta(days=90),
        **IDS,
    )


def denied(appointment_id: str) -> AuthorizationDenied:
    return AuthorizationDenied(
        appointment_id=appointment_id, reason_code="A3", reason="not necessary", appealable=True, **IDS
    )


async def requested(scheduling, clinic, days: int = 3) -> tuple[object, dict]:
    c = await clinic(scheduling)
    slot = await c.first_slot(datetime.now(UTC) + timedelta(days=days))
    r = await c.book(slot["slot_id"])
    assert r.status_code == 201, r.text
    return c, r.json()


async def until(scheduling, appointment_id: str, check) -> dict:
    async def probe():
        body = (await scheduling.get(f"/appointments/{appointment_id}")).json()
        return body if check(body) else None

    return await eventually(probe, what=f"appointment {appointment_id}")


async def test_authorization_required_then_approved_books_once(scheduling, clinic, namespace, amqp_url):
    _, appt = await requested(scheduling, clinic)
    async with EventCapture(amqp_url, namespace, "scheduling.appointment.*") as cap:
        required = AuthorizationRequired(appointment_id=appt["id"], coverage_id="cov-1", **IDS)
        eid = await publish_event(amqp_url, namespace, required)
        [waiting] = await cap.wait_for(AppointmentAwaitingAuthorization)
        body = await until(scheduling, appt["id"], lambda b: b["status"] == "waiting_on_authorization")
        assert body["authorization_id"] == "au-1"
        assert datetime.fromisoformat(body["hold_expires_at"]) > datetime.fromisoformat(appt["hold_expires_at"])
        assert waiting.hold_expires_at == datetime.fromisoformat(body["hold_expires_at"])
        r = await scheduling.get("/worklists/appointments/insurance")
        assert appt["id"] in [x["id"] for x in r.json()]
        await publish_event(amqp_url, namespace, approved(appt["id"]))
        await publish_event(amqp_url, namespace, approved(appt["id"]))  # redelivered
        await publish_event(amqp_url, namespace, required, event_id=eid)  # and the request again, late
        [booked] = await cap.wait_for(AppointmentBooked)
        await wait_settled(namespace)
        assert len(cap.ids_of(AppointmentBooked)) == 1 and len(cap.ids_of(AppointmentAwaitingAuthorization)) == 1
    body = (await scheduling.get(f"/appointments/{appt['id']}")).json()
    assert (body["status"], body["hold_expires_at"], body["needs_action"]) == ("booked", None, None)
    assert booked.appointment_id == appt["id"]


async def test_approval_before_the_requirement_still_books(scheduling, clinic, namespace, amqp_url):
    _, appt = await requested(scheduling, clinic)
    await publish_event(amqp_url, namespace, approved(appt["id"]))
    await until(scheduling, appt["id"], lambda b: b["status"] == "booked")
    await publish_event(amqp_url, namespace, AuthorizationRequired(appointment_id=appt["id"], coverage_id="c", **IDS))
    await wait_settled(namespace)
    assert (await scheduling.get(f"/appointments/{appt['id']}")).json()["status"] == "booked"


async def test_denial_needs_action_then_self_pay_books(scheduling, clinic, namespace, amqp_url):
    _, appt = await requested(scheduling, clinic)
    await publish_event(amqp_url, namespace, AuthorizationRequired(appointment_id=appt["id"], coverage_id="c", **IDS))
    await until(scheduling, appt["id"], lambda b: b["status"] == "waiting_on_authorization")
    await publish_event(amqp_url, namespace, denied(appt["id"]))
    body = await until(scheduling, appt["id"], lambda b: b["needs_action"] is not None)
    assert body["status"] == "waiting_on_authorization"
    assert (body["needs_action"]["reason"], body["needs_action"]["reason_code"]) == ("authorization_denied", "A3")
    listed = (await scheduling.get("/worklists/appointments/insurance")).json()
    assert [x["needs_action"]["reason"] for x in listed if x["id"] == appt["id"]] == ["authorization_denied"]
    # Only coordinators choose self-pay.
    r = await scheduling.post(f"/appointments/{appt['id']}/self-pay", headers=bearer("clinician"))
    assert r.status_code == 403
    async with EventCapture(amqp_url, namespace, "scheduling.appointment.booked") as cap:
        r = await scheduling.post(f"/appointments/{appt['id']}/self-pay")
        assert r.status_code == 200, r.text
        await cap.wait_for(AppointmentBooked)
    body = r.json()
    assert (body["status"], body["payment"], body["needs_action"]) == ("booked", "self_pay", None)
    # Insurance's later word no longer matters for a self-pay visit.
    await publish_event(
        amqp_url,
        namespace,
        EligibilityDenied(appointment_id=appt["id"], patient_id="p1", reason_code="no_coverage", reason="none"),
    )
    await wait_settled(namespace)
    assert (await scheduling.get(f"/appointments/{appt['id']}")).json()["needs_action"] is None


async def test_eligibility_denied_for_a_booked_visit_needs_action_and_cancel_frees_it(
    scheduling, clinic, namespace, amqp_url
):
    c, appt = await requested(scheduling, clinic)
    await publish_event(
        amqp_url, namespace, EligibilityConfirmed(appointment_id=appt["id"], patient_id="p1", coverage_id="c1")
    )
    await until(scheduling, appt["id"], lambda b: b["status"] == "booked")
    await publish_event(
        amqp_url,
        namespace,
        EligibilityDenied(
            appointment_id=appt["id"],
            patient_id="p1",
            reason_code="coverage_inactive",
            reason="ended",
            trigger="coverage_changed",
        ),
    )
    body = await until(scheduling, appt["id"], lambda b: b["needs_action"] is not None)
    assert body["status"] == "booked" and body["needs_action"]["reason"] == "eligibility_denied"
    assert appt["id"] in [x["id"] for x in (await scheduling.get("/worklists/appointments/insurance")).json()]
    r = await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})
    assert r.status_code == 200 and r.json()["needs_action"] is None
    assert (await c.book(appt["slot_id"], "p2")).status_code == 201


async def test_an_expired_authorization_flags_the_upcoming_visit(scheduling, clinic, namespace, amqp_url):
    _, appt = await requested(scheduling, clinic)
    await publish_event(amqp_url, namespace, approved(appt["id"]))
    await until(scheduling, appt["id"], lambda b: b["status"] == "booked")
    expired = AuthorizationExpired(appointment_id=appt["id"], reason="units_exhausted", **IDS)
    await publish_event(amqp_url, namespace, expired)
    await publish_event(amqp_url, namespace, expired)
    body = await until(scheduling, appt["id"], lambda b: b["needs_action"] is not None)
    assert (body["status"], body["needs_action"]["reason"]) == ("booked", "authorization_expired")


async def test_a_denial_before_the_requirement_still_waits_and_flags(scheduling, clinic, namespace, amqp_url):
    _, appt = await requested(scheduling, clinic)
    await publish_event(amqp_url, namespace, denied(appt["id"]))
    body = await until(scheduling, appt["id"], lambda b: b["needs_action"] is not None)
    assert (body["status"], body["authorization_id"]) == ("waiting_on_authorization", "au-1")
    await publish_event(amqp_url, namespace, AuthorizationRequired(appointment_id=appt["id"], coverage_id="c", **IDS))
    await wait_settled(namespace)
    after = (await scheduling.get(f"/appointments/{appt['id']}")).json()
    assert (after["status"], after["needs_action"], after["version"]) == (
        body["status"],
        body["needs_action"],
        body["version"],
    )
