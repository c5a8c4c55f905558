"""The gateway on the real broker and store, delivering to real local HTTP receivers that verify
every signature with the official Standard Webhooks library."""

import contextlib
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from caremesh_contracts import (
    AuthorizationApproved,
    AuthorizationRequired,
    CoverageChanged,
    Event,
    ReferralClosed,
    ReferralReceived,
)
from caremesh_partners.app import build
from caremesh_partners.settings import PartnersSettings
from caremesh_testing import bearer, eventually, publish_event, running, service_settings
from caremesh_testing.recording_server import Recorded, RecordingServer

TODAY = date(2026, 3, 2)


@pytest.fixture
def clinic_receiver():
    with RecordingServer() as server:
        yield server


@pytest.fixture
def payer_receiver():
    with RecordingServer() as server:
        yield server


@pytest.fixture
async def gateway(namespace):
    settings = service_settings(
        PartnersSettings,
        namespace,
        retry_schedule_seconds=(0.0, 0.3, 0.6, 1.0),
        dispatch_scan_seconds=0.2,
        delivery_timeout_seconds=3,
        secret_overlap_seconds=3600,
    )
    async with admin(build(settings)) as client:
        yield client


@contextlib.asynccontextmanager
async def admin(app):
    """The gateway running in-process, with an administrator's client (partners are theirs to manage)."""
    async with running(app) as client:
        client.headers.update(bearer("admin", subject="platform-admin"))
        yield client


async def _created(client: httpx.AsyncClient, path: str, body: dict) -> dict:
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def partner_with_hook(client: httpx.AsyncClient, partner: dict, url: str, *types: str, **channel) -> dict:
    made = await _created(client, "/partners", partner)
    return await _created(
        client,
        f"/partners/{made['id']}/subscriptions",
        {"event_types": list(types), "channel": {"url": url, **channel}},
    )


def verified(request: Recorded, secrets: list[str]) -> dict:
    """The CloudEvent, once a signature by each secret checks out (the library raises otherwise)."""
    for secret in secrets:
        Webhook(secret).verify(request.body, request.headers)
    return request.json()


def coverage(patient_id: str, coverage_id: str, payer_id: str) -> CoverageChanged:
    return CoverageChanged(
        coverage_id=coverage_id,
        patient_id=patient_id,
        coverage_version=1,
        plan_id="plan-1",
        payer_id=payer_id,
        status="active",
        period_start=TODAY,
        service_codes=["99213"],
        prior_authorization_codes=["99213"],
    )


def authorization(patient_id: str, authorization_id: str, coverage_id: str) -> list[Event]:
    ids = {"authorization_id": authorization_id, "patient_id": patient_id, "appointment_id": "ap-" + authorization_id}
    return [
        AuthorizationRequired(service_code="99213", coverage_id=coverage_id, **ids),
        AuthorizationApproved(
            service_code="99213",
            partial=False,
            covers_appointment=True,
            authorization_number="AUTH-" + authorization_id,
            approved_units=1,
            valid_from=TODAY,
            valid_to=TODAY + timedelta(days=30),
            **ids,
        ),
    ]


def referral(referral_id: str, organization: str) -> list[Event]:
    ids = {"referral_id": referral_id, "patient_id": "pt-" + referral_id, "service_code": "99213"}
    return [
        ReferralReceived(priority="routine", referring_organization=organization, **ids),
        ReferralClosed(outcome="completed", referring_organization=organization, referring_reference="ext-9", **ids),
    ]


async def publish_all(amqp_url: str, namespace: str, events: list[Event]) -> None:
    for event in events:
        await publish_event(amqp_url, namespace, event, time=datetime.now(UTC))


async def test_each_partner_hears_only_its_own_events_projected_signed_and_logged(
    gateway, amqp_url, namespace, clinic_receiver, payer_receiver
):
    clinic = await partner_with_hook(
        gateway,
        {"name": "North Clinic", "kind": "referring_clinic", "purpose_of_use": "TREAT", "organization": "north"},
        clinic_receiver.url + "/hook",
        "scheduling.referral.*",
        ordering_key="referral_id",
    )
    payer = await partner_with_hook(
        gateway,
        {"name": "ACME Health", "kind": "payer", "purpose_of_use": "HPAYMT", "payer_id": "acme"},
        payer_receiver.url + "/hook",
        "insurance.*.*",
    )
    clinic_receiver.fail(503, times=2)  # the clinic's endpoint fails twice first: retried, in order
    events = [
        coverage("p1", "c1", "acme"),
        coverage("p2", "c2", "other"),
        *authorization("p1", "a1", "c1"),
        *authorization("p2", "a2", "c2"),
        *referral("r1", "north"),
        *referral("r2", "south"),
    ]
    await publish_all(amqp_url, namespace, events)

    payer_got = await eventually(
        lambda: payer_receiver.requests if len(payer_receiver.requests) >= 3 else None, what="payer deliveries"
    )
    clinic_got = await eventually(
        lambda: (
            [r for r in clinic_receiver.requests if r.headers.get("webhook-id")]
            if len({r.headers["webhook-id"] for r in clinic_receiver.requests}) >= 2
            and len(clinic_receiver.requests) >= 4
            else None
        ),
        what="clinic deliveries after two failures",
    )
    payer_secrets = (await gateway.get(f"/subscriptions/{payer['id']}/secret")).json()["secrets"]
    clinic_secrets = (await gateway.get(f"/subscriptions/{clinic['id']}/secret")).json()["secrets"]

    seen = sorted((verified(r, payer_secrets) for r in payer_got), key=lambda e: e["type"])
    assert [e["type"] for e in seen] == [
        "org.caremesh.insurance.authorization.approved.v1",
        "org.caremesh.insurance.authorization.required.v1",
        "org.caremesh.insurance.coverage.changed.v1",
    ]
    assert {e["data"]["patient_id"] for e in seen} == {"p1"}  # never the other payer's member
    assert "covers_appointment" not in seen[0]["data"] and seen[0]["data"]["authorization_number"] == "AUTH-a1"
    assert "service_codes" not in seen[2]["data"]  # not in a payer's view of a coverage

    bodies = [verified(r, clinic_secrets) for r in clinic_got]
    ids = [r.headers["webhook-id"] for r in clinic_got]
    assert ids[0] == ids[1] == ids[2] != ids[3]  # two failures then the same delivery succeeds
    assert [b["type"].split(".")[-2] for b in bodies[2:]] == ["received", "closed"]
    assert {b["data"]["referring_organization"] for b in bodies} == {"north"}
    assert bodies[-1]["data"]["referring_reference"] == "ext-9"

    log = (await gateway.get(f"/subscriptions/{clinic['id']}/deliveries")).json()
    first = next(d for d in log if d["event_type"].endswith("referral.received.v1"))
    assert [a["status_code"] for a in first["attempts"]] == [503, 503, 200]
    assert first["status"] == "delivered" and all(a["latency_ms"] >= 0 for a in first["attempts"])
    assert "body" not in first

    # Replay one: the same webhook-id again, so a receiver that has it drops it.
    before = len(clinic_receiver.requests)
    r = await gateway.post(f"/subscriptions/{clinic['id']}/replay", json={"delivery_id": first["id"]})
    assert r.status_code == 200, r.text
    again = await eventually(lambda: clinic_receiver.requests[before:] or None, what="the replayed delivery")
    assert again[0].headers["webhook-id"] == first["id"]


async def test_a_new_subscription_backfills_from_an_offset_and_rotation_signs_twice(
    gateway, amqp_url, namespace, clinic_receiver
):
    await publish_all(amqp_url, namespace, referral("r7", "north"))
    uc = gateway._transport.app.state.usecases
    await eventually(lambda: _at_least(uc.fanout.cursor.next(), 2), what="both events read")
    clinic = await _created(
        gateway,
        "/partners",
        {"name": "North", "kind": "referring_clinic", "purpose_of_use": "TREAT", "organization": "north"},
    )
    sub = await _created(
        gateway,
        f"/partners/{clinic['id']}/subscriptions",
        {"event_types": ["scheduling.referral.*"], "channel": {"url": clinic_receiver.url}, "start": {"offset": 0}},
    )
    got = await eventually(
        lambda: clinic_receiver.requests if len(clinic_receiver.requests) >= 2 else None, what="the backfill"
    )
    assert [r.json()["data"]["referral_id"] for r in got] == ["r7", "r7"]

    rotated = (await gateway.post(f"/subscriptions/{sub['id']}/secret/rotate")).json()["secrets"]
    assert len(rotated) == 2
    await publish_all(amqp_url, namespace, referral("r8", "north")[:1])
    late = await eventually(lambda: clinic_receiver.requests[2:] or None, what="a delivery after the rotation")
    assert len(late[0].headers["webhook-signature"].split(" ")) == 2
    verified(late[0], rotated)  # each of the two secrets verifies it alone


async def _at_least(found, n: int):
    value = await found
    return value if value is not None and value >= n else None


async def test_an_endpoint_failing_for_the_window_is_turned_off_and_gets_everything_when_on_again(
    namespace, amqp_url, clinic_receiver
):
    settings = service_settings(
        PartnersSettings,
        namespace,
        retry_schedule_seconds=(0.0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2),
        dispatch_scan_seconds=0.1,
        disable_after_seconds=1.0,
    )
    async with admin(build(settings)) as gateway:
        sub = await partner_with_hook(
            gateway,
            {"name": "North", "kind": "referring_clinic", "purpose_of_use": "TREAT", "organization": "north"},
            clinic_receiver.url,
            "scheduling.referral.*",
            ordering_key="referral_id",
        )
        clinic_receiver.fail(500)
        await publish_all(amqp_url, namespace, referral(f"r-{uuid.uuid4().hex[:6]}", "north"))

        async def disabled():
            found = (await gateway.get(f"/subscriptions/{sub['id']}")).json()
            return found if found["status"] == "disabled" else None

        off = await eventually(disabled, what="the endpoint turned off", timeout=30)
        assert off["disabled_reason"] == "failing" and off["failed_deliveries"] >= 2
        failed = len(clinic_receiver.requests)
        assert {r.headers["webhook-id"] for r in clinic_receiver.requests} == {
            clinic_receiver.requests[0].headers["webhook-id"]
        }  # in order: the second waits behind the first
        clinic_receiver.recover()
        assert (await gateway.post(f"/subscriptions/{sub['id']}/enable")).status_code == 200

        def delivered_after():
            ok = clinic_receiver.requests[failed:]
            return ok if len({r.headers["webhook-id"] for r in ok}) >= 2 else None

        got = await eventually(delivered_after, what="both deliveries once on again", timeout=30)
        kinds = [r.json()["type"].split(".")[-2] for r in got]
        assert kinds.index("received") < kinds.index("closed")  # in order per referral


async def test_many_deliveries_waiting_behind_a_failing_one_do_not_block_the_window(
    namespace, amqp_url, clinic_receiver
):
    """A window of 4 x 4 due deliveries, 30 events of one referral behind a failing first one: once
    the endpoint recovers, all 30 arrive, in order."""
    settings = service_settings(
        PartnersSettings,
        namespace,
        retry_schedule_seconds=(0.0, 0.3, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0),
        dispatch_scan_seconds=0.1,
        delivery_concurrency=4,
    )
    async with admin(build(settings)) as gateway:
        sub = await partner_with_hook(
            gateway,
            {"name": "North", "kind": "referring_clinic", "purpose_of_use": "TREAT", "organization": "north"},
            clinic_receiver.url,
            "scheduling.referral.*",
            ordering_key="referral_id",
        )
        clinic_receiver.fail(503)
        received = referral("r-many", "north")[0]
        await publish_all(amqp_url, namespace, [received] * 30)
        await eventually(lambda: len(clinic_receiver.requests) >= 3 or None, what="a few failed attempts")
        down = len(clinic_receiver.requests)
        clinic_receiver.recover()

        def all_thirty():
            ok = clinic_receiver.requests[down:]
            return ok if len({r.headers["webhook-id"] for r in ok}) >= 30 else None

        got = await eventually(all_thirty, what="all 30 once the endpoint is back", timeout=60)
        arrived = list(dict.fromkeys(r.headers["webhook-id"] for r in got))
        log = (await gateway.get(f"/subscriptions/{sub['id']}/deliveries")).json()
        assert arrived == [d["id"] for d in sorted(log, key=lambda d: d["offset"])]  # in log order


async def test_an_analytics_partner_gets_neither_ids_nor_the_subject(gateway, amqp_url, namespace, clinic_receiver):
    await partner_with_hook(
        gateway,
        {"name": "Stats", "kind": "analytics", "purpose_of_use": "HOPERAT"},
        clinic_receiver.url,
        "scheduling.referral.*",
    )
    await publish_all(amqp_url, namespace, referral("r-stats", "north"))
    [got] = await eventually(lambda: clinic_receiver.requests or None, what="the closure, de-identified")
    event = got.json()
    assert event["type"].endswith("referral.closed.v1")  # the only referral event analytics receives
    assert "subject" not in event and event["data"] == {
        "service_code": "99213",
        "outcome": "completed",
        "seen_on": None,
    }
