"""Re-checks against the real broker and store: when a coverage or its plan changes, and N days
before the visit, once, even with two instances of the service on the same store and namespace."""

import asyncio
from datetime import UTC, date, datetime, timedelta

from caremesh_contracts import AppointmentCancelled, CoverageChanged, EligibilityConfirmed, EligibilityDenied
from caremesh_insurance.app import build
from caremesh_testing import EventCapture, eventually, publish_event, running, wait_settled
from caremesh_testing.fake_payer import Answer, FakePayer

from .conftest import Setup, requested


async def confirmed_appointment(
    setup: Setup, namespace, amqp_url, patient: str, appointment_id: str, days: int = 10, **plan
) -> tuple[dict, dict]:
    payer = await setup.payer()
    p = await setup.plan(payer["id"], **plan)
    coverage = await setup.coverage(patient, p["id"])
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await publish_event(amqp_url, namespace, requested(patient, appointment_id, days=days))
        await cap.wait_for(EligibilityConfirmed)
    return p, coverage


async def history(client, check_id: str) -> list[dict]:
    r = await client.get(f"/eligibility-checks/{check_id}/history")
    assert r.status_code == 200, r.text
    return r.json()


async def test_ending_a_coverage_rechecks_upcoming_appointments(setup, insurance, namespace, amqp_url):
    _, cov = await confirmed_appointment(setup, namespace, amqp_url, "rc1", "a-rc1")
    async with EventCapture(amqp_url, namespace, "insurance.#") as cap:
        r = await insurance.post(
            f"/coverages/{cov['id']}/end", json={"period_end": str(date.today() + timedelta(days=5)), "version": 1}
        )
        assert r.status_code == 200, r.text
        [changed] = await cap.wait_for(CoverageChanged)
        [denied] = await cap.wait_for(EligibilityDenied)
    assert (changed.coverage_version, changed.period_end) == (2, date.today() + timedelta(days=5))
    assert (denied.appointment_id, denied.reason_code, denied.trigger) == (
        "a-rc1",
        "coverage_inactive",
        "coverage_changed",
    )
    runs = await history(insurance, "a-rc1")
    assert [(r["trigger"], r["decision"]["outcome"]) for r in runs] == [
        ("appointment_requested", "confirmed"),
        ("coverage_changed", "denied"),
    ]


async def test_a_change_that_keeps_the_decision_is_rechecked_without_an_event(setup, insurance, namespace, amqp_url):
    plan, cov = await confirmed_appointment(setup, namespace, amqp_url, "rc2", "a-rc2")
    body = {k: cov[k] for k in ("member_id", "period_start", "subscriber")} | {
        "plan_id": plan["id"],
        "group_id": "G-2",
        "version": 1,
    }
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        r = await insurance.put(f"/coverages/{cov['id']}", json=body)
        assert r.status_code == 200, r.text
        await eventually(lambda: _runs(insurance, "a-rc2", 2), what="the re-check")
        await wait_settled(namespace)
        assert cap.messages == []
    r = await insurance.put(f"/coverages/{cov['id']}", json=body)  # version 1 is stale now
    assert (r.status_code, r.json()["current_version"]) == (409, 2)


async def _runs(client, check_id: str, n: int):
    runs = await history(client, check_id)
    return runs if len(runs) >= n else None


async def test_a_revised_plan_reaches_its_coverages_and_their_appointments(setup, insurance, namespace, amqp_url):
    plan, cov = await confirmed_appointment(
        setup, namespace, amqp_url, "rc3", "a-rc3", services=[{"code": "99213"}, {"code": "99214"}]
    )
    terms = {k: plan[k] for k in ("payer_id", "name", "deductible", "cost_share")}
    async with EventCapture(amqp_url, namespace, "insurance.#") as cap:
        r = await insurance.put(
            f"/plans/{plan['id']}",
            json=terms | {"services": [{"code": "99214", "prior_authorization": True}], "version": 1},
        )
        assert r.status_code == 200, r.text
        [changed] = await cap.wait_for(CoverageChanged)
        [denied] = await cap.wait_for(EligibilityDenied)
    assert (changed.coverage_id, changed.service_codes, changed.prior_authorization_codes) == (
        cov["id"],
        ["99214"],
        ["99214"],
    )
    assert (denied.reason_code, denied.trigger) == ("service_not_covered", "coverage_changed")
    coverage = (await insurance.get(f"/coverages/{cov['id']}")).json()
    assert (coverage["version"], coverage["service_codes"]) == (2, ["99214"])


async def test_a_cancelled_appointment_is_not_rechecked(setup, insurance, namespace, amqp_url):
    _, cov = await confirmed_appointment(setup, namespace, amqp_url, "rc4", "a-rc4")
    event = requested("rc4", "a-rc4", days=10)
    await publish_event(
        amqp_url,
        namespace,
        AppointmentCancelled(
            appointment_id="a-rc4",
            patient_id="rc4",
            service_code="99213",
            start=event.start,
            reason_code="pat",
            cancelled_by_role="patient",
            late=False,
        ),
    )
    await eventually(lambda: _status(insurance, "a-rc4", "cancelled"), what="the cancellation")
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await insurance.post(f"/coverages/{cov['id']}/cancel", json={})
        await wait_settled(namespace)
        assert cap.messages == []
    assert len(await history(insurance, "a-rc4")) == 1


async def _status(client, check_id: str, status: str):
    return (await client.get(f"/eligibility-checks/{check_id}")).json()["appointment_status"] == status


async def test_the_pre_visit_recheck_fires_once_with_two_instances(settings, namespace, amqp_url):
    """The visit is 10 days out; the window opens 3 days before. Two instances whose clocks read
    8 days later sweep the same store every 0.2 s: one claims the re-check (a compare-and-set
    write), asks the payer, whose answer has changed, and the denial goes out once."""
    with FakePayer({"M-PV": Answer()}) as payer_endpoint:
        async with running(build(settings)) as first:
            setup = Setup(first)
            payer = await setup.payer(
                name="ABC Company", payer_identifier="842610001", adapter="x12", x12_endpoint=payer_endpoint.url
            )
            plan = await setup.plan(payer["id"])
            await setup.coverage("pv", plan["id"], member_id="M-PV")
            async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
                await publish_event(amqp_url, namespace, requested("pv", "a-pv", days=10))
                await cap.wait_for(EligibilityConfirmed)
                assert len(payer_endpoint.received) == 1
                payer_endpoint.answers["M-PV"] = Answer(active=False)

                def later() -> datetime:
                    return datetime.now(UTC) + timedelta(days=8)

                async with running(build(settings, clock=later)), running(build(settings, clock=later)):
                    denied = (await cap.wait_for(EligibilityDenied))[0]
                    await asyncio.sleep(3)  # about 15 more sweeps by each instance
                    await wait_settled(namespace)
                    # Once: one event id. (Each replica's relay may publish a commit's events again,
                    # with the same ce-id; consumers absorb that, see "Delivery guarantees".)
                    ids = {
                        m.headers["ce-id"] for m in cap.messages if m.headers["ce-type"] == EligibilityDenied.ce_type()
                    }
                    assert len(ids) == 1
                    assert (denied.reason_code, denied.trigger) == ("coverage_inactive", "pre_visit")
                    runs = await history(first, "a-pv")
                    assert [r["trigger"] for r in runs] == ["appointment_requested", "pre_visit"]
                    assert runs[1]["result"]["adapter"] == "x12"
                    assert len(payer_endpoint.received) == 2  # the payer was asked once more, not twice
                    check = (await first.get("/eligibility-checks/a-pv")).json()
                    assert check["pre_visit_done"] is True
