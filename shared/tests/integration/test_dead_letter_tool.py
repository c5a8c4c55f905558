"""caremesh-dlq on the real broker: dead letters made by a real subscriber, then listed, shown,
re-driven through the original exchange and purged; their retention on new and older queues."""

import asyncio
import io
import json
import re
from datetime import date

import aio_pika
import pytest

from caremesh_contracts import CoverageRegistered
from caremesh_kit.bus import REASON_HEADER, Bus, Subscription
from caremesh_kit.errors import Unprocessable
from caremesh_kit.settings import ServiceSettings
from caremesh_kit.tools import dlq
from caremesh_kit.tools.dead_letters import HISTORY_HEADER, REPLAYS_HEADER
from caremesh_testing import (
    MANAGEMENT,
    EventCapture,
    event_headers,
    eventually,
    management,
    publish_event,
    publish_raw,
    service_settings,
)

CONTACT = "jane.doe@example.org"  # stands for the contact details a body can hold


def coverage(payer: str) -> CoverageRegistered:
    return CoverageRegistered(coverage_id="c", patient_id="p", payer=payer, period_start=date(2026, 1, 1))


async def cli(amqp_url: str, namespace: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    flags = ["--amqp-url", amqp_url, "--namespace", namespace, "--management-url", MANAGEMENT]
    code = await dlq.run([*flags, *argv], out, err)
    return code, out.getvalue(), err.getvalue()


async def dead_count(amqp_url: str, queue: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0
    finally:
        await connection.close()


@pytest.fixture
def settings(namespace):
    return service_settings(ServiceSettings, namespace)


class Consumer:
    """A subscriber that fails while told to, refuses one payer outright, and fails once more on
    the first delivery after a re-drive (so a stale attempt count would dead-letter it again)."""

    def __init__(self) -> None:
        self.failing = True
        self.handled: list[str] = []
        self.retried: set[str] = set()

    async def __call__(self, event: CoverageRegistered, env) -> None:
        if event.payer == "refused":
            raise Unprocessable("payer refused")
        if self.failing:
            raise RuntimeError("store unavailable")
        if env.id not in self.retried:
            self.retried.add(env.id)
            raise RuntimeError("still warming up")
        self.handled.append(env.id)


async def test_dead_letters_are_listed_shown_replayed_and_purged(settings, namespace, amqp_url):
    consumer = Consumer()
    bus = Bus("insurance", settings)
    bus.subscribe([Subscription(CoverageRegistered, consumer)])
    queue = f"{namespace}.insurance.insurance.coverage.registered"
    await bus.start()
    try:
        gave_up = await publish_event(amqp_url, namespace, coverage(CONTACT))
        refused = await publish_event(amqp_url, namespace, coverage("refused"))
        invalid = event_headers(CoverageRegistered)["ce-id"]
        await publish_raw(
            amqp_url,
            namespace,
            CoverageRegistered.routing_key,
            b'{"coverage_id": "c"}',
            event_headers(CoverageRegistered, invalid),
        )
        await eventually(lambda: _at_least(amqp_url, f"{queue}.dlq", 3), what="three dead letters")

        code, out, _ = await cli(amqp_url, namespace, "list")
        assert code == 0
        lines = out.splitlines()
        assert lines[0] == f"{queue}.dlq  3"
        assert sorted(line.split(None, 1)[1] for line in lines[1:]) == sorted(
            [
                "gave up after 4 attempts: RuntimeError",
                "unprocessable: payer refused",
                "invalid body: patient_id: Field required; payer: Field required; period_start: Field required",
            ]
        )
        assert all(line.split()[0] == "1" for line in lines[1:])

        # The body is left out unless asked for: it can hold contact details.
        code, out, _ = await cli(amqp_url, namespace, "show", gave_up)
        shown = json.loads(out)
        assert code == 0 and CONTACT not in out and "body" not in shown
        assert shown["reason"] == "gave up after 4 attempts: RuntimeError"
        assert shown["routing_key"] == CoverageRegistered.routing_key and shown["exchange"] == f"{namespace}.events"
        assert shown["headers"]["ce-id"] == gave_up and shown["headers"]["ce-type"] == CoverageRegistered.ce_type()
        code, out, _ = await cli(amqp_url, namespace, "show", gave_up, "--body")
        assert json.loads(json.loads(out)["body"])["payer"] == CONTACT
        assert await dead_count(amqp_url, f"{queue}.dlq") == 3  # reading took nothing away

        # A re-drive goes through the events exchange with the original routing key, so every
        # subscriber of the event (here a capture queue too) gets it, with a fresh attempt count.
        consumer.failing = False
        async with EventCapture(amqp_url, namespace) as capture:
            code, out, _ = await cli(amqp_url, namespace, "replay", "--reason", "GAVE UP")
            assert (code, out) == (0, "re-driven 1, left 2\n")
            await eventually(lambda: consumer.handled == [gave_up], what="the re-driven message handled")
        [again] = [m for m in capture.messages if m.headers["ce-id"] == gave_up]
        assert again.routing_key == CoverageRegistered.routing_key and again.exchange == f"{namespace}.events"
        assert again.headers[REPLAYS_HEADER] == 1 and "x-delivery-count" not in again.headers
        assert again.headers[HISTORY_HEADER] == [f"{queue}: gave up after 4 attempts: RuntimeError"]
        assert REASON_HEADER not in again.headers

        # Still refused: it comes back to the DLQ, its history kept.
        code, out, _ = await cli(amqp_url, namespace, "replay", "--id", refused)
        assert (code, out) == (0, "re-driven 1, left 1\n")

        async def back() -> dict | None:
            found = json.loads((await cli(amqp_url, namespace, "show", refused))[1] or "null")
            return found if found and found["headers"].get(REPLAYS_HEADER) == 1 else None

        returned = await eventually(back, what="the refused message back in the DLQ")
        assert returned["reason"] == "unprocessable: payer refused"
        assert returned["headers"][HISTORY_HEADER] == [f"{queue}: unprocessable: payer refused"]

        code, out, err = await cli(amqp_url, namespace, "replay")
        assert code == 2 and "--all" in err  # nothing re-driven without saying which
        assert (await cli(amqp_url, namespace, "purge", "--type", "org.caremesh.insurance.*", "--id", invalid))[
            1
        ] == "purged 1\n"
        assert (await cli(amqp_url, namespace, "purge", "--all"))[1] == "purged 1\n"
        assert await dead_count(amqp_url, f"{queue}.dlq") == 0
        assert (await cli(amqp_url, namespace, "list"))[1] == ""
    finally:
        await bus.stop()


async def _at_least(amqp_url: str, queue: str, count: int) -> bool:
    return await dead_count(amqp_url, queue) >= count


async def test_new_dead_letter_queues_carry_the_retention(settings, namespace):
    bus = Bus("insurance", settings.model_copy(update={"dead_letter_retention_days": 2.5}))
    bus.subscribe([Subscription(CoverageRegistered, Consumer())])
    await bus.start()
    await bus.stop()
    declared = await management(f"/queues/%2F/{namespace}.insurance.insurance.coverage.registered.dlq")
    assert declared["arguments"]["x-message-ttl"] == int(2.5 * 86_400_000)
    assert declared["arguments"]["x-delivery-limit"] == 1_000_000
    assert ServiceSettings().dead_letter_retention_days == 14


async def test_an_older_dead_letter_queue_is_kept_and_gets_the_retention_from_the_policy(settings, namespace, amqp_url):
    queue = f"{namespace}.insurance.insurance.coverage.registered"
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    await channel.declare_queue(f"{queue}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
    await connection.close()

    bus = Bus("insurance", settings)
    bus.subscribe([Subscription(CoverageRegistered, Consumer())])
    await bus.start()  # the service starts although the queue lacks the argument
    try:
        older = await publish_event(amqp_url, namespace, coverage("refused"))
        await eventually(lambda: _at_least(amqp_url, f"{queue}.dlq", 1), what="a dead letter")
        assert "x-message-ttl" not in (await management(f"/queues/%2F/{queue}.dlq"))["arguments"]
        assert (await cli(amqp_url, namespace, "list"))[1].splitlines()[0] == f"{queue}.dlq  1  (no retention)"

        code, out, _ = await cli(amqp_url, namespace, "retention", "--days", "0.00002")  # about 1.7 s
        assert (
            code == 0
            and out == f"policy {namespace}.dead-letter-retention: dead letters kept 2e-05 days in 1 queue(s)\n"
        )
        policy = await management(f"/policies/%2F/{namespace}.dead-letter-retention")
        assert policy["definition"] == {"message-ttl": 1728, "delivery-limit": 1_000_000}
        assert policy["pattern"] == rf"^{re.escape(namespace)}\..+\.dlq$"
        await publish_event(amqp_url, namespace, coverage("refused"))
        await eventually(lambda: _at_least(amqp_url, f"{queue}.dlq", 2), what="a dead letter under the policy")
        # The older one has no TTL, and a quorum queue expires messages from its head only: it
        # holds up the newer one until it is purged, as the operations guide says.
        await asyncio.sleep(2)
        assert await dead_count(amqp_url, f"{queue}.dlq") == 2
        assert (await cli(amqp_url, namespace, "purge", "--id", older))[1] == "purged 1\n"
        await eventually(
            lambda: _none(amqp_url, f"{queue}.dlq"), timeout=30, what="the newer dead letter dropped after the TTL"
        )
    finally:
        await bus.stop()
        await cli(amqp_url, namespace, "retention", "--remove")
    assert await management_policy_absent(namespace)


async def _none(amqp_url: str, queue: str) -> bool:
    return await dead_count(amqp_url, queue) == 0


async def management_policy_absent(namespace: str) -> bool:
    policies = await management("/policies/%2F")
    return all(p["name"] != f"{namespace}.dead-letter-retention" for p in policies)
