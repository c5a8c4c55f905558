"""Prior authorizations against the real broker and store: a requested visit whose plan needs one
waits on it (no eligibility confirmation), coordinators record the payer's responses over HTTP
(the submission as an X12 278 to a local fake payer), the approval covers the visit, fulfilled
visits use units, and a denial reaches each waiting appointment."""

from datetime import UTC, date, datetime, timedelta

import pytest

from caremesh_contracts import (
    AppointmentCancelled,
    AppointmentFulfilled,
    AuthorizationApproved,
    AuthorizationDenied,
    AuthorizationRequired,
    AuthorizationSubmitted,
    AuthorizationThresholdReached,
    EligibilityConfirmed,
)
from caremesh_insurance.domain.x12.review_check import read_278
from caremesh_testing import EventCapture, bearer, eventually, publish_event, wait_settled
from caremesh_testing.fake_payer import FakePayer

from .conftest import Setup, requested

TODAY = date.today()


@pytest.fixture
def fake_payer():
    with FakePayer() as payer:
        yield payer


async def pa_coverage(setup: Setup, patient: str, **payer) -> dict:
    p = await setup.payer(**payer)
    plan = await setup.plan(p["id"], services=[{"code": "99213"}, {"code": "97110", "prior_authorization": True}])
    return await setup.coverage(patient, plan["id"])


def fulfilled(patient: str, appointment_id: str, days: int = 5, practitioner: str = "pr") -> AppointmentFulfilled:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    return AppointmentFulfilled(
        appointment_id=appointment_id,
        patient_id=patient,
        practitioner_id=practitioner,
        practitioner_name="Dr. P",
        service_code="97110",
        start=start,
        end=start + timedelta(minutes=30),
        completed_at=start + timedelta(minutes=30),
    )


def ids(cap: EventCapture, event) -> set[str]:
    return {m.headers["ce-id"] for m in cap.messages if m.headers["ce-type"] == event.ce_type()}


async def test_required_then_submitted_as_a_278_then_approved_for_the_waiting_visit(
    setup, insurance, namespace, amqp_url, fake_payer
):
    cov = await pa_coverage(
        setup, "pa1", payer_identifier="ACME01", authorization_adapter="x12_278", x12_278_endpoint=fake_payer.url
    )
    async with EventCapture(amqp_url, namespace, "insurance.#") as cap:
        event = requested("pa1", "a-pa1", "97110", days=5)
        event_id = await publish_event(amqp_url, namespace, event)
        await publish_event(amqp_url, namespace, event, event_id=event_id)  # redelivered
        await publish_event(amqp_url, namespace, event)  # and published again under a new id
        [required] = await cap.wait_for(AuthorizationRequired)
        await wait_settled(namespace)
        assert len(ids(cap, AuthorizationRequired)) == 1 and cap.of(EligibilityConfirmed) == []
    assert (required.appointment_id, required.coverage_id, required.service_code) == ("a-pa1", cov["id"], "97110")
    auth_id = required.authorization_id
    [listed] = (await insurance.get("/authorizations", params={"patient_id": "pa1"})).json()
    assert (listed["id"], listed["status"], listed["appointment_id"]) == (auth_id, "required", "a-pa1")
    assert [(x["appointment_id"], x["state"]) for x in listed["appointments"]] == [("a-pa1", "waiting")]
    check = (await insurance.get("/eligibility-checks/a-pa1")).json()
    assert (check["decision"]["outcome"], check["authorization_id"], check["awaiting_authorization"]) == (
        "confirmed",
        auth_id,
        True,
    )

    url = f"/authorizations/{auth_id}"
    r = await insurance.post(f"{url}/submit", json={"units_requested": 5})
    assert (r.status_code, r.json()["current"], r.json()["requested"]) == (409, "required", "submitted")
    r = await insurance.post(f"{url}/draft", json={"version": 1})
    assert (r.status_code, r.json()["status"], r.json()["version"]) == (200, "draft", 2)
    r = await insurance.post(f"{url}/submit", json={"units_requested": 5, "received_at": "2999-01-01T00:00:00Z"})
    assert (r.status_code, r.json()["field"]) == (422, "received_at")
    r = await insurance.post(f"{url}/submit", json={"units_requested": 5, "diagnosis_codes": ["M5450"]})
    assert (r.status_code, [e["field"] for e in r.json()["errors"]]) == (422, ["diagnosis_codes.0"])
    assert fake_payer.reviews == []  # nothing was sent for the refused requests

    async with EventCapture(amqp_url, namespace, "insurance.authorization.*") as cap:
        r = await insurance.post(
            f"{url}/submit",
            json={"priority": "urgent", "units_requested": 5, "diagnosis_codes": ["M54.50"], "version": 2},
        )
        assert r.status_code == 200, r.text
        [submitted] = await cap.wait_for(AuthorizationSubmitted)
    body = r.json()
    assert (body["status"], body["priority"], body["units_requested"], body["overdue"]) == (
        "submitted",
        "urgent",
        5,
        False,
    )
    assert (
        datetime.fromisoformat(body["decision_due"]) - datetime.fromisoformat(body["submitted_at"])
        == timedelta(hours=72)
        == submitted.decision_due - submitted.submitted_at
    )
    [sub] = body["submissions"]
    assert (sub["adapter"], sub["format"], sub["sent"], sub["has_document"], sub["has_response"]) == (
        "x12_278",
        "x12-278",
        True,
        True,
        True,
    )
    [sent] = fake_payer.reviews
    r = await insurance.get(f"{url}/submissions/1")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/EDI-X12") and r.text == sent
    checked = read_278(r.text)
    assert checked.level("EV").first("UM").elements == ["UM", "HS", "I", "1", "11:B", "", "U"]
    assert checked.services[0].first("SV1").elements == ["SV1", "HC:97110", "", "UN", "5"]
    assert checked.level("EV").first("HI").elements == ["HI", "ABK:M5450"]
    assert "pending review" in (await insurance.get(f"{url}/submissions/1", params={"part": "response"})).text
    r = await insurance.post(f"{url}/pend", json={"version": 2})
    assert (r.status_code, r.json()["current_version"]) == (409, 3)  # compare-and-set on the version

    approval = {
        "authorization_number": "AUTH-77",
        "approved_units": 5,
        "valid_from": str(TODAY),
        "valid_to": str(TODAY + timedelta(days=60)),
        "provider_id": "pr",
    }
    async with EventCapture(amqp_url, namespace, "insurance.#") as cap:
        r = await insurance.post(f"{url}/approve", json=approval)
        assert r.status_code == 200, r.text
        [approved] = await cap.wait_for(AuthorizationApproved)
        # A later visit of the same service is covered by the approval: eligibility is confirmed at once.
        await publish_event(amqp_url, namespace, requested("pa1", "a-pa2", "97110", days=9))
        [confirmed] = await cap.wait_for(EligibilityConfirmed)
        # Another practitioner is not covered: that visit waits on a new authorization.
        other = requested("pa1", "a-pa9", "97110", days=9).model_copy(update={"practitioner_id": "pr-other"})
        await publish_event(amqp_url, namespace, other)
        [again] = await cap.wait_for(AuthorizationRequired)
    assert (approved.appointment_id, approved.covers_appointment, approved.partial, approved.authorization_number) == (
        "a-pa1",
        True,
        False,
        "AUTH-77",
    )
    assert confirmed.appointment_id == "a-pa2"
    assert again.appointment_id == "a-pa9" and again.authorization_id != auth_id
    version = (await insurance.get(url)).json()["version"]
    r = await insurance.post(f"{url}/approve", json=approval)  # the same response recorded twice
    assert (r.status_code, r.json()["version"]) == (200, version)
    body = (await insurance.get(url)).json()
    assert (body["status"], body["units_held"], body["requests"][0]["outcome"]) == ("approved", 2, "approved")
    assert (await insurance.get("/eligibility-checks/a-pa1")).json()["awaiting_authorization"] is False

    async with EventCapture(amqp_url, namespace, "insurance.authorization.*") as cap:
        for appointment in ("a-pa1", "a-pa1", "a-pa2", "a-pa3", "a-pa4"):  # a-pa1 twice: counted once
            await publish_event(amqp_url, namespace, fulfilled("pa1", appointment))
        [threshold] = await cap.wait_for(AuthorizationThresholdReached)
    assert (threshold.threshold, threshold.units_remaining, threshold.authorization_id) == ("units", 1, auth_id)
    body = (await insurance.get(url)).json()
    assert (body["units_used"], body["units_remaining"], body["units_held"]) == (4, 1, 0)
    assert {x["appointment_id"]: x["state"] for x in body["appointments"]} == {
        "a-pa1": "fulfilled",
        "a-pa2": "fulfilled",
        "a-pa3": "fulfilled",
        "a-pa4": "fulfilled",
    }


async def test_a_denial_reaches_each_waiting_visit_and_can_be_appealed(setup, insurance, namespace, amqp_url):
    await pa_coverage(setup, "pa2")  # the manual adapter: the coordinator uses the payer's portal
    async with EventCapture(amqp_url, namespace, "insurance.#") as cap:
        for n in (1, 2, 3):  # one after the other: concurrent first requests could each start one
            await publish_event(amqp_url, namespace, requested("pa2", f"a-d{n}", "97110", days=4 + n))
            required = await cap.wait_for(AuthorizationRequired, count=n)
    assert len({e.authorization_id for e in required}) == 1  # they wait on one authorization
    auth_id = required[0].authorization_id
    url = f"/authorizations/{auth_id}"
    await publish_event(
        amqp_url,
        namespace,
        AppointmentCancelled(
            appointment_id="a-d3",
            patient_id="pa2",
            service_code="97110",
            start=datetime.now(UTC) + timedelta(days=7),
            reason_code="pat",
            cancelled_by_role="patient",
            late=False,
        ),
    )
    await eventually(lambda: _state(insurance, url, "a-d3", "released"), what="the release")
    await insurance.post(f"{url}/draft", json={})
    r = await insurance.post(f"{url}/submit", json={"units_requested": 2})
    [sub] = r.json()["submissions"]
    assert (sub["adapter"], sub["has_document"], sub["sent"]) == ("manual", False, False)
    assert (await insurance.get(f"{url}/submissions/1")).status_code == 404
    async with EventCapture(amqp_url, namespace, "insurance.authorization.*") as cap:
        r = await insurance.post(
            f"{url}/deny", json={"reason_code": "N386", "reason": "The plan needs a referral first."}
        )
        assert r.status_code == 200, r.text
        denied = await cap.wait_for(AuthorizationDenied, count=2)
    assert sorted(e.appointment_id for e in denied) == ["a-d1", "a-d2"]
    assert {(e.reason_code, e.reason, e.appealable) for e in denied} == {
        ("N386", "The plan needs a referral first.", True)
    }
    r = await insurance.post(
        f"{url}/approve",
        json={"authorization_number": "X", "approved_units": 2, "valid_from": str(TODAY), "valid_to": str(TODAY)},
    )
    assert (r.status_code, r.json()["current"], r.json()["requested"]) == (409, "denied", "approved")
    assert "cannot become approved" in r.json()["detail"]
    r = await insurance.post(f"{url}/appeal", json={"priority": "urgent"})
    assert (r.status_code, r.json()["status"], len(r.json()["requests"])) == (200, "appealed", 2)
    r = await insurance.post(f"{url}/cancel", json={"note": "patient chose self-pay"})
    assert r.json()["status"] == "cancelled"


async def _state(client, url: str, appointment_id: str, state: str) -> bool:
    body = (await client.get(url)).json()
    return any(x["appointment_id"] == appointment_id and x["state"] == state for x in body["appointments"])


async def test_the_payer_being_down_records_nothing(setup, insurance, fake_payer):
    fake_payer.review_status = 503
    cov = await pa_coverage(
        setup, "pa3", payer_identifier="ACME01", authorization_adapter="x12_278", x12_278_endpoint=fake_payer.url
    )
    r = await insurance.post(
        "/authorizations", json={"patient_id": "pa3", "coverage_id": cov["id"], "service_code": "97110"}
    )
    assert (r.status_code, r.json()["status"], r.json()["appointment_id"]) == (201, "required", None)
    url = f"/authorizations/{r.json()['id']}"
    await insurance.post(f"{url}/draft", json={})
    r = await insurance.post(f"{url}/submit", json={"units_requested": 3})
    assert r.status_code == 502 and "did not take the 278" in r.json()["detail"]
    assert (await insurance.get(url)).json()["status"] == "draft"
    r = await insurance.post(
        "/authorizations", json={"patient_id": "other", "coverage_id": cov["id"], "service_code": "97110"}
    )
    assert (r.status_code, r.json()["field"]) == (422, "coverage_id")


async def test_patients_read_their_own_and_every_access_is_audited(setup, insurance):
    cov = await pa_coverage(setup, "pa4")
    auth = (
        await insurance.post(
            "/authorizations", json={"patient_id": "pa4", "coverage_id": cov["id"], "service_code": "97110"}
        )
    ).json()
    own, other = bearer("patient", "pat-4", patient_id="pa4"), bearer("patient", "pat-5", patient_id="pa5")
    assert (await insurance.get(f"/authorizations/{auth['id']}", headers=own)).status_code == 200
    assert (await insurance.get(f"/authorizations/{auth['id']}", headers=other)).status_code == 403
    assert (await insurance.post(f"/authorizations/{auth['id']}/draft", json={}, headers=own)).status_code == 403
    assert (
        await insurance.post(f"/authorizations/{auth['id']}/draft", json={}, headers=bearer("clinician"))
    ).status_code == 403
    await insurance.post(f"/authorizations/{auth['id']}/draft", json={})
    trail = (await insurance.get("/audit", params={"patient_id": "pa4"}, headers=bearer("admin"))).json()
    seen = {(e["action"], e["resource_type"], e["allowed"]) for e in trail}
    assert {
        ("create", "PriorAuthorization", True),
        ("read", "PriorAuthorization", True),
        ("read", "PriorAuthorization", False),
        ("update", "PriorAuthorization", True),
    } <= seen
