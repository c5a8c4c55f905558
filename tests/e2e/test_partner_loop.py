"""The loop closes for partners: the gateway, as its own process, tells a referring clinic about
its referral from receipt to closure over a signed webhook (verified with the official Standard
Webhooks library), and a payer about its member's authorization to approval in the payer's own
queue, read with the payer's own broker credentials (parsed with the official CloudEvents SDK).
Another payer's member stays unseen, and a clinic endpoint that fails for a while gets everything
once it recovers, in order per referral, each delivery once by ``webhook-id``."""

import asyncio
import json
import uuid
from datetime import date, timedelta
from urllib.parse import urlsplit

import aio_pika
import pytest
from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq_event
from standardwebhooks.webhooks import Webhook

from caremesh_kit.codes import ICD10CM
from caremesh_testing import AMQP_URL, eventually
from caremesh_testing.recording_server import Recorded, RecordingServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def clinic():
    with RecordingServer() as server:
        yield server


async def register(suite, partner: dict) -> str:
    r = await suite.partners.post("/partners", json=partner)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def subscribe(suite, partner_id: str, types: list[str], channel: dict) -> dict:
    r = await suite.partners.post(
        f"/partners/{partner_id}/subscriptions", json={"event_types": types, "channel": channel}
    )
    assert r.status_code == 201, r.text
    return r.json()


class PayerQueue:
    """The payer's own consumer: its credentials, its queue, nothing else."""

    def __init__(self, credentials: dict) -> None:
        broker = urlsplit(AMQP_URL)
        self.url = (
            f"amqp://{credentials['username']}:{credentials['password']}@{broker.hostname}:{broker.port or 5672}/"
        )
        self.queue, self.events, self.connection = credentials["queue"], [], None

    async def __aenter__(self) -> "PayerQueue":
        self.connection = await aio_pika.connect(self.url)
        channel = await self.connection.channel()
        queue = await channel.get_queue(self.queue, ensure=False)

        async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            headers = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in (message.headers or {}).items()}
            ce = from_rabbitmq_event(
                RabbitMQMessage(headers=headers, content_type=message.content_type, body=message.body)
            )
            self.events.append({"type": ce.get_type(), "id": ce.get_id(), "data": json.loads(message.body)})
            await message.ack()

        await queue.consume(take)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()


def verified(requests: list[Recorded], secret: str) -> list[dict]:
    """Each request's CloudEvent, once its signature checks out (the library raises otherwise)."""
    return [Webhook(secret).verify(r.body, r.headers) for r in requests]


async def payer_with_prior_authorization(suite, patient_id: str) -> str:
    payer = await suite.insurance.post("/payers", json={"name": f"Payer {uuid.uuid4().hex[:6]}"})
    assert payer.status_code == 201, payer.text
    plan = await suite.insurance.post(
        "/plans",
        json={
            "payer_id": payer.json()["id"],
            "name": "PA plan",
            "services": [{"code": "99213", "prior_authorization": True}],
        },
    )
    assert plan.status_code == 201, plan.text
    r = await suite.insurance.post(
        "/coverages",
        json={
            "patient_id": patient_id,
            "plan_id": plan.json()["id"],
            "member_id": "M-88",
            "period_start": str(date.today() - timedelta(days=1)),
        },
    )
    assert r.status_code == 201, r.text
    return payer.json()["id"]


async def approve(suite, authorization_id: str) -> None:
    base = f"/authorizations/{authorization_id}"
    for step, body in (
        ("draft", {}),
        ("submit", {"priority": "standard", "units_requested": 1, "diagnosis_codes": ["M54.50"]}),
        (
            "approve",
            {
                "authorization_number": "E2E-P1",
                "approved_units": 1,
                "valid_from": str(date.today()),
                "valid_to": str(date.today() + timedelta(days=90)),
            },
        ),
    ):
        r = await suite.insurance.post(f"{base}/{step}", json=body)
        assert r.status_code == 200, f"{step}: {r.text}"


async def test_a_clinic_hears_its_referral_close_and_a_payer_its_members_approval(suite, clinic):
    # Members of two payers; the partner is the first payer.
    member, _ = await suite.new_patient("Pia")
    stranger, _ = await suite.new_patient("Sten")
    payer_id = await payer_with_prior_authorization(suite, member)
    await payer_with_prior_authorization(suite, stranger)
    organization = f"North Clinic {uuid.uuid4().hex[:6]}"
    clinic_id = await register(
        suite,
        {"name": organization, "kind": "referring_clinic", "purpose_of_use": "TREAT", "organization": organization},
    )
    clinic_sub = await subscribe(
        suite, clinic_id, ["scheduling.referral.*"], {"url": clinic.url + "/caremesh", "ordering_key": "referral_id"}
    )
    [clinic_secret] = (await suite.partners.get(f"/subscriptions/{clinic_sub['id']}/secret")).json()["secrets"]
    payer_partner = await register(
        suite, {"name": "The payer", "kind": "payer", "purpose_of_use": "HPAYMT", "payer_id": payer_id}
    )
    r = await suite.partners.post(f"/partners/{payer_partner}/broker-credentials")
    assert r.status_code == 200, r.text
    await subscribe(suite, payer_partner, ["insurance.authorization.*"], {"kind": "amqp"})
    clinic.fail(503)  # the clinic's endpoint is down while the referral runs
    async with PayerQueue(r.json()) as payer:
        await run_the_flows(suite, clinic, clinic_sub, clinic_secret, payer, member, stranger, organization)


async def run_the_flows(suite, clinic, clinic_sub, clinic_secret, payer, member, stranger, organization):
    # The referral, from receipt to closure.
    r = await suite.scheduling.post(
        "/referrals",
        json={
            "patient_id": member,
            "service_code": "99213",
            "priority": "routine",
            "referring": {"name": "Dr. Refer", "organization": organization, "reference": "REF-P1"},
            "reasons": [{"system": ICD10CM, "code": "M54.5", "display": "Low back pain"}],
        },
    )
    assert r.status_code == 201, r.text
    referral = r.json()
    r = await suite.scheduling.post(f"/referrals/{referral['id']}/reject", json={"reason": "not our specialty"})
    assert r.status_code == 200, r.text

    # The authorization, to approval, for the member; the stranger's stays open.
    appointments = []
    for patient in (member, stranger):
        [slot] = await suite.slots(1)
        r = await suite.request(patient, slot)
        assert r.status_code == 201, r.text
        appointments.append(r.json()["id"])
    for appointment_id in appointments:
        assert await suite.settled_status(appointment_id) == "waiting_on_authorization"
    mine = (await suite.scheduling.get(f"/appointments/{appointments[0]}")).json()["authorization_id"]
    await approve(suite, mine)

    def payer_saw_approval():
        types = [e["type"] for e in payer.events]
        return payer.events if "org.caremesh.insurance.authorization.approved.v1" in types else None

    seen = await eventually(payer_saw_approval, timeout=60, what="the payer hearing of the approval")
    assert {e["data"]["patient_id"] for e in seen} == {member}  # never the other payer's member
    assert {e["type"].split(".")[-2] for e in seen} >= {"required", "submitted", "approved"}
    approved = next(e for e in seen if e["type"].endswith("approved.v1"))
    assert approved["data"]["authorization_id"] == mine and approved["data"]["authorization_number"] == "E2E-P1"

    # The clinic's endpoint comes back after a while: everything arrives, in order, once each.
    await asyncio.sleep(3)
    down = len(clinic.requests)
    assert down >= 2  # retried while it was down
    clinic.recover()

    def clinic_heard_closure():
        after = clinic.requests[down:]
        return after if any(r.json()["type"].endswith("referral.closed.v1") for r in after) else None

    after = await eventually(clinic_heard_closure, timeout=60, what="the clinic hearing of the closure")
    events = verified(after, clinic_secret)
    ids = [r.headers["webhook-id"] for r in after]
    assert len(ids) == len(set(ids))  # nothing twice once it was answered
    assert [e["type"].split(".")[-2] for e in events] == ["received", "rejected", "closed"]
    assert {e["data"]["referral_id"] for e in events} == {referral["id"]}
    closed = events[-1]["data"]
    assert (closed["outcome"], closed["referring_reference"]) == ("rejected", "REF-P1")
    log = (await suite.partners.get(f"/subscriptions/{clinic_sub['id']}/deliveries")).json()
    assert {d["status"] for d in log} == {"delivered"} and any(
        a["status_code"] == 503 for d in log for a in d["attempts"]
    )
