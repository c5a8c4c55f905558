"""Insurance against the real broker and its own real store: coverages, their events, and the
eligibility decided by plan rules when scheduling asks."""

from datetime import date, timedelta

import pytest

from caremesh_contracts import (
    AuthorizationRequired,
    CoverageChanged,
    CoverageRegistered,
    EligibilityConfirmed,
    EligibilityDenied,
)
from caremesh_testing import EventCapture, bearer, publish_event, wait_settled


def inline(patient_id: str, **overrides) -> dict:
    """The foundation's inline form, still accepted (the demo and the end-to-end suite use it)."""
    return {
        "patient_id": patient_id,
        "payer": "Acme Health",
        "plan": "PPO",
        "member_id": "M-1",
        "period_start": "2026-01-01",
        "service_codes": ["99213"],
    } | overrides


async def test_registering_a_coverage_emits_registered_and_changed(insurance, namespace, amqp_url):
    async with EventCapture(amqp_url, namespace, "insurance.coverage.*") as cap:
        r = await insurance.post("/coverages", json=inline("p1", service_codes=["99213", "G0008"]))
        assert r.status_code == 201, r.text
        [registered] = await cap.wait_for(CoverageRegistered)
        [changed] = await cap.wait_for(CoverageChanged)
    body = r.json()
    assert registered.coverage_id == changed.coverage_id == body["id"]
    assert (changed.patient_id, changed.coverage_version, changed.status) == ("p1", 1, "active")
    assert changed.service_codes == ["99213", "G0008"] and changed.prior_authorization_codes == []
    assert changed.plan_id == body["plan_id"]
    for event in (registered, changed):
        assert "M-1" not in event.model_dump_json()  # no member id on the bus
    assert (body["payer"], body["plan"], body["service_codes"]) == ("Acme Health", "PPO", ["99213", "G0008"])
    # The inline payer is found by name the next time; its plan is the coverage's own.
    again = (await insurance.post("/coverages", json=inline("p2", payer=" acme  HEALTH"))).json()
    assert again["plan_id"] != body["plan_id"]
    assert (await insurance.get(f"/plans/{again['plan_id']}")).json()["payer_id"] == (
        await insurance.get(f"/plans/{body['plan_id']}")
    ).json()["payer_id"]


async def test_bad_coverage_names_the_field(insurance):
    r = await insurance.post("/coverages", json=inline("p1", service_codes=["not-a-code"], period_start="x"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in r.json()["errors"]} == {"period_start", "service_codes.0"}
    r = await insurance.post("/coverages", json=inline("p1", service_codes=["nope"]))
    assert r.status_code == 422 and "not a CPT/HCPCS code: nope" in str(r.json()["errors"])
    r = await insurance.post("/coverages", json=inline("p1", period_end="2025-12-31"))
    assert [e["field"] for e in r.json()["errors"]] == ["period_end"]
    r = await insurance.post("/coverages", json={k: v for k, v in inline("p1").items() if k != "plan"})
    assert (r.status_code, r.json()["field"]) == (422, "plan")
    r = await insurance.post("/coverages", json={"patient_id": "p1", "member_id": "M", "period_start": "2026-01-01"})
    assert (r.status_code, r.json()["field"]) == (422, "plan_id")
    r = await insurance.post("/coverages", json=inline("p1", plan_id="x"))
    assert (r.status_code, r.json()["field"]) == (422, "payer")
    r = await insurance.post(
        "/coverages", json={"patient_id": "p1", "plan_id": "nope", "member_id": "M", "period_start": "2026-01-01"}
    )
    assert (r.status_code, r.json()["field"], r.json()["detail"]) == (422, "plan_id", "plan nope not found")


async def test_requested_appointment_is_confirmed_once_even_when_delivered_twice(
    insurance, namespace, amqp_url, appointment
):
    cov = (await insurance.post("/coverages", json=inline("p2"))).json()
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        event = appointment("p2", "a-ok")
        event_id = await publish_event(amqp_url, namespace, event)
        await publish_event(amqp_url, namespace, event, event_id=event_id)
        [confirmed] = await cap.wait_for(EligibilityConfirmed)
        await wait_settled(namespace)
        assert len(cap.ids_of(EligibilityConfirmed)) == 1 and cap.of(EligibilityDenied) == []
    assert (confirmed.coverage_id, confirmed.trigger) == (cov["id"], "appointment_requested")
    check = (await insurance.get("/eligibility-checks/a-ok")).json()
    assert (check["decision"]["outcome"], check["appointment_id"], check["runs"]) == ("confirmed", "a-ok", 1)


@pytest.mark.parametrize(
    "code,day_offset,reason",
    [
        ("99214", 0, "service_not_covered"),
        ("99213", -400, "coverage_inactive"),
    ],
)
async def test_denials_carry_a_reason(insurance, namespace, amqp_url, appointment, code, day_offset, reason):
    await insurance.post("/coverages", json=inline("p3", period_start=str(date.today() - timedelta(days=30))))
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await publish_event(amqp_url, namespace, appointment("p3", "a-no", code, days=day_offset))
        [denied] = await cap.wait_for(EligibilityDenied)
    assert denied.reason_code == reason and denied.reason


async def test_no_coverage_at_all_is_denied(insurance, namespace, amqp_url, appointment):
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await publish_event(amqp_url, namespace, appointment("nobody", "a-none"))
        [denied] = await cap.wait_for(EligibilityDenied)
    assert denied.reason_code == "no_coverage"


async def test_plan_rules_decide_visit_limits_and_flag_prior_authorization(
    setup, insurance, namespace, amqp_url, appointment
):
    payer = await setup.payer()
    plan = await setup.plan(
        payer["id"],
        services=[
            {"code": "97110", "visits_per_year": 1, "cost_share": {"coinsurance_percent": "20"}},
            {"code": "99214", "prior_authorization": True},
        ],
    )
    await setup.coverage("p4", plan["id"])
    async with EventCapture(amqp_url, namespace, "insurance.#") as cap:
        await publish_event(amqp_url, namespace, appointment("p4", "a-pt1", "97110", days=3))
        await cap.wait_for(EligibilityConfirmed)
        await publish_event(amqp_url, namespace, appointment("p4", "a-pt2", "97110", days=5))
        [denied] = await cap.wait_for(EligibilityDenied)
        # The plan needs a prior authorization for 99214: the visit waits on one instead of being confirmed.
        await publish_event(amqp_url, namespace, appointment("p4", "a-auth", "99214", days=4))
        [required] = await cap.wait_for(AuthorizationRequired)
        await wait_settled(namespace)
        assert len(cap.ids_of(EligibilityConfirmed)) == 1
    assert (denied.appointment_id, denied.reason_code) == ("a-pt2", "visit_limit_reached")
    assert (required.appointment_id, required.service_code) == ("a-auth", "99214")
    first = (await insurance.get("/eligibility-checks/a-pt1")).json()["result"]["benefits"][0]
    assert (first["coinsurance_percent"], first["deductible"], first["visits_per_year"]) == ("20", "500.00", 1)
    auth = (await insurance.get("/eligibility-checks/a-auth")).json()["result"]["benefits"][0]
    assert (auth["prior_authorization_required"], auth["copay"]) == (True, "25.00")


async def test_a_cancelled_visit_no_longer_counts_against_the_limit(setup, insurance, namespace, amqp_url, appointment):
    from caremesh_contracts import AppointmentCancelled

    plan = await setup.plan((await setup.payer())["id"], services=[{"code": "97110", "visits_per_year": 1}])
    await setup.coverage("p5", plan["id"])
    first = appointment("p5", "a-first", "97110", days=3)
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await publish_event(amqp_url, namespace, first)
        await cap.wait_for(EligibilityConfirmed)
        await publish_event(
            amqp_url,
            namespace,
            AppointmentCancelled(
                appointment_id="a-first",
                patient_id="p5",
                service_code="97110",
                start=first.start,
                reason_code="pat",
                cancelled_by_role="patient",
                late=False,
            ),
        )
        await wait_settled(namespace)
        await publish_event(amqp_url, namespace, appointment("p5", "a-second", "97110", days=6))
        await cap.wait_for(EligibilityConfirmed, count=2)
    check = (await insurance.get("/eligibility-checks/a-first")).json()
    assert check["appointment_status"] == "cancelled"
    r = await insurance.post("/eligibility-checks/a-first/recheck")
    assert (r.status_code, r.json()["current"]) == (409, "cancelled")


async def test_a_patient_sees_only_their_own_coverages_and_checks_and_every_access_is_audited(
    insurance, namespace, amqp_url, appointment
):
    cov = (await insurance.post("/coverages", json=inline("p6"))).json()
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await publish_event(amqp_url, namespace, appointment("p6", "a-own"))
        await cap.wait_for(EligibilityConfirmed)
    own, other = bearer("patient", "pat-6", patient_id="p6"), bearer("patient", "pat-7", patient_id="p7")
    assert (await insurance.get(f"/coverages/{cov['id']}", headers=own)).status_code == 200
    assert (await insurance.get(f"/coverages/{cov['id']}", headers=other)).status_code == 403
    assert (await insurance.get("/eligibility-checks/a-own/history", headers=own)).status_code == 200
    assert (await insurance.get("/eligibility-checks", params={"patient_id": "p6"}, headers=other)).status_code == 403
    assert (await insurance.get("/fhir/CoverageEligibilityResponse/a-own", headers=other)).status_code == 403
    assert (await insurance.post("/coverages", json=inline("p6"), headers=own)).status_code == 403
    assert (await insurance.post("/eligibility-checks/a-own/recheck", headers=own)).status_code == 403
    trail = (await insurance.get("/audit", params={"patient_id": "p6"}, headers=bearer("admin"))).json()
    seen = {(e["action"], e["resource_type"], e["allowed"]) for e in trail}
    assert {
        ("create", "Coverage", True),
        ("read", "Coverage", True),
        ("read", "Coverage", False),
        ("read", "EligibilityCheck", True),
    } <= seen
    denied_reads = [e for e in trail if not e["allowed"]]
    assert {e["actor"] for e in denied_reads} == {"pat-7"}
    assert (await insurance.get("/payers", headers=bearer("clinician"))).status_code == 200
    assert (await insurance.post("/payers", json={"name": "X"}, headers=bearer("clinician"))).status_code == 403
    assert (await insurance.get("/plans")).status_code == 200
