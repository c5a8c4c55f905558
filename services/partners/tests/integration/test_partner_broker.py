"""A partner's corner of the real broker: provisioned through the management API, fed by the
gateway's publisher, and closed to everything but the partner's own queue (issue 15, AMQP delivery)."""

import os
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aio_pika
import aio_pika.abc
import aio_pika.exceptions
import httpx
import pytest

from caremesh_kit.bus import Names
from caremesh_partners.adapters.amqp_delivery import AmqpDeliveryError, AmqpPublisher, Unroutable
from caremesh_partners.adapters.broker_admin import BrokerAdmin, BrokerAdminError, PartnerBroker
from caremesh_testing import AMQP_URL, eventually
from caremesh_testing.recording_server import Recorded, RecordingServer, Reply

MANAGEMENT_URL = os.environ.get("CAREMESH_TEST_RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672")


@dataclass(frozen=True)
class Provisioned:
    broker: PartnerBroker
    password: str

    @property
    def url(self) -> str:
        """The broker URL with this partner's own credentials."""
        parts = urlsplit(AMQP_URL)
        host = parts.netloc.rsplit("@", 1)[-1]
        netloc = f"{quote(self.broker.user, safe='')}:{quote(self.password, safe='')}@{host}"
        return parts._replace(netloc=netloc).geturl()


async def api(method: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(auth=("guest", "guest"), timeout=10) as client:
        return await client.request(method, MANAGEMENT_URL.rstrip("/").removesuffix("/api") + "/api" + path)


@pytest.fixture
async def admin():
    a = BrokerAdmin(MANAGEMENT_URL, "guest", "guest")
    yield a
    await a.close()


@pytest.fixture
async def partners(admin, namespace):
    """Partners ``a`` and ``b``, each with its own user, exchange and queue; removed afterwards (the
    namespace fixture does not delete users)."""
    made: dict[str, Provisioned] = {}
    try:
        for partner_id in ("a", "b"):
            password = secrets.token_urlsafe(18)
            made[partner_id] = Provisioned(await admin.provision(namespace, partner_id, password), password)
        yield made
    finally:
        for partner_id in ("a", "b"):
            await admin.deprovision(namespace, partner_id)


@pytest.fixture
async def internal(namespace):
    """The namespace's internal exchange and event log, as the services declare them."""
    names = Names(namespace)
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(names.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        log = await channel.declare_queue(names.event_log, durable=True, arguments={"x-queue-type": "stream"})
        await log.bind(exchange, "#")
    finally:
        await connection.close()
    return names


@pytest.fixture
async def publisher():
    p = AmqpPublisher(AMQP_URL)
    yield p
    await p.close()


def ce_headers(event_id: str) -> dict[str, str]:
    return {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-type": "caremesh.insurance.authorization.approved.v1",
        "ce-source": "/caremesh/insurance",
        "ce-time": "2026-03-02T09:00:00Z",
    }


async def take(queue: aio_pika.abc.AbstractQueue, count: int) -> list[aio_pika.abc.AbstractIncomingMessage]:
    got: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def more() -> list[Any] | None:
        while len(got) < count and (m := await queue.get(fail=False)) is not None:
            await m.ack()
            got.append(m)
        return got if len(got) >= count else None

    return await eventually(more, timeout=10, what=f"{count} messages on {queue.name}")


async def test_provisioning_again_is_fine_and_sets_the_new_password(admin, namespace, partners):
    a = partners["a"]
    again = await admin.provision(namespace, "a", "a-new-password")
    assert (
        again
        == a.broker
        == PartnerBroker(
            user=f"{namespace}.partners.a", exchange=f"{namespace}.partners.a", queue=f"{namespace}.partners.a.events"
        )
    )

    user = (await api("GET", f"/users/{quote(a.broker.user, safe='')}")).json()
    assert user["tags"] in ("", [])  # 3.10 answers a string, 4.x a list
    permissions = (await api("GET", f"/users/{quote(a.broker.user, safe='')}/permissions")).json()
    assert [(p["vhost"], p["configure"], p["write"], p["read"]) for p in permissions] == [
        ("/", "^$", "^$", "^" + a.broker.queue.replace(".", "\\.").replace("-", "\\-") + "$")
    ]
    queue = (await api("GET", f"/queues/%2F/{quote(a.broker.queue, safe='')}")).json()
    assert queue["type"] == "quorum" and queue["durable"]
    assert queue["arguments"]["x-delivery-limit"] > 0
    exchange = (await api("GET", f"/exchanges/%2F/{quote(a.broker.exchange, safe='')}")).json()
    assert exchange["type"] == "topic" and exchange["durable"]
    bindings = (await api("GET", f"/exchanges/%2F/{quote(a.broker.exchange, safe='')}/bindings/source")).json()
    assert [(b["destination"], b["routing_key"]) for b in bindings] == [(a.broker.queue, "#")]

    # The second call set the new password: the old one no longer logs in.
    with pytest.raises(aio_pika.exceptions.AMQPConnectionError):
        await aio_pika.connect(a.url)
    connection = await aio_pika.connect(Provisioned(a.broker, "a-new-password").url)
    await connection.close()


async def test_partner_receives_what_the_gateway_publishes_to_its_exchange(partners, publisher):
    a, b = partners["a"], partners["b"]
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for n, event_id in enumerate(ids):
        body = f'{{"authorization_id":"auth-{n}"}}'.encode()
        await publisher.publish(
            a.broker.exchange, "insurance.authorization.approved", ce_headers(event_id), body, event_id
        )

    connection = await aio_pika.connect(a.url)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(a.broker.queue, ensure=False)
        got = await take(queue, 3)
    finally:
        await connection.close()
    assert [m.message_id for m in got] == ids  # in the order published
    assert [m.headers["ce-id"] for m in got] == ids
    first = got[0]
    assert first.body == b'{"authorization_id":"auth-0"}'
    assert first.content_type == "application/json"
    assert first.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert first.routing_key == "insurance.authorization.approved"
    assert first.headers["ce-type"] == "caremesh.insurance.authorization.approved.v1"

    # B's queue heard nothing of it.
    connection = await aio_pika.connect(b.url)
    try:
        queue = await (await connection.channel()).get_queue(b.broker.queue, ensure=False)
        assert await queue.get(fail=False) is None
    finally:
        await connection.close()


async def test_a_message_no_queue_takes_is_an_error(namespace, publisher):
    nowhere = f"{namespace}.nowhere"
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(nowhere, aio_pika.ExchangeType.TOPIC, durable=False)
        try:
            with pytest.raises(Unroutable):
                await publisher.publish(nowhere, "insurance.x", ce_headers("e1"), b"{}", "e1")
            with pytest.raises(AmqpDeliveryError, match="does not exist"):
                await publisher.publish(f"{namespace}.missing", "insurance.x", ce_headers("e2"), b"{}", "e2")
            # The channel the broker closed is opened again for the next publish.
            with pytest.raises(Unroutable):
                await publisher.publish(nowhere, "insurance.x", ce_headers("e3"), b"{}", "e3")
        finally:
            await exchange.delete()
    finally:
        await connection.close()


async def test_publisher_reconnects_after_its_connection_is_lost(namespace, partners):
    a = partners["a"]
    name = f"partners-test-{namespace}"
    publisher = AmqpPublisher(f"{AMQP_URL}?name={name}")
    try:
        await publisher.publish(a.broker.exchange, "insurance.x", ce_headers("before"), b"{}", "before")

        async def ours() -> list[dict[str, Any]]:
            r = await api("GET", "/connections?columns=name,user_provided_name")
            return [c for c in r.json() if c.get("user_provided_name") == name]

        for c in await eventually(ours, what="the publisher's connection in the management API"):
            await api("DELETE", f"/connections/{quote(c['name'], safe='')}")  # ours alone: the broker is shared
        failures = 0

        async def published() -> bool:
            nonlocal failures
            try:
                await publisher.publish(a.broker.exchange, "insurance.x", ce_headers("after"), b"{}", "after")
            except AmqpDeliveryError:
                failures += 1
                return False
            return True

        await eventually(published, timeout=10, interval=0.2, what="a publish after the connection was closed")
        assert failures <= 1  # at most the publish that found the connection gone
    finally:
        await publisher.close()

    connection = await aio_pika.connect(a.url)
    try:
        queue = await (await connection.channel()).get_queue(a.broker.queue, ensure=False)
        assert [m.message_id for m in await take(queue, 2)] == ["before", "after"]
    finally:
        await connection.close()


async def ignore(message: aio_pika.abc.AbstractIncomingMessage) -> None:
    pass


async def refused(connection: aio_pika.abc.AbstractConnection, attempt: Any) -> str:
    """What the broker said when it closed a fresh channel on ``attempt`` (each refusal closes one)."""
    channel = await connection.channel()
    with pytest.raises(aio_pika.exceptions.ChannelClosed) as refusal:
        await attempt(channel)
    return str(refusal.value)


async def test_a_partner_reads_its_own_queue_and_nothing_else(partners, internal):
    a, b = partners["a"], partners["b"]
    connection = await aio_pika.connect(a.url)
    try:

        async def consume_b(channel: aio_pika.abc.AbstractChannel) -> None:
            await (await channel.get_queue(b.broker.queue, ensure=False)).consume(ignore)

        async def get_b(channel: aio_pika.abc.AbstractChannel) -> None:
            await (await channel.get_queue(b.broker.queue, ensure=False)).get(fail=False)

        async def declare_named(channel: aio_pika.abc.AbstractChannel) -> None:
            await channel.declare_queue(f"{a.broker.queue}.more", durable=True)

        async def declare_private(channel: aio_pika.abc.AbstractChannel) -> None:
            await channel.declare_queue(exclusive=True)

        async def bind_to_internal(channel: aio_pika.abc.AbstractChannel) -> None:
            await (await channel.get_queue(a.broker.queue, ensure=False)).bind(internal.exchange, "#")

        async def read_event_log(channel: aio_pika.abc.AbstractChannel) -> None:
            await channel.set_qos(prefetch_count=10)  # a stream consumer needs one
            log = await channel.get_queue(internal.event_log, ensure=False)
            await log.consume(ignore, arguments={"x-stream-offset": "first"})

        async def publish_to_own_exchange(channel: aio_pika.abc.AbstractChannel) -> None:
            exchange = await channel.get_exchange(a.broker.exchange, ensure=False)
            await exchange.publish(aio_pika.Message(b"{}"), routing_key="insurance.x")
            await channel.get_queue(a.broker.queue)  # a round trip, so the refusal arrives

        for attempt in (
            consume_b,
            get_b,
            declare_named,
            declare_private,
            bind_to_internal,
            read_event_log,
            publish_to_own_exchange,
        ):
            assert "ACCESS_REFUSED" in await refused(connection, attempt), attempt.__name__

        # Its own queue it may read.
        channel = await connection.channel()
        await (await channel.get_queue(a.broker.queue, ensure=False)).get(fail=False)
    finally:
        await connection.close()


async def test_after_deprovision_the_partner_cannot_log_in(admin, namespace):
    password = secrets.token_urlsafe(18)
    try:
        gone = Provisioned(await admin.provision(namespace, "c", password), password)
        connection = await aio_pika.connect(gone.url)
        await connection.close()
    finally:
        await admin.deprovision(namespace, "c")
    await admin.deprovision(namespace, "c")  # already gone is fine

    with pytest.raises(aio_pika.exceptions.AMQPConnectionError):
        await aio_pika.connect(gone.url)
    for path in (
        f"/users/{quote(gone.broker.user, safe='')}",
        f"/queues/%2F/{quote(gone.broker.queue, safe='')}",
        f"/exchanges/%2F/{quote(gone.broker.exchange, safe='')}",
    ):
        assert (await api("GET", path)).status_code == 404, path


# -- what the admin asks of the management API, and how it fails (a real local HTTP server) ------


def refuse_queues(request: Recorded) -> Reply:
    if request.method == "PUT" and request.path.startswith("/api/queues/"):
        return Reply(400, {"error": "bad_request", "reason": "inequivalent arg 'x-delivery-limit'"})
    return Reply(204)


async def test_admin_failure_names_the_call_and_status_never_the_password():
    with RecordingServer(refuse_queues) as server:
        admin = BrokerAdmin(server.url, "gateway", "admin-secret", vhost="/")
        try:
            with pytest.raises(BrokerAdminError) as failure:
                await admin.provision("ns", "p1", "partner-secret")
        finally:
            await admin.close()
    assert failure.value.status_code == 400
    assert "declare queue ns.partners.p1.events" in str(failure.value)
    assert "x-delivery-limit" in str(failure.value)
    assert "secret" not in str(failure.value)
    assert [(r.method, r.path) for r in server.requests] == [
        ("PUT", "/api/users/ns.partners.p1"),
        ("PUT", "/api/exchanges/%2F/ns.partners.p1"),
        ("PUT", "/api/queues/%2F/ns.partners.p1.events"),  # once: a refusal is not asked again
    ]
    assert server.requests[0].json() == {"password": "partner-secret", "tags": ""}


async def test_admin_retries_a_failing_api_then_reports_its_status():
    with RecordingServer() as server:
        server.fail(503)
        admin = BrokerAdmin(server.url + "/api", "gateway", "admin-secret")
        try:
            with pytest.raises(BrokerAdminError) as failure:
                await admin.deprovision("ns", "p1")
        finally:
            await admin.close()
    assert failure.value.status_code == 503
    assert [(r.method, r.path) for r in server.requests] == [("DELETE", "/api/users/ns.partners.p1")] * 3
