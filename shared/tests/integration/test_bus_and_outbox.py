"""The kit on the real broker and a real store: outbox, compare-and-set, retries, dead letters, replay."""

import asyncio
from datetime import date

import aio_pika
import pytest
from aio_pika.exceptions import DeliveryError
from pymongo import AsyncMongoClient

from caremesh_contracts import CoverageRegistered
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.bus import REASON_HEADER, Subscription, read_event_log
from caremesh_kit.errors import VersionConflict
from caremesh_kit.runtime import Runtime
from caremesh_kit.settings import ServiceSettings
from caremesh_testing import EventCapture, drain_queue, eventually, publish_event, service_settings

STORE = "mongodb://127.0.0.1:27103/"


class Counter(Aggregate):
    value: int = 0

    def bump(self) -> None:
        self.value += 1
        self.raise_event(
            CoverageRegistered(
                coverage_id=self.id, patient_id="p", payer=f"v{self.value}", period_start=date(2026, 1, 1)
            )
        )


@pytest.fixture
async def runtime(namespace):
    rt = Runtime("insurance", service_settings(ServiceSettings, namespace, mongodb_url=STORE))
    yield rt
    client = AsyncMongoClient(STORE)
    await client.drop_database(rt.settings.mongodb_db)
    await client.close()


async def test_events_saved_before_a_crash_are_published_after_restart(runtime, namespace, amqp_url):
    repo = runtime.repository("counters", Counter)
    c = Counter(id="c1")
    c.bump()
    await repo.add(c)  # committed with its event in the outbox; nothing is running to publish it
    [commit] = await repo.commits.find({"aggregate_id": "c1"}).to_list()
    assert commit["pending"] and len(commit["outbox"]) == 1

    async with EventCapture(amqp_url, namespace) as cap:
        await runtime.start()  # the "restarted" process: its relay finds the event
        try:
            [event] = await cap.wait_for(CoverageRegistered)
            assert event.coverage_id == "c1"

            async def removed():
                return not (await repo.commits.find_one({"aggregate_id": "c1"}))["pending"]

            await eventually(removed, what="outbox emptied")
        finally:
            await runtime.stop()


async def test_compare_and_set_never_loses_a_write(runtime):
    repo = runtime.repository("counters", Counter)
    await repo.add(Counter(id="c2"))
    a, b = await repo.get("c2"), await repo.get("c2")
    a.bump()
    await repo.save(a)
    b.bump()
    with pytest.raises(VersionConflict):
        await repo.save(b)
    # mutate() retries on conflict: 20 concurrent increments all count.
    await asyncio.gather(*(repo.mutate("c2", Counter.bump, attempts=50) for _ in range(20)))
    final = await repo.get("c2")
    assert final.value == 21 and final.version == 22
    commits = await repo.commits.find({"aggregate_id": "c2"}).to_list()
    assert sorted(c["version"] for c in commits) == list(range(1, 23))
    assert sum(len(c["outbox"]) for c in commits) == 21


async def test_failing_handler_is_retried_then_dead_lettered_with_reason(runtime, namespace, amqp_url):
    attempts = []

    async def always_fails(event, env):
        attempts.append(env.id)
        raise RuntimeError("store unavailable")

    runtime.subscribe([Subscription(CoverageRegistered, always_fails)])
    await runtime.start()
    try:
        event_id = await publish_event(
            amqp_url,
            namespace,
            CoverageRegistered(coverage_id="x", patient_id="p", payer="acme", period_start=date(2026, 1, 1)),
        )
        queue = f"{namespace}.insurance.insurance.coverage.registered.dlq"
        dead = await eventually(lambda: drain_queue(amqp_url, queue), what="dead letter")
    finally:
        await runtime.stop()
    assert len(attempts) == runtime.settings.delivery_limit and set(attempts) == {event_id}
    headers, _ = dead[0]
    assert headers[REASON_HEADER] == "gave up after 4 attempts: RuntimeError"


async def test_every_event_is_kept_in_the_event_log_and_replays_from_an_offset(runtime, namespace, amqp_url):
    await runtime.start()
    try:
        ids = [
            await publish_event(
                amqp_url,
                namespace,
                CoverageRegistered(coverage_id=str(i), patient_id="p", payer="acme", period_start=date(2026, 1, 1)),
            )
            for i in range(5)
        ]
    finally:
        await runtime.stop()
    replayed = [m.headers["ce-id"] async for m in read_event_log(amqp_url, namespace, "first")]
    assert replayed == ids
    from_third = [m.headers["ce-id"] async for m in read_event_log(amqp_url, namespace, 2)]
    assert from_third == ids[2:]


async def test_unroutable_publish_is_an_error_not_a_silent_loss(amqp_url, namespace):
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        lonely = await channel.declare_exchange(f"{namespace}.lonely", aio_pika.ExchangeType.TOPIC, auto_delete=True)
        with pytest.raises(DeliveryError):
            await lonely.publish(aio_pika.Message(b"{}"), routing_key="nobody.listens", mandatory=True)
    finally:
        await connection.close()
