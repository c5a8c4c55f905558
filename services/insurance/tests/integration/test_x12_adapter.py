"""The X12 adapter over real HTTP against a local fake payer (a small server that answers 270s
with 271s), with the real broker and store; payer responses posted to the API; the FHIR view."""

from decimal import Decimal

import pytest

from caremesh_contracts import EligibilityConfirmed, EligibilityDenied
from caremesh_testing import EventCapture, bearer, publish_event, wait_settled
from caremesh_testing.fake_payer import Answer, FakePayer
from caremesh_testing.fixtures import fixtures_dir

from .conftest import Setup, requested

FIXTURES = fixtures_dir() / "x12"


@pytest.fixture
def fake_payer():
    with FakePayer(
        {
            "M-OK": Answer(copay=Decimal("15"), deductible=Decimal("750"), deductible_remaining=Decimal("300")),
            "M-GONE": Answer(rejection=("patient", "75", "C")),
            "M-DOWN": Answer(status=503),
            "M-OFF": Answer(active=False),
        }
    ) as payer:
        yield payer


async def x12_coverage(setup: Setup, endpoint: str, patient: str, member: str, **over) -> dict:
    payer = await setup.payer(name="ABC Company", payer_identifier="842610001", adapter="x12", x12_endpoint=endpoint)
    plan = await setup.plan(payer["id"], services=[{"code": "99213"}, {"code": "99214"}])
    return await setup.coverage(patient, plan["id"], member_id=member, **over)


async def decide(namespace, amqp_url, patient: str, appointment_id: str, event_type):
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        await publish_event(amqp_url, namespace, requested(patient, appointment_id))
        [event] = await cap.wait_for(event_type)
    return event


async def test_an_active_member_is_confirmed_with_the_payers_figures(setup, insurance, namespace, amqp_url, fake_payer):
    cov = await x12_coverage(setup, fake_payer.url, "x1", "M-OK")
    confirmed = await decide(namespace, amqp_url, "x1", "a-x1", EligibilityConfirmed)
    assert confirmed.coverage_id == cov["id"]
    check = (await insurance.get("/eligibility-checks/a-x1")).json()
    result = check["result"]
    assert (result["adapter"], result["coverage_active"], result["payer_error"]) == ("x12", True, None)
    service = result["benefits"][0]
    assert (service["copay"], service["deductible"], service["deductible_remaining"]) == ("15.00", "750.00", "300.00")
    [sent] = fake_payer.received
    assert "NM1*IL*1*LOVELACE*ADA****MI*M-OK~" in sent and "EQ*30~" in sent
    r = await insurance.get("/fhir/CoverageEligibilityResponse/a-x1")
    assert r.status_code == 200 and r.headers["content-type"] == "application/fhir+json"
    fhir = r.json()
    assert (fhir["resourceType"], fhir["outcome"], fhir["insurance"][0]["inforce"]) == (
        "CoverageEligibilityResponse",
        "complete",
        True,
    )
    assert (await insurance.get("/fhir/CoverageEligibilityResponse/a-x1/_history/1")).json()["meta"]["versionId"] == "1"
    r = await insurance.get("/fhir/CoverageEligibilityResponse/a-x1/_history/9")
    assert (r.status_code, r.json()["field"]) == (404, "run")


async def test_a_member_the_payer_cannot_find_is_denied_with_the_aaa_code(
    setup, insurance, namespace, amqp_url, fake_payer
):
    await x12_coverage(setup, fake_payer.url, "x2", "M-GONE")
    denied = await decide(namespace, amqp_url, "x2", "a-x2", EligibilityDenied)
    assert (denied.reason_code, denied.reason) == ("payer_rejected", "The insurer could not verify this coverage.")
    [rejection] = (await insurance.get("/eligibility-checks/a-x2")).json()["result"]["rejections"]
    assert (rejection["loop"], rejection["code"], rejection["description"]) == (
        "2100C",
        "75",
        "Subscriber/insured not found",
    )
    fhir = (await insurance.get("/fhir/CoverageEligibilityResponse/a-x2")).json()
    assert fhir["outcome"] == "error" and fhir["error"][0]["code"]["coding"][0]["code"] == "75"


async def test_an_inactive_member_is_denied_and_a_dependent_is_asked_at_level_23(
    setup, insurance, namespace, amqp_url, fake_payer
):
    await x12_coverage(
        setup,
        fake_payer.url,
        "x3",
        "M-OFF",
        relationship="child",
        dependent={"given_name": "Mary", "family_name": "Lovelace", "birth_date": "2015-06-01"},
    )
    denied = await decide(namespace, amqp_url, "x3", "a-x3", EligibilityDenied)
    assert denied.reason_code == "coverage_inactive"
    assert "HL*4*3*23*0~" in fake_payer.received[0] and "NM1*03*1*LOVELACE*MARY~" in fake_payer.received[0]


async def test_a_payer_that_is_down_leaves_the_decision_to_the_plan(setup, insurance, namespace, amqp_url, fake_payer):
    await x12_coverage(setup, fake_payer.url, "x4", "M-DOWN")
    await decide(namespace, amqp_url, "x4", "a-x4", EligibilityConfirmed)
    result = (await insurance.get("/eligibility-checks/a-x4")).json()["result"]
    assert (result["adapter"], result["payer_error"]) == ("rules", "the payer endpoint answered HTTP 503")


async def test_on_demand_checks_ask_the_payer_and_raise_no_event(setup, insurance, namespace, amqp_url, fake_payer):
    await x12_coverage(setup, fake_payer.url, "x5", "M-OK")
    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        r = await insurance.post(
            "/eligibility-checks", json={"patient_id": "x5", "service_code": "99214", "service_date": "2026-12-01"}
        )
        assert r.status_code == 201, r.text
        await wait_settled(namespace)
        assert cap.messages == []
    check = r.json()
    assert (check["appointment_id"], check["trigger"], check["decision"]["outcome"], check["result"]["adapter"]) == (
        None,
        "on_demand",
        "confirmed",
        "x12",
    )
    listed = (await insurance.get("/eligibility-checks", params={"patient_id": "x5"})).json()
    assert [c["id"] for c in listed] == [check["id"]]
    r = await insurance.post(
        "/eligibility-checks", json={"patient_id": "x5", "service_code": "bad", "service_date": "2026-12-01"}
    )
    assert (r.status_code, [e["field"] for e in r.json()["errors"]]) == (422, ["service_code"])


# -- a 271 that reached a coordinator another way, posted to the API --------------------------------------


def sample(name: str) -> str:
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f"the X12 sample {path} is missing (see shared/fixtures/README.md)")
    return path.read_text()


async def test_posted_271s_are_checked_and_recorded(setup, insurance, namespace, amqp_url, fake_payer):
    await x12_coverage(setup, fake_payer.url, "x6", "M-OK")
    await decide(namespace, amqp_url, "x6", "a-x6", EligibilityConfirmed)
    url = "/eligibility-checks/a-x6/payer-responses"
    edi = {"content-type": "application/EDI-X12"}

    r = await insurance.post(url, content=b"garbage", headers=edi)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert (r.json()["field"], r.json()["detail"]) == (
        "body",
        "the 271 is not valid: not an X12 interchange: it must start with an ISA segment",
    )
    r = await insurance.post(url, content=b"\xff\xfe", headers=edi)
    assert (r.status_code, r.json()["field"]) == (422, "body")
    broken = sample("subscriber-health-benefit-check.271").replace("SE*22*", "SE*23*")
    r = await insurance.post(url, content=broken.encode(), headers=edi)
    assert (r.status_code, r.json()["segment"], r.json()["position"]) == (422, "SE", 24)
    assert "SE01 says 23 segments but the transaction set has 22" in r.json()["detail"]

    error_271 = sample("subscriber-health-benefit-check-error.271")
    r = await insurance.post(url, params={"strict": "true"}, content=error_271.encode(), headers=edi)
    assert r.status_code == 422 and "SE02 (4323) does not match ST02 (4321)" in r.json()["detail"]

    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        r = await insurance.post(url, content=error_271.encode(), headers=edi)  # lenient: the AAA is read
        assert r.status_code == 200, r.text
        await wait_settled(namespace)
        # AAA 50 is about the provider, not the patient: the decision stands, a coordinator acts.
        assert cap.of(EligibilityDenied) == []
    assert r.json()["decision"]["outcome"] == "confirmed"
    result = r.json()["result"]
    assert "enrollment" in result["payer_error"]
    assert result["findings"] == ["segment 10 (SE): SE02 (4323) does not match ST02 (4321)"]
    assert [(x["loop"], x["code"]) for x in result["rejections"]] == [("2100B", "50")]
    assert r.json()["runs"] == 2
    assert (
        await insurance.post(url, content=error_271.encode(), headers=edi | bearer("patient", patient_id="x6"))
    ).status_code == 403
