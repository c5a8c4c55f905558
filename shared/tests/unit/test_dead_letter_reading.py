"""How the tools read a dead letter and build its re-drive, and how the event-log tail filters:
pure logic, on stand-in messages."""

import argparse
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from caremesh_kit.bus import QUEUE_HEADER, REASON_HEADER, Names
from caremesh_kit.tools import dlq
from caremesh_kit.tools.connection import vhost
from caremesh_kit.tools.dead_letters import HISTORY_HEADER, REPLAYS_HEADER, Selection, read, replay_headers
from caremesh_kit.tools.events import Filter, as_cloudevent, parse_offset, parse_time

NAMES = Names("caremesh")
DLQ = "caremesh.notifications.scheduling.appointment.booked.dlq"


def message(headers, body=b"{}", routing_key=None, message_id=None):
    return SimpleNamespace(
        headers=headers, body=body, routing_key=routing_key, message_id=message_id, content_type="application/json"
    )


def test_a_dead_letter_of_the_consumer_names_its_queue_reason_and_original_routing_key():
    dead = read(
        NAMES,
        DLQ,
        message(
            {
                "ce-id": "e1",
                "ce-type": "org.caremesh.scheduling.appointment.booked.v1",
                REASON_HEADER: "unprocessable: unknown appointment",
                QUEUE_HEADER: DLQ.removesuffix(".dlq"),
                "x-delivery-count": 3,
            }
        ),
    )
    assert (dead.id, dead.reason) == ("e1", "unprocessable: unknown appointment")
    assert (dead.exchange, dead.routing_key) == ("caremesh.events", "scheduling.appointment.booked")


def test_a_dead_letter_of_the_broker_is_read_from_x_death():
    death = {
        "queue": DLQ.removesuffix(".dlq"),
        "reason": "delivery_limit",
        "exchange": "caremesh.events",
        "routing-keys": [b"scheduling.appointment.booked"],
        "count": 1,
    }
    dead = read(NAMES, DLQ, message({"x-death": [death]}, message_id="m1"))
    assert (dead.id, dead.reason) == ("m1", "dead-lettered by the broker: delivery_limit")
    assert (dead.exchange, dead.routing_key) == ("caremesh.events", "scheduling.appointment.booked")


def test_a_re_drive_starts_the_attempt_count_afresh_and_keeps_the_history():
    headers = {
        "ce-id": "e1",
        REASON_HEADER: "gave up after 10 attempts: RuntimeError",
        QUEUE_HEADER: DLQ.removesuffix(".dlq"),
        "x-delivery-count": 9,
        "x-death": [{"reason": "rejected"}],
        "x-first-death-reason": "rejected",
        REPLAYS_HEADER: 1,
        HISTORY_HEADER: ["caremesh.notifications.scheduling.appointment.booked: unprocessable: x"],
    }
    again = replay_headers(read(NAMES, DLQ, message(headers)))
    assert again == {
        "ce-id": "e1",
        REPLAYS_HEADER: 2,
        HISTORY_HEADER: [
            "caremesh.notifications.scheduling.appointment.booked: gave up after 10 attempts: RuntimeError",
            "caremesh.notifications.scheduling.appointment.booked: unprocessable: x",
        ],
    }


def test_a_selection_matches_every_criterion_given():
    dead = read(
        NAMES,
        DLQ,
        message(
            {"ce-id": "e1", "ce-type": "org.caremesh.scheduling.appointment.booked.v1", REASON_HEADER: "Not ready: x"}
        ),
    )
    assert Selection(reason="not READY", type="org.caremesh.scheduling.*")(dead)
    assert not Selection(reason="not ready", routing_key="insurance.*")(dead)
    assert Selection(ids=("e1",))(dead) and not Selection(ids=("e2",))(dead)
    assert Selection().empty and not Selection(everything=True).empty and not Selection(everything=True).narrowed


def test_the_retention_policy_covers_only_the_namespaces_dead_letter_queues():
    policy = dlq.retention_policy("test.ns", 14, 0)
    assert (
        policy["definition"] == {"message-ttl": 14 * 86_400_000, "delivery-limit": 1_000_000}
        and policy["apply-to"] == "queues"
    )
    pattern = re.compile(policy["pattern"])
    assert pattern.match("test.ns.records.scheduling.appointment.booked.dlq")
    assert not pattern.match("test.ns.records.scheduling.appointment.booked")
    assert not pattern.match("testXns.records.x.dlq")


def test_vhost_of_an_amqp_url():
    assert vhost("amqp://guest:guest@127.0.0.1:5672/") == "/"
    assert vhost("amqp://u:p@h:5672/care%2Fmesh") == "care/mesh"
    assert vhost("amqp://u:p@h:5672") == "/"


def test_tail_filters_by_type_routing_key_and_time():
    m = message(
        {"ce-type": "org.caremesh.insurance.coverage.registered.v1", "ce-time": "2026-12-01T10:00:00Z", "ce-id": "e"},
        body=b'{"coverage_id": "c"}',
        routing_key="insurance.coverage.registered",
    )
    assert Filter(type="org.caremesh.insurance.*", routing_key="insurance.#")(m)
    assert not Filter(type="org.caremesh.records.*")(m)
    assert Filter(since=datetime(2026, 12, 1, 10, tzinfo=UTC))(m)
    assert not Filter(since=datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC))(m)
    event = as_cloudevent(m)
    assert event["id"] == "e" and event["data"] == {"coverage_id": "c"}
    assert event["routingkey"] == "insurance.coverage.registered"


def test_offsets_and_times_are_checked():
    assert parse_offset("first") == "first" and parse_offset("12") == 12
    assert parse_time("2026-12-01T00:00Z") == datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_offset("-1")
    with pytest.raises(argparse.ArgumentTypeError):
        parse_time("yesterday")
