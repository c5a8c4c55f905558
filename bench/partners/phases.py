"""The measured phases. Each event is published onto the bus (the namespace's exchange, persistent,
with a publisher confirm, as the services' outbox relays do) and timed from just before its
publication to its first 2xx answer at the receiver; the baseline POSTs the same CloudEvents,
signed the same way, straight to the receiver; the outage phase keeps publishing while the
receiver answers 503, then lets it recover."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
import httpx
from booking.common import AMQP_URL, closed_loop, open_loop, say
from booking.report import percentile

from caremesh_contracts import ReferralReceived
from caremesh_contracts.audiences import PartnerKind, project, view
from caremesh_kit import webhooks
from caremesh_kit.bus import Names
from caremesh_testing import event_headers
from partners.receiver import Receiver


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def referrals(run: str, phase: str, n: int, organization: str) -> list[ReferralReceived]:
    """``n`` referrals made by the partner's organization, each its own (no ordering between them)."""
    return [
        ReferralReceived(
            referral_id=f"bench-{run}-{phase}-{i}",
            patient_id=f"bench-{run}-patient-{i}",
            service_code="99213",
            referring_organization=organization,
            priority="routine",
        )
        for i in range(n)
    ]


class Publisher:
    """One connection and one confirming channel for the whole run (a connection per event, as
    ``publish_event`` opens, would time the connection set-up rather than the delivery)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    async def __aenter__(self) -> Publisher:
        self.connection = await asyncio.wait_for(aio_pika.connect(AMQP_URL, timeout=10), timeout=15)
        channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        self.exchange = await channel.get_exchange(Names(self.namespace).exchange, ensure=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.wait_for(self.connection.close(), timeout=10)

    async def publish(self, event: ReferralReceived, event_id: str) -> float:
        """Publishes with ``ce-time`` = now; returns that time (unix seconds)."""
        at = time.time()
        headers = event_headers(event, event_id, **{"ce-time": iso(at), "ce-subject": event.referral_id})
        await self.exchange.publish(
            aio_pika.Message(
                event.model_dump_json().encode(),
                headers=headers,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=event.routing_key,
            mandatory=True,
        )
        return at


@dataclass
class Timed:
    sent: dict[str, float] = field(default_factory=dict)  # event id -> publication (or POST) time
    arrived: dict[str, float] = field(default_factory=dict)  # event id -> first 2xx answer
    errors: Counter[str] = field(default_factory=Counter)
    offering: dict[str, Any] | None = None

    def figures(self, since: float | None = None) -> dict[str, Any]:
        """Deliveries/s over first publication (or ``since``) to last arrival; lag per event."""
        lags = [(self.arrived[e] - s) * 1000 for e, s in self.sent.items() if e in self.arrived]
        start = since if since is not None else min(self.sent.values(), default=0.0)
        wall = max(self.arrived.values(), default=start) - start
        return {
            "published": len(self.sent),
            "delivered": len(self.arrived),
            "missing": len(self.sent) - len(self.arrived),
            "errors": dict(self.errors),
            "wall_s": round(wall, 3),
            "deliveries_per_s": round(len(self.arrived) / wall, 2) if wall > 0 else None,
            "lag_ms": {
                "p50": percentile(lags, 50),
                "p95": percentile(lags, 95),
                "p99": percentile(lags, 99),
                "max": max(lags, default=None),
                "mean": sum(lags) / len(lags) if lags else None,
            },
        }


async def _drive(items: list[Any], rate: float | None, concurrency: int, deadline: float, one: Any) -> Any:
    if rate:
        return await open_loop(items, rate, one, deadline)
    await closed_loop(items, concurrency, one)
    return None


def _published(receiver: Receiver, publisher: Publisher, t: Timed, wait_s: float) -> Any:
    """One event: published, then awaited at the receiver for at most ``wait_s``."""

    async def one(event: ReferralReceived) -> None:
        event_id = uuid.uuid4().hex
        arrival = receiver.expect(event_id)
        try:
            t.sent[event_id] = await publisher.publish(event, event_id)
            t.arrived[event_id] = await asyncio.wait_for(arrival, wait_s)
        except TimeoutError:
            t.errors["not delivered in time"] += 1
        except aio_pika.exceptions.AMQPError as exc:
            t.errors[type(exc).__name__] += 1

    return one


async def through_gateway(
    receiver: Receiver,
    publisher: Publisher,
    events: list[ReferralReceived],
    rate: float | None,
    concurrency: int,
    wait_s: float,
) -> Timed:
    """Each event published and awaited at the receiver (closed loop: ``concurrency`` in flight;
    open loop: offered at ``rate``)."""
    t = Timed()

    one = _published(receiver, publisher, t, wait_s)
    t.offering = await _drive(events, rate, concurrency, wait_s, one)
    return t


def cloudevent(event: ReferralReceived, event_id: str, at: float) -> bytes:
    """What the gateway sends for this event: the clinic's view in a structured-mode CloudEvent."""
    fields = view(ReferralReceived, PartnerKind.REFERRING_CLINIC) or ()
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "type": event.ce_type(),
            "source": "/caremesh/scheduling",
            "time": iso(at),
            "datacontenttype": "application/json",
            "data": project(event.model_dump(mode="json"), fields),
            "subject": event.referral_id,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


async def baseline(
    receiver: Receiver,
    events: list[ReferralReceived],
    rate: float | None,
    concurrency: int,
    secret: str,
    wait_s: float,
) -> Timed:
    """The same payloads, signed with ``secret``, POSTed straight to the receiver with httpx at the
    same concurrency (or rate): the HTTP hop alone, without the bus, the store or the dispatcher."""
    t = Timed()
    async with httpx.AsyncClient(timeout=wait_s, follow_redirects=False) as client:

        async def one(event: ReferralReceived) -> None:
            event_id = uuid.uuid4().hex
            arrival = receiver.expect(event_id)
            at = time.time()
            body = cloudevent(event, event_id, at)
            headers = webhooks.headers([secret], f"msg_{event_id}", int(at), body)
            headers["content-type"] = "application/cloudevents+json"
            t.sent[event_id] = at
            try:
                r = await client.post(receiver.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                t.errors[type(exc).__name__] += 1
                return
            if r.status_code == 200 and arrival.done():
                t.arrived[event_id] = arrival.result()
            else:
                t.errors[f"HTTP {r.status_code}"] += 1

        t.offering = await _drive(events, rate, concurrency, wait_s, one)
    return t


async def outage(receiver: Receiver, publisher: Publisher, events: list[ReferralReceived], a: Any) -> dict[str, Any]:
    """The receiver answers 503 for ``a.outage`` seconds while ``events`` are published at
    ``a.outage_rate``, then 200 again; every event is awaited until ``a.drain_timeout`` after that."""
    t = Timed()
    wait_s = a.outage + a.drain_timeout
    marks: dict[str, float] = {}

    one = _published(receiver, publisher, t, wait_s)

    async def recover() -> None:
        await asyncio.sleep(a.outage)
        receiver.down = False
        marks["up"] = time.time()
        say(f"receiver answers 200 again after {a.outage:g} s; draining")

    receiver.down = True
    marks["down"] = time.time()
    say(f"receiver down (503) for {a.outage:g} s; publishing {len(events)} events at {a.outage_rate:g}/s meanwhile")
    try:
        recovery = asyncio.create_task(recover())
        t.offering = await open_loop(events, a.outage_rate, one, wait_s + 5)
        await recovery
    finally:
        receiver.down = False
    up = marks["up"]
    ids = set(t.sent)
    tries: dict[str, int] = defaultdict(int)
    refused = early = 0
    for r in receiver.arrivals:
        if r.event_id in ids:
            tries[r.event_id] += 1
            refused += r.status == 503
            early += r.status == 200 and r.at < up
    delivered = [tries[e] for e in t.arrived]
    figures = t.figures(since=up)
    return {
        "published": len(events),
        "outage_s": a.outage,
        "outage_rate_per_s": a.outage_rate,
        "answered_503": refused,
        "delivered_while_down": early,
        "time_to_drain_s": figures["wall_s"] if t.arrived else None,
        "first_after_recovery_s": round(min(t.arrived.values()) - up, 3) if t.arrived else None,
        "drain_deliveries_per_s": figures["deliveries_per_s"],
        "delivered": figures["delivered"],
        "missing": figures["missing"],
        "errors": figures["errors"],
        "lag_ms": figures["lag_ms"],
        "attempts_per_delivery": {
            "mean": round(sum(delivered) / len(delivered), 2) if delivered else None,
            "p50": percentile([float(x) for x in delivered], 50),
            "max": max(delivered, default=None),
        },
        "offering": t.offering,
        "ids": ids,  # dropped from the report; for the duplicate count
    }


def repeats(receiver: Receiver, ids: set[str]) -> dict[str, int]:
    """Over the requests about ``ids``: a ``webhook-id`` seen again (any answer: retries count), a
    ``webhook-id`` answered 2xx more than once (a duplicate delivery the receiver must drop), an
    event that came under more than one ``webhook-id`` (which would defeat de-duplication), and
    requests about events this run never published."""
    seen: Counter[str] = Counter()
    ok: Counter[str] = Counter()
    webhook_ids: dict[str, set[str]] = defaultdict(set)
    foreign = 0
    for r in receiver.arrivals:
        if r.event_id not in ids:
            foreign += r.event_id is not None and r.event_id not in receiver.waiting
            continue
        key = r.webhook_id or ""
        seen[key] += 1
        ok[key] += r.status == 200
        webhook_ids[r.event_id].add(key)
    return {
        "requests": sum(seen.values()),
        "distinct_webhook_ids": len(seen),
        "raw_repeats": sum(c - 1 for c in seen.values()),
        "duplicates_after_2xx": sum(c - 1 for c in ok.values() if c > 1),
        "events_under_several_ids": sum(len(v) > 1 for v in webhook_ids.values()),
        "unknown_events": foreign,
    }
