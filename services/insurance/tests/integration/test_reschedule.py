"""Reschedules against the real broker and store: the check is re-decided for the new day and says
so, a redelivered or stale reschedule changes nothing, one that overtakes its request waits for
it, and a unit held on an authorization follows the visit or is let go."""

from datetime import UTC, datetime, timedelta

from caremesh_contracts import (
    AppointmentRequested,
    AppointmentRescheduled,
    AuthorizationApproved,
    AuthorizationRequired,
    EligibilityConfirmed,
    EligibilityDenied,
)
from caremesh_testing import EventCapture, eventually, publish_event, wait_settled

from .conftest import Setup, requested


def rescheduled(
    r: AppointmentRequested, start: datetime, previous: datetime | None = None, status: str = "booked"
) -> AppointmentRescheduled:
    return AppointmentRescheduled(
        appointment_id=r.appointment_id,
        patient_id=r.patient_id,
        practitioner_id=r.practitioner_id,
        practitioner_name="Dr. P",
        service_code=r.service_code,
        previous_start=previous or r.start,
        start=start,
        end=start + timedelta(minutes=20),
        status=status,
    )


async def runs(client, check_id: str, n: int):
    r = await client.get(f"/eligibility-checks/{check_id}/history")
    if r.status_code != 200:
        return None
    body = r.json()
    return body if len(body) >= n else None


async def covered_until_the_visit(setup: Setup, patient: str, request: AppointmentRequested, services=None) -> dict:
    payer = await setup.payer()
    plan = await setup.plan(payer["id"], services=services)
    return await setup.coverage(patient, plan["id"], period_end=str(request.service_date))


async def test_a_move_past_the_coverage_denies_and_a_stale_move_does_not_undo_it(setup, insurance, namespace, amqp_url):
    request = requested("rs1", "a-rs1", days=5)
    await covered_until_the_visit(setup, "rs1", request)
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await publish_event(amqp_url, namespace, request)
        await cap.wait_for(EligibilityConfirmed)
        first_at = datetime.now(UTC)
        later, back = request.start + timedelta(days=1), request.start + timedelta(hours=1)
        move_id = await publish_event(
            amqp_url, namespace, rescheduled(request, later), time=first_at + timedelta(seconds=2)
        )
        [denied] = await cap.wait_for(EligibilityDenied)
        await publish_event(
            amqp_url, namespace, rescheduled(request, later), event_id=move_id, time=first_at + timedelta(seconds=2)
        )  # redelivered
        # An earlier move (back onto a covered time) arriving late: stale.
        await publish_event(amqp_url, namespace, rescheduled(request, back), time=first_at)
        await wait_settled(namespace)
        assert len({m.headers["ce-id"] for m in cap.messages}) == 2  # by id: delivery is at least once
    assert (denied.appointment_id, denied.reason_code, denied.trigger) == ("a-rs1", "coverage_inactive", "rescheduled")
    check = (await insurance.get("/eligibility-checks/a-rs1")).json()
    assert (check["service_date"], check["decision"]["outcome"]) == (str(later.date()), "denied")
    history = await runs(insurance, "a-rs1", 2)
    assert [r["trigger"] for r in history] == ["appointment_requested", "rescheduled"]


async def test_a_move_that_keeps_the_visit_covered_confirms_for_the_new_day(setup, insurance, namespace, amqp_url):
    request = requested("rs2", "a-rs2", days=5)
    payer = await setup.payer()
    plan = await setup.plan(payer["id"])
    await setup.coverage("rs2", plan["id"])
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await publish_event(amqp_url, namespace, request)
        await cap.wait_for(EligibilityConfirmed)
        await publish_event(amqp_url, namespace, rescheduled(request, request.start + timedelta(days=2)))
        await eventually(lambda: len(cap.distinct(EligibilityConfirmed)) == 2)
    assert [e.trigger for e in cap.distinct(EligibilityConfirmed)] == ["appointment_requested", "rescheduled"]


async def test_a_move_that_overtakes_its_request_waits_for_it(setup, insurance, namespace, amqp_url):
    request = requested("rs3", "a-rs3", days=5)
    await covered_until_the_visit(setup, "rs3", request)
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await publish_event(
            amqp_url, namespace, rescheduled(request, request.start + timedelta(days=1), status="pending")
        )
        await publish_event(amqp_url, namespace, request)
        [denied] = await cap.wait_for(EligibilityDenied)
    assert denied.trigger == "rescheduled"
    check = (await insurance.get("/eligibility-checks/a-rs3")).json()
    assert check["service_date"] == str(request.service_date + timedelta(days=1))


async def approve(client, auth_id: str, valid_to, units: int = 2) -> None:
    url = f"/authorizations/{auth_id}"
    assert (await client.post(f"{url}/draft", json={})).status_code == 200
    assert (await client.post(f"{url}/submit", json={"units_requested": units})).status_code == 200
    r = await client.post(
        f"{url}/approve",
        json={
            "authorization_number": "AUTH-9",
            "approved_units": units,
            "valid_from": str(valid_to - timedelta(days=10)),
            "valid_to": str(valid_to),
        },
    )
    assert r.status_code == 200, r.text


async def test_a_unit_held_for_a_visit_moved_past_the_approval_is_let_go(setup, insurance, namespace, amqp_url):
    request = requested("rs4", "a-rs4", "97110", days=5)
    payer = await setup.payer()
    plan = await setup.plan(payer["id"], services=[{"code": "97110", "prior_authorization": True}])
    await setup.coverage("rs4", plan["id"])
    async with EventCapture(amqp_url, namespace, "insurance.authorization.*") as cap:
        await publish_event(amqp_url, namespace, request)
        [required] = await cap.wait_for(AuthorizationRequired)
        await approve(insurance, required.authorization_id, request.service_date)
        await cap.wait_for(AuthorizationApproved)
        await publish_event(amqp_url, namespace, rescheduled(request, request.start + timedelta(days=1)))
        await eventually(
            lambda: len(cap.distinct(AuthorizationApproved)) == 2 and len(cap.distinct(AuthorizationRequired)) == 2
        )
    covered, released = cap.distinct(AuthorizationApproved)
    assert (covered.covers_appointment, released.covers_appointment) == (True, False)
    renewed = cap.distinct(AuthorizationRequired)[1]
    assert renewed.appointment_id == "a-rs4" and renewed.authorization_id != required.authorization_id
    old = (await insurance.get(f"/authorizations/{required.authorization_id}")).json()
    assert [(x["appointment_id"], x["state"]) for x in old["appointments"]] == [("a-rs4", "not_covered")]
    check = (await insurance.get("/eligibility-checks/a-rs4")).json()
    assert (check["authorization_id"], check["awaiting_authorization"]) == (renewed.authorization_id, True)
