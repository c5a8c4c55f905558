"""Least-privilege broker users (scripts/infra provisions them): a service publishes only its own
routing keys and reaches only its own queues, and still does all its work under its own user.

RabbitMQ keys topic permissions by exact exchange name, and scripts/infra sets them on the
deployment's ``caremesh.events``. The private namespace of a test gets them through a twin: a
user made for the test with scheduling's permissions copied verbatim, its topic permissions
re-keyed to the test's exchange, deleted afterwards.
"""

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import aio_pika
import httpx
import pytest
from aiormq.exceptions import ChannelAccessRefused

from caremesh_contracts import AppointmentBooked, AppointmentRequested, EligibilityConfirmed
from caremesh_insurance.settings import InsuranceSettings
from caremesh_kit.bus import Names
from caremesh_notifications.settings import NotificationsSettings
from caremesh_records.settings import RecordsSettings
from caremesh_scheduling.app import build
from caremesh_scheduling.settings import SchedulingSettings
from caremesh_testing import (
    MANAGEMENT,
    EventCapture,
    eventually,
    namespace_queues,
    publish_event,
    running,
    service_settings,
)

# Scheduling's own user, as its default amqp_url names it.
SCHEDULING_URL = SchedulingSettings.model_fields["amqp_url"].default
SCHEDULING_USER = urlsplit(SCHEDULING_URL).username
DEPLOYMENT = "caremesh"  # the namespace whose exchange scripts/infra gives topic permissions
OTHERS = {"records": RecordsSettings, "insurance": InsuranceSettings, "notifications": NotificationsSettings}


def as_user(user: str, password: str) -> str:
    parts = urlsplit(SCHEDULING_URL)
    return parts._replace(netloc=f"{user}:{password}@{parts.hostname}:{parts.port}").geturl()


async def admin(method: str, path: str, json: object = None) -> httpx.Response:
    async with httpx.AsyncClient(auth=("guest", "guest"), timeout=10) as client:
        r = await client.request(method, f"{MANAGEMENT}{path}", json=json)
        r.raise_for_status()
        return r


async def provisioned() -> tuple[dict, list[dict]]:
    """Scheduling's permissions on the vhost and its topic permissions, as scripts/infra set them."""
    perms = (await admin("GET", f"/permissions/%2F/{SCHEDULING_USER}")).json()
    topics = (await admin("GET", f"/topic-permissions/%2F/{SCHEDULING_USER}")).json()
    return perms, topics


@pytest.fixture
async def twin(namespace):
    """A user with scheduling's permissions whose topic permissions apply to this test's exchange."""
    perms, topics = await provisioned()
    [deployed] = [t for t in topics if t["exchange"] == Names(DEPLOYMENT).exchange]
    user, password = f"{namespace}-scheduling", uuid.uuid4().hex
    await admin("PUT", f"/users/{user}", {"password": password, "tags": ""})
    try:
        await admin("PUT", f"/permissions/%2F/{user}", {k: perms[k] for k in ("configure", "write", "read")})
        await admin(
            "PUT",
            f"/topic-permissions/%2F/{user}",
            {"exchange": Names(namespace).exchange, "write": deployed["write"], "read": deployed["read"]},
        )
        yield as_user(user, password)
    finally:
        await admin("DELETE", f"/users/{quote(user, safe='')}")


async def ignore(message: aio_pika.abc.AbstractIncomingMessage) -> None:
    pass


async def declare_exchange(amqp_url: str, namespace: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await channel.declare_exchange(Names(namespace).exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    finally:
        await connection.close()


async def publish(amqp_url: str, namespace: str, routing_key: str) -> None:
    """Publish and wait for the broker's confirm; a refusal closes the channel (raised here)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(Names(namespace).exchange, ensure=False)
        await exchange.publish(aio_pika.Message(b"{}", message_id=uuid.uuid4().hex), routing_key=routing_key)
    finally:
        await connection.close()


async def test_the_infra_gives_each_service_its_own_user_and_keys():
    perms, topics = await provisioned()
    assert SCHEDULING_USER == "caremesh-scheduling"
    assert perms["read"] == r"^[^.]+\.(events|dlx|scheduling\..+)$", perms
    assert [(t["exchange"], t["write"]) for t in topics if t["exchange"] == "caremesh.events"] == [
        ("caremesh.events", r"^scheduling\.")
    ]
    for service, settings in OTHERS.items():
        user = urlsplit(settings.model_fields["amqp_url"].default).username
        assert user == f"caremesh-{service}"
        [topic] = (await admin("GET", f"/topic-permissions/%2F/{user}")).json()
        assert (topic["exchange"], topic["write"]) == ("caremesh.events", rf"^{service}\.")


async def test_scheduling_cannot_publish_an_insurance_event_on_the_deployment_exchange(amqp_url):
    # Refused before routing, so nothing reaches the deployment's queues.
    await declare_exchange(amqp_url, DEPLOYMENT)  # as the services declare it, if no one has yet
    with pytest.raises(ChannelAccessRefused, match=r"insurance\.coverage\.changed"):
        await publish(SCHEDULING_URL, DEPLOYMENT, "insurance.coverage.changed")


async def test_with_schedulings_permissions_only_its_own_routing_keys_are_accepted(twin, namespace, amqp_url):
    await declare_exchange(amqp_url, namespace)
    async with EventCapture(amqp_url, namespace) as capture:
        with pytest.raises(ChannelAccessRefused, match="ACCESS_REFUSED"):
            await publish(twin, namespace, "insurance.coverage.changed")
        await publish(twin, namespace, "scheduling.appointment.booked")  # confirmed
        await eventually(lambda: capture.messages, what="the accepted event")
    assert [m.routing_key for m in capture.messages] == ["scheduling.appointment.booked"]


async def test_scheduling_cannot_reach_another_services_queues(namespace, amqp_url):
    names = Names(namespace)
    others = f"{namespace}.insurance.scheduling.appointment.requested"
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await channel.declare_exchange(names.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(others, durable=True, arguments={"x-queue-type": "quorum"})
        await queue.bind(names.exchange, "scheduling.appointment.requested")
    finally:
        await connection.close()

    async def refused(action) -> str:
        conn = await aio_pika.connect(SCHEDULING_URL)
        try:
            with pytest.raises(ChannelAccessRefused) as caught:
                await action(await conn.channel())
            return str(caught.value)
        finally:
            await conn.close()

    async def consume(channel):
        q = await channel.get_queue(others, ensure=False)
        await q.consume(ignore)

    async def purge(channel):
        await (await channel.get_queue(others, ensure=False)).purge()

    async def bind_to_it(channel):
        await (await channel.get_queue(others, ensure=False)).bind(names.exchange, "#")

    async def declare_one_named_like_insurances(channel):
        await channel.declare_queue(f"{namespace}.insurance.anything", durable=True)

    async def publish_to_it_directly(channel):
        await channel.default_exchange.publish(aio_pika.Message(b"{}"), routing_key=others)  # awaits the confirm

    for action in (consume, purge, bind_to_it, declare_one_named_like_insurances, publish_to_it_directly):
        assert "ACCESS_REFUSED" in await refused(action), action.__name__
    # Its own queues, in the same namespace, it may declare and consume.
    conn = await aio_pika.connect(SCHEDULING_URL)
    try:
        own = await (await conn.channel()).declare_queue(
            f"{namespace}.scheduling.probe", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await own.consume(ignore)
    finally:
        await conn.close()


async def test_scheduling_runs_under_its_own_user(namespace, amqp_url):
    """Started with its default amqp_url: declares its queues, consumes, publishes its events."""
    settings = service_settings(SchedulingSettings, namespace).model_copy(update={"amqp_url": SCHEDULING_URL})
    async with running(build(settings)) as client:
        queues = {q["name"] for q in await namespace_queues(namespace)}
        assert f"{namespace}.scheduling.insurance.eligibility.confirmed" in queues
        assert f"{namespace}.scheduling.insurance.eligibility.confirmed.dlq" in queues
        slot = await a_slot(client)
        async with EventCapture(amqp_url, namespace) as capture:
            r = await client.post("/appointments", json={"patient_id": "perm-p1", "slot_id": slot})
            assert r.status_code == 201, r.text
            [requested] = await capture.wait_for(AppointmentRequested)
            await publish_event(
                amqp_url,
                namespace,
                EligibilityConfirmed(appointment_id=requested.appointment_id, patient_id="perm-p1", coverage_id="c1"),
            )
            [booked] = await capture.wait_for(AppointmentBooked)
    assert booked.appointment_id == r.json()["id"]


async def a_slot(client: httpx.AsyncClient) -> str:
    """The id of a free slot two days out, in a clinic made for the test."""
    loc = await client.post("/locations", json={"name": "Perm clinic", "time_zone": "UTC", "rooms": [{"id": "R1"}]})
    st = await client.post("/service-types", json={"code": "99213", "name": "Office visit", "duration_minutes": 30})
    pr = await client.post("/practitioners", json={"name": "Dr. Perm", "time_zone": "UTC"})
    assert {loc.status_code, st.status_code, pr.status_code} == {201}, (loc.text, st.text, pr.text)
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    template = {
        "service_type_ids": [st.json()["id"]],
        "weekly": [{"day": d, "start": "08:00", "end": "16:00", "room": "R1"} for d in days],
    }
    r = await client.put(f"/practitioners/{pr.json()['id']}/templates/{loc.json()['id']}", json=template)
    assert r.status_code == 201, r.text
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    r = await client.get(
        "/availability", params={"practitioner_id": pr.json()["id"], "from": str(day), "to": str(day), "limit": 1}
    )
    assert r.status_code == 200 and r.json()["items"], r.text
    return r.json()["items"][0]["slot_id"]
