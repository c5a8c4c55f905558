"""Insurance against the real broker and its own real store."""

from datetime import UTC, date, datetime, timedelta

import pytest
from caremesh_contracts import AppointmentRequested, CoverageRegistered, EligibilityConfirmed, EligibilityDenied
from caremesh_insurance.app import build
from caremesh_insurance.settings import InsuranceSettings
from caremesh_kit.testing import EventCapture, publish_event, running, service_settings, wait_settled


@pytest.fixture
async def insurance(namespace):
    async with running(build(service_settings(InsuranceSettings, namespace))) as client:
        yield client


def coverage(patient_id: str, **overrides) -> dict:
    return {"patient_id": patient_id, "payer": "Acme Health", "plan": "PPO", "member_id": "M-1",
            "period_start": "2026-01-01", "service_codes": ["99213"]} | overrides


def requested(patient_id: str, appointment_id: str, code: str = "99213", day: date | None = None):
    start = datetime.now(UTC) + timedelta(days=2)
    return AppointmentRequested(appointment_id=appointment_id, patient_id=patient_id, practitioner_id="pr",
                                slot_id="s", service_code=code, start=start, end=start + timedelta(minutes=20),
                                service_date=day or start.date())


async def test_registering_a_coverage_emits_an_event(insurance, namespace, amqp_url):
    async with EventCapture(amqp_url, namespace) as cap:
        r = await insurance.post("/coverages", json=coverage("p1"))
        assert r.status_code == 201, r.text
        [event] = await cap.wait_for(CoverageRegistered)
    assert event.coverage_id == r.json()["id"] and "member_id" not in event.model_dump()


async def test_bad_coverage_names_the_field(insurance):
    r = await insurance.post("/coverages", json=coverage("p1", service_codes=["not-a-code"], period_start="x"))
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"period_start"}
    r = await insurance.post("/coverages", json=coverage("p1", service_codes=["nope"]))
    assert r.status_code == 422 and "not CPT/HCPCS codes: nope" in r.json()["detail"] + str(r.json()["errors"])


async def test_requested_appointment_is_confirmed_once_even_when_delivered_twice(insurance, namespace, amqp_url):
    cov = (await insurance.post("/coverages", json=coverage("p2"))).json()
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        event = requested("p2", "a-ok")
        event_id = await publish_event(amqp_url, namespace, event)
        await publish_event(amqp_url, namespace, event, event_id=event_id)
        [confirmed] = await cap.wait_for(EligibilityConfirmed)
        await wait_settled(namespace)
        assert len(cap.of(EligibilityConfirmed)) == 1 and cap.of(EligibilityDenied) == []
    assert confirmed.coverage_id == cov["id"]
    check = (await insurance.get("/eligibility-checks/a-ok")).json()
    assert check["decision"]["outcome"] == "confirmed"


@pytest.mark.parametrize("code,day_offset,reason", [
    ("99214", 0, "service_not_covered"),
    ("99213", -400, "coverage_inactive"),
])
async def test_denials_carry_a_reason(insurance, namespace, amqp_url, code, day_offset, reason):
    await insurance.post("/coverages", json=coverage("p3", period_start=str(date.today() - timedelta(days=30))))
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await publish_event(amqp_url, namespace,
                            requested("p3", "a-no", code, date.today() + timedelta(days=day_offset)))
        [denied] = await cap.wait_for(EligibilityDenied)
    assert denied.reason_code == reason and denied.reason


async def test_no_coverage_at_all_is_denied(insurance, namespace, amqp_url):
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await publish_event(amqp_url, namespace, requested("nobody", "a-none"))
        [denied] = await cap.wait_for(EligibilityDenied)
    assert denied.reason_code == "no_coverage"
