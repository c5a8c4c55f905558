"""caremesh-events tail on the real event-log stream: from an offset, from a time, by type, following."""

import asyncio
import io
import json
from datetime import UTC, date, datetime

import pytest

from caremesh_contracts import CoverageRegistered, EligibilityConfirmed
from caremesh_kit.bus import Bus
from caremesh_kit.settings import ServiceSettings
from caremesh_kit.tools import events
from caremesh_testing import publish_event, service_settings


def coverage(i: int) -> CoverageRegistered:
    return CoverageRegistered(coverage_id=f"c{i}", patient_id="p", payer="acme", period_start=date(2026, 1, 1))


def confirmed(i: int) -> EligibilityConfirmed:
    return EligibilityConfirmed(appointment_id=f"a{i}", patient_id="p", coverage_id=f"c{i}")


async def tail(amqp_url: str, namespace: str, *argv: str) -> list[dict]:
    out, err = io.StringIO(), io.StringIO()
    code = await events.run(["--amqp-url", amqp_url, "--namespace", namespace, "tail", *argv], out, err)
    assert code == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture
async def event_log(namespace):
    bus = Bus("insurance", service_settings(ServiceSettings, namespace))
    await bus.start()  # declares the exchange and the stream
    await bus.stop()


async def publish(amqp_url: str, namespace: str, events_: list) -> list[str]:
    return [await publish_event(amqp_url, namespace, e, time=datetime.now(UTC)) for e in events_]


async def test_tail_from_an_offset_by_type_and_with_a_limit(event_log, namespace, amqp_url):
    ids = await publish(amqp_url, namespace, [coverage(0), confirmed(0), coverage(1), confirmed(1), coverage(2)])

    everything = await tail(amqp_url, namespace, "--from-offset", "first")
    assert [e["id"] for e in everything] == ids
    first = everything[0]
    assert first["type"] == CoverageRegistered.ce_type() and first["routingkey"] == CoverageRegistered.routing_key
    assert first["specversion"] == "1.0" and first["data"] == json.loads(coverage(0).model_dump_json())
    assert [e["offset"] for e in everything] == sorted(e["offset"] for e in everything)

    from_third = await tail(amqp_url, namespace, "--from-offset", str(everything[2]["offset"]))
    assert [e["id"] for e in from_third] == ids[2:]
    coverages = await tail(amqp_url, namespace, "--type", "org.caremesh.insurance.coverage.*")
    assert [e["id"] for e in coverages] == [ids[0], ids[2], ids[4]]
    by_key = await tail(amqp_url, namespace, "--routing-key", "insurance.eligibility.*", "--limit", "1")
    assert [e["id"] for e in by_key] == [ids[1]]


async def test_tail_since_a_time_returns_exactly_the_later_events(event_log, namespace, amqp_url):
    await publish(amqp_url, namespace, [coverage(0), confirmed(0)])
    await asyncio.sleep(1.1)  # the stream's timestamps have millisecond precision; keep well apart
    since = datetime.now(UTC)
    await asyncio.sleep(0.1)
    later = await publish(amqp_url, namespace, [coverage(1), confirmed(1), coverage(2)])

    found = await tail(amqp_url, namespace, "--since", since.isoformat())
    assert [e["id"] for e in found] == later


async def test_follow_waits_for_events_published_after_the_end(event_log, namespace, amqp_url):
    before = await publish(amqp_url, namespace, [coverage(0), coverage(1)])
    following = asyncio.create_task(tail(amqp_url, namespace, "--follow", "--from-offset", "first", "--limit", "4"))
    await asyncio.sleep(1.5)  # longer than the idle end of a tail without --follow
    assert not following.done()
    after = await publish(amqp_url, namespace, [coverage(2), coverage(3), coverage(4)])
    found = await asyncio.wait_for(following, timeout=20)
    assert [e["id"] for e in found] == before + after[:2]
