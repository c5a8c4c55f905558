"""A payer's rejection aimed at the provider, over real HTTP to a local fake payer with the real
broker and store: the patient is not denied (the plan data decides), and the visit is on the
coordinators' eligibility worklist with the rejection and what to fix."""

from datetime import date, timedelta

import pytest

from caremesh_contracts import EligibilityConfirmed
from caremesh_testing import EventCapture, publish_event
from caremesh_testing.fake_payer import Answer, FakePayer

from .conftest import requested
from .test_x12_adapter import x12_coverage


@pytest.fixture
def fake_payer():
    with FakePayer({"M-ENROL": Answer(rejection=("receiver", "50", "N"))}) as payer:
        yield payer


async def test_a_provider_ineligible_for_inquiries_is_a_coordinator_action_not_a_denial(
    setup, insurance, namespace, amqp_url, fake_payer
):
    await x12_coverage(setup, fake_payer.url, "xr1", "M-ENROL")
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await publish_event(amqp_url, namespace, requested("xr1", "a-xr1"))
        [confirmed] = await cap.wait_for(EligibilityConfirmed)
    assert confirmed.appointment_id == "a-xr1"
    result = (await insurance.get("/eligibility-checks/a-xr1")).json()["result"]
    assert [(x["loop"], x["code"]) for x in result["rejections"]] == [("2100B", "50")]
    assert "AAA 50 (Provider ineligible for inquiries)" in result["payer_error"]
    assert "enrollment" in result["payer_error"]
    r = await insurance.get("/worklists/eligibility-failures", params={"days": 30})
    assert r.status_code == 200, r.text
    listed = [v for v in r.json() if v["appointment_id"] == "a-xr1"]
    assert len(listed) == 1 and date.fromisoformat(listed[0]["service_date"]) <= date.today() + timedelta(days=3)
