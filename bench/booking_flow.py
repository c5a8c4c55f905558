"""Benchmark: the booking flow end to end, against a bare aio-pika chain with the same broker hops.

Run with ``uv run python bench/booking_flow.py [--n 200] [--concurrency 20] [--json]``; see
bench/README.md. The script starts its own four-service cluster in a namespace of its own
(``bench-<uuid>``, ports 8201-8204, databases ``caremesh_<service>_bench_<short>``) and removes
everything it created afterwards: processes, queues and exchanges, databases, Mailpit messages.
Every target is on 127.0.0.1 and every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import shutil
import socket
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from caremesh_kit.auth import mint
from caremesh_kit.devcluster import SERVICES, Cluster
from pymongo import AsyncMongoClient, MongoClient

HOST = "127.0.0.1"
AMQP_URL = f"amqp://guest:guest@{HOST}:5672/"
MANAGEMENT_URL = f"http://{HOST}:15672"
MANAGEMENT_AUTH = ("guest", "guest")
MAILPIT_URL = f"http://{HOST}:8025"
MONGO_PORTS = {"scheduling": 27101, "records": 27102, "insurance": 27103, "notifications": 27104}
SMTP_PORT = 1025
PORT_OFFSET = 200
SERVICE_CODE = "99213"
SLOTS_PER_PRACTITIONER = 100
PREFETCH = 16  # the services' default (ServiceSettings.prefetch)
DELIVERY_LIMIT = 10  # the services' default (ServiceSettings.delivery_limit)

# The broker hops of the booking flow, in order: (consuming service, routing key consumed,
# routing key republished). Scheduling publishes the first event after POST /appointments.
HOPS: list[tuple[str, str, str | None]] = [
    ("insurance", "scheduling.appointment.requested", "insurance.eligibility.confirmed"),
    ("scheduling", "insurance.eligibility.confirmed", "scheduling.appointment.booked"),
    ("notifications", "scheduling.appointment.booked", None),
]


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# -- statistics -------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Figures:
    """Latencies in milliseconds and throughput in completed operations per second."""

    completed: int
    failed: int
    p50_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    max_ms: float | None
    throughput_per_s: float | None
    wall_s: float

    @classmethod
    def of(cls, latencies_s: list[float], failed: int, first_start: float | None, last_done: float | None) -> Figures:
        ms = [x * 1000 for x in latencies_s]
        wall = (last_done - first_start) if (first_start is not None and last_done is not None) else 0.0
        return cls(
            completed=len(ms), failed=failed,
            p50_ms=percentile(ms, 50), p99_ms=percentile(ms, 99),
            mean_ms=(sum(ms) / len(ms)) if ms else None, max_ms=max(ms) if ms else None,
            throughput_per_s=(len(ms) / wall) if wall > 0 else None, wall_s=wall,
        )


# -- bounded closed-loop driver ------------------------------------------------------------------
async def closed_loop(items: list[Any], concurrency: int, one: Callable[[Any], Awaitable[None]]) -> None:
    """Run ``one`` over ``items`` with at most ``concurrency`` in flight, each worker starting its
    next item when the previous one has completed end to end."""
    it = iter(items)

    async def worker() -> None:
        for item in it:  # the shared iterator bounds the total count
            await one(item)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(items))))))


# =============================================================================================
# Full suite: the four services over HTTP
# =============================================================================================
@dataclass
class Booking:
    index: int
    patient_id: str
    email: str
    slot_id: str
    appointment_id: str | None = None
    t_send_wall: float | None = None  # epoch seconds, just before the POST is written
    t_send: float | None = None  # perf_counter at the same moment
    t_observed: float | None = None  # perf_counter when the poller first saw the message as sent
    sent_at: float | None = None  # epoch seconds: the message record's sent_at
    mail_created: float | None = None  # epoch seconds: Mailpit's Created for the email
    error: str | None = None


class SentPoller:
    """One loop over all outstanding bookings: a single query on notifications' messages
    collection per tick (instead of one HTTP request per booking per tick)."""

    def __init__(self, collection: Any, interval: float) -> None:
        self.collection = collection
        self.interval = interval
        self.waiting: dict[str, asyncio.Future] = {}
        self.queries = 0
        self.query_errors = 0

    def expect(self, patient_id: str) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[patient_id] = fut
        return fut

    def forget(self, patient_id: str) -> None:
        self.waiting.pop(patient_id, None)

    async def run(self, stop: asyncio.Event, deadline: float) -> None:
        max_ticks = int((deadline - time.monotonic()) / self.interval) + 10
        for _ in range(max_ticks):
            if stop.is_set() or time.monotonic() > deadline:
                return
            if self.waiting:
                ids = list(self.waiting)
                try:
                    cursor = self.collection.find(
                        {"patient_id": {"$in": ids}, "status": "sent"},
                        {"patient_id": 1, "appointment_id": 1, "template": 1, "sent_at": 1},
                    )
                    docs = await asyncio.wait_for(cursor.to_list(None), timeout=5)
                    self.queries += 1
                except Exception as exc:  # noqa: BLE001 - count it, try again next tick
                    self.query_errors += 1
                    say(f"poll failed ({type(exc).__name__}: {exc}); retrying")
                    docs = []
                now = time.perf_counter()
                for doc in docs:
                    fut = self.waiting.pop(doc["patient_id"], None)
                    if fut is not None and not fut.done():
                        fut.set_result((now, doc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)


class FullSuite:
    def __init__(self, cluster: Cluster, args: argparse.Namespace, short: str, secret: str) -> None:
        self.cluster = cluster
        self.args = args
        self.short = short
        self.token = mint("bench-coordinator", ["coordinator"], secret, ttl=timedelta(hours=2))
        self.notifications_db = f"caremesh_notifications{cluster.db_suffix}"

    def url(self, service: str, path: str) -> str:
        return self.cluster.url(service) + path

    async def _post(self, client: httpx.AsyncClient, service: str, path: str, body: dict) -> Any:
        r = await client.post(self.url(service, path), json=body)
        if r.status_code != 201:
            raise RuntimeError(f"POST {service}{path} -> {r.status_code}: {r.text[:300]}")
        return r.json()

    async def setup(self, client: httpx.AsyncClient, total: int) -> list[Booking]:
        started = time.perf_counter()
        today = datetime.now(UTC).date()
        sem = asyncio.Semaphore(self.args.setup_concurrency)

        # Practitioners and their slots: tomorrow onwards, 30 minutes each.
        n_prac = max(1, math.ceil(total / SLOTS_PER_PRACTITIONER))
        base = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        slot_ids: list[str] = []
        for p in range(n_prac):
            prac = await self._post(client, "scheduling", "/practitioners",
                                    {"name": f"Dr. Bench {self.short} {p}", "specialty": "Family medicine",
                                     "time_zone": "UTC"})
            count = min(SLOTS_PER_PRACTITIONER, total - len(slot_ids))
            times = [{"start": (base + timedelta(minutes=30 * j)).isoformat(),
                      "end": (base + timedelta(minutes=30 * j + 30)).isoformat()} for j in range(count)]
            slots = await self._post(client, "scheduling", f"/practitioners/{prac['id']}/slots", {"slots": times})
            slot_ids += [s["id"] for s in slots]

        async def patient(i: int) -> Booking:
            email = f"bench.{self.short}.{i}@example.org"
            async with sem:
                p = await self._post(client, "records", "/patients", {
                    "given_name": "Bench", "family_name": f"Patient{i}", "birth_date": "1980-01-01",
                    "email": email, "time_zone": "UTC"})
                await self._post(client, "insurance", "/coverages", {
                    "patient_id": p["id"], "payer": "Bench Health", "plan": "PPO", "member_id": f"B{self.short}{i}",
                    "period_start": (today - timedelta(days=1)).isoformat(), "service_codes": [SERVICE_CODE]})
            return Booking(index=i, patient_id=p["id"], email=email, slot_id=slot_ids[i])

        bookings = list(await asyncio.gather(*(patient(i) for i in range(total))))
        say(f"set up {total} patients + coverages, {n_prac} practitioner(s), {len(slot_ids)} slots "
            f"in {time.perf_counter() - started:.1f}s")
        return bookings

    async def wait_for_contacts(self, mongo: AsyncMongoClient, patient_ids: list[str]) -> None:
        """Notifications learns contacts from records' events; book only once it has them all,
        so no booking waits on a RetryLater."""
        contacts = mongo[self.notifications_db]["contacts"]
        deadline = time.monotonic() + self.args.setup_timeout
        have = 0
        while time.monotonic() < deadline:
            have = await asyncio.wait_for(contacts.count_documents({"_id": {"$in": patient_ids}}), timeout=10)
            if have >= len(patient_ids):
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"notifications has {have}/{len(patient_ids)} contacts after {self.args.setup_timeout}s")

    async def drive(self, client: httpx.AsyncClient, poller: SentPoller, bookings: list[Booking]) -> None:
        async def one(b: Booking) -> None:
            fut = poller.expect(b.patient_id)  # registered before the POST: nothing can be missed
            try:
                b.t_send_wall, b.t_send = time.time(), time.perf_counter()
                r = await client.post(self.url("scheduling", "/appointments"),
                                      json={"patient_id": b.patient_id, "slot_id": b.slot_id,
                                            "service_code": SERVICE_CODE})
                if r.status_code != 201:
                    b.error = f"POST /appointments -> {r.status_code}: {r.text[:200]}"
                    return
                b.appointment_id = r.json()["id"]
                t_obs, doc = await asyncio.wait_for(fut, timeout=self.args.booking_timeout)
                if doc.get("template") != "appointment.booked" or doc.get("appointment_id") != b.appointment_id:
                    b.error = f"unexpected message: template={doc.get('template')} for {doc.get('appointment_id')}"
                    return
                b.t_observed = t_obs
                b.sent_at = doc["sent_at"].timestamp()
            except TimeoutError:
                b.error = f"no email recorded as sent within {self.args.booking_timeout}s"
            except httpx.HTTPError as exc:
                b.error = f"HTTP error: {type(exc).__name__}: {exc}"
            finally:
                poller.forget(b.patient_id)
                if not fut.done():
                    fut.cancel()

        await closed_loop(bookings, self.args.concurrency, one)

    async def run(self) -> dict[str, Any]:
        a = self.args
        total = a.warmup + a.n
        limits = httpx.Limits(max_connections=max(a.concurrency, a.setup_concurrency) + 10,
                              max_keepalive_connections=max(a.concurrency, a.setup_concurrency) + 10)
        timeout = httpx.Timeout(a.http_timeout)
        mongo: AsyncMongoClient = AsyncMongoClient(
            f"mongodb://{HOST}:{MONGO_PORTS['notifications']}/", tz_aware=True,
            serverSelectionTimeoutMS=5000, connectTimeoutMS=5000, socketTimeoutMS=10000)
        try:
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {self.token}"},
                                         limits=limits, timeout=timeout) as client:
                bookings = await self.setup(client, total)
                await self.wait_for_contacts(mongo, [b.patient_id for b in bookings])
                poller = SentPoller(mongo[self.notifications_db]["messages"], a.poll_interval)
                stop = asyncio.Event()
                poll_task = asyncio.create_task(poller.run(stop, time.monotonic() + a.timeout))
                try:
                    warm, measured = bookings[:a.warmup], bookings[a.warmup:]
                    if warm:
                        say(f"full suite: {len(warm)} warm-up booking(s)")
                        await self.drive(client, poller, warm)
                    say(f"full suite: {len(measured)} bookings at concurrency {a.concurrency}")
                    await self.drive(client, poller, measured)
                finally:
                    stop.set()
                    await asyncio.wait_for(poll_task, timeout=10)
            stages = await self.stage_breakdown([b for b in measured if b.error is None])
        finally:
            await mongo.close()

        mail = await mailpit_collect(self.short, bookings)
        ok = [b for b in measured if b.error is None]
        failed = [b for b in measured if b.error is not None]
        for b in failed[:5]:
            say(f"booking {b.index} failed: {b.error}")
        first = min((b.t_send_wall for b in measured if b.t_send_wall is not None), default=None)
        primary = Figures.of([b.sent_at - b.t_send_wall for b in ok], len(failed),
                             first, max((b.sent_at for b in ok), default=None))
        first_pc = min((b.t_send for b in measured if b.t_send is not None), default=None)
        observed = Figures.of([b.t_observed - b.t_send for b in ok], len(failed),
                              first_pc, max((b.t_observed for b in ok), default=None))
        with_mail = [b for b in ok if b.mail_created is not None]
        mailpit = Figures.of([b.mail_created - b.t_send_wall for b in with_mail], len(measured) - len(with_mail),
                             first, max((b.mail_created for b in with_mail), default=None))
        return {
            "record": primary, "observed": observed, "mailpit": mailpit,
            "poll_queries": poller.queries, "poll_errors": poller.query_errors,
            "mailpit_found": mail["found"], "mailpit_deleted": mail["deleted"], "stages": stages,
        }

    async def stage_breakdown(self, done: list[Booking]) -> dict[str, dict[str, float | None]]:
        """Where the time goes, from the services' own timestamps (read after the run, so the
        reads do not disturb it): p50/p99 per stage in ms. Stages include the outbox relay and
        the broker hop that lead to the next service's handler."""
        if not done:
            return {}
        ids = [b.appointment_id for b in done]
        suffix = self.cluster.db_suffix

        async def read(service: str, coll: str, query: dict, fields: dict) -> list[dict]:
            client: AsyncMongoClient = AsyncMongoClient(
                f"mongodb://{HOST}:{MONGO_PORTS[service]}/", tz_aware=True,
                serverSelectionTimeoutMS=5000, connectTimeoutMS=5000, socketTimeoutMS=30000)
            try:
                cursor = client[f"caremesh_{service}{suffix}"][coll].find(query, fields)
                return await asyncio.wait_for(cursor.to_list(None), timeout=30)
            finally:
                await client.close()

        try:
            appts = {d["_id"]: d for d in await read("scheduling", "appointments", {"_id": {"$in": ids}},
                                                      {"requested_at": 1, "updated_at": 1})}
            checks = {d["_id"]: d for d in await read("insurance", "eligibility_checks", {"_id": {"$in": ids}},
                                                       {"checked_at": 1})}
            msgs = {d["appointment_id"]: d for d in await read("notifications", "messages",
                                                                {"appointment_id": {"$in": ids}},
                                                                {"appointment_id": 1, "created_at": 1, "sent_at": 1})}
        except Exception as exc:  # noqa: BLE001 - the breakdown is extra; never fail the run on it
            say(f"stage breakdown unavailable: {type(exc).__name__}: {exc}")
            return {}
        names = ["POST -> appointment requested (scheduling)",
                 "requested -> eligibility checked (insurance)",
                 "checked -> appointment booked (scheduling)",
                 "booked -> message composed (notifications)",
                 "composed -> email sent (claim + SMTP)"]
        spans: list[list[float]] = [[] for _ in names]
        for b in done:
            a, c, m = appts.get(b.appointment_id), checks.get(b.appointment_id), msgs.get(b.appointment_id)
            if not (a and c and m and b.t_send_wall is not None):
                continue
            points = [b.t_send_wall, a["requested_at"].timestamp(), c["checked_at"].timestamp(),
                      a["updated_at"].timestamp(), m["created_at"].timestamp(), m["sent_at"].timestamp()]
            for k in range(len(names)):
                spans[k].append((points[k + 1] - points[k]) * 1000)
        return {n: {"p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99)} for n, v in zip(names, spans, strict=True)}


async def mailpit_collect(short: str, bookings: list[Booking]) -> dict[str, int]:
    """Match the run's emails in Mailpit (one search, paged), record their Created time, then
    delete exactly those messages (they are this run's, by their unique addresses)."""
    by_email = {b.email: b for b in bookings}
    found: dict[str, str] = {}  # Mailpit ID -> email
    deleted = 0
    page = 250
    try:
        async with httpx.AsyncClient(base_url=MAILPIT_URL, timeout=10) as client:
            start, total = 0, None
            for _ in range(1 + len(bookings) // page + 5):  # bounded paging
                r = await client.get("/api/v1/search", params={"query": f"to:bench.{short}.", "start": start,
                                                               "limit": page})
                r.raise_for_status()
                data = r.json()
                total = data.get("messages_count", 0)
                msgs = data.get("messages") or []
                for m in msgs:
                    for to in m.get("To") or []:
                        b = by_email.get((to.get("Address") or "").lower())
                        if b is not None:
                            found[m["ID"]] = b.email
                            created = datetime.fromisoformat(m["Created"]).timestamp()
                            b.mail_created = created if b.mail_created is None else min(b.mail_created, created)
                start += len(msgs)
                if not msgs or start >= total:
                    break
            ids = list(found)
            for i in range(0, len(ids), 200):
                r = await client.request("DELETE", "/api/v1/messages", json={"IDs": ids[i:i + 200]})
                if r.status_code == 200:
                    deleted += len(ids[i:i + 200])
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        say(f"mailpit: {type(exc).__name__}: {exc}")
    return {"found": len(found), "deleted": deleted}


# =============================================================================================
# Baseline: a bare aio-pika chain with the same broker hops
# =============================================================================================
class Baseline:
    """Three quorum queues (delivery limit + dead-letter exchange, like the services'), each with a
    consumer on its own connection that republishes persistent, mandatory and confirmed to a topic
    exchange. No store, no HTTP, no outbox."""

    def __init__(self, namespace: str, args: argparse.Namespace) -> None:
        self.ns = namespace
        self.args = args
        self.exchange_name = f"{namespace}.events"
        self.dlx_name = f"{namespace}.dlx"
        self.event_log = f"{namespace}.event-log"
        self.queues = [f"{namespace}.{svc}.{rk}" for svc, rk, _ in HOPS]
        self.connections: list[aio_pika.abc.AbstractConnection] = []
        self.pending: dict[str, asyncio.Future] = {}
        self.hop_errors = 0

    async def _connect(self) -> aio_pika.abc.AbstractConnection:
        conn = await asyncio.wait_for(aio_pika.connect(AMQP_URL, timeout=10), timeout=15)
        self.connections.append(conn)
        return conn

    async def declare(self) -> None:
        conn = await self._connect()
        ch = await conn.channel()
        exchange = await ch.declare_exchange(self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True, timeout=10)
        await ch.declare_exchange(self.dlx_name, aio_pika.ExchangeType.DIRECT, durable=True, timeout=10)
        for name, (_, rk, _) in zip(self.queues, HOPS, strict=True):
            q = await ch.declare_queue(name, durable=True, timeout=10, arguments={
                "x-queue-type": "quorum", "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": self.dlx_name, "x-dead-letter-routing-key": name})
            await q.bind(exchange, routing_key=rk, timeout=10)
        if self.args.baseline_event_log:
            q = await ch.declare_queue(self.event_log, durable=True, timeout=10,
                                       arguments={"x-queue-type": "stream", "x-max-age": "1h"})
            await q.bind(exchange, routing_key="#", timeout=10)
        await ch.close()

    async def start_hops(self) -> None:
        for name, (svc, _, next_rk) in zip(self.queues, HOPS, strict=True):
            conn = await self._connect()
            consume_ch = await conn.channel()
            await consume_ch.set_qos(prefetch_count=PREFETCH)
            publish_ch = await conn.channel(publisher_confirms=True, on_return_raises=True)
            out = await publish_ch.get_exchange(self.exchange_name, ensure=False)
            queue = await consume_ch.get_queue(name, ensure=False)
            await queue.consume(self._handler(svc, out, next_rk), timeout=10)

    def _handler(self, svc: str, out: aio_pika.abc.AbstractExchange, next_rk: str | None):
        async def on_message(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
            try:
                if next_rk is None:  # the last hop: notifications "sends"
                    fut = self.pending.pop(msg.correlation_id or "", None)
                    if fut is not None and not fut.done():
                        fut.set_result(time.perf_counter())
                else:
                    await out.publish(
                        aio_pika.Message(msg.body, headers=dict(msg.headers or {}), content_type=msg.content_type,
                                         message_id=str(uuid.uuid4()), correlation_id=msg.correlation_id,
                                         app_id=f"bench-{svc}", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=next_rk, mandatory=True, timeout=10)
                await msg.ack()
            except Exception as exc:  # noqa: BLE001 - requeue, like the services' retry
                self.hop_errors += 1
                say(f"baseline hop {svc} failed: {type(exc).__name__}: {exc}")
                with contextlib.suppress(Exception):
                    await msg.nack(requeue=True)
        return on_message

    async def run(self) -> Figures:
        a = self.args
        try:
            await self.declare()
            await self.start_hops()
            pub_conn = await self._connect()
            pub_ch = await pub_conn.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await pub_ch.get_exchange(self.exchange_name, ensure=False)
            body = json.dumps({"appointment_id": str(uuid.uuid4()), "patient_id": str(uuid.uuid4()),
                               "practitioner_id": str(uuid.uuid4()), "slot_id": str(uuid.uuid4()),
                               "service_code": SERVICE_CODE, "start": "2030-01-01T10:00:00Z",
                               "end": "2030-01-01T10:30:00Z", "service_date": "2030-01-01"}).encode()
            results: dict[int, tuple[float, float] | None] = {}

            async def one(i: int) -> None:
                cid = f"{self.ns}-{i}"
                fut = asyncio.get_running_loop().create_future()
                self.pending[cid] = fut
                t0 = time.perf_counter()
                try:
                    await exchange.publish(
                        aio_pika.Message(body, content_type="application/json", message_id=str(uuid.uuid4()),
                                         correlation_id=cid, headers={"ce-type": "bench"}, app_id="bench-scheduling",
                                         delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=HOPS[0][1], mandatory=True, timeout=10)
                    results[i] = (t0, await asyncio.wait_for(fut, timeout=a.booking_timeout))
                except Exception as exc:  # noqa: BLE001 - counted as failed
                    results[i] = None
                    if sum(r is None for r in results.values()) <= 5:
                        say(f"baseline message {i} failed: {type(exc).__name__}: {exc!r}")
                finally:
                    self.pending.pop(cid, None)

            if a.warmup:
                say(f"baseline: {a.warmup} warm-up message(s)")
                await closed_loop(list(range(a.warmup)), a.concurrency, one)
                results.clear()
            say(f"baseline: {a.n} messages through {len(HOPS)} hops at concurrency {a.concurrency}")
            await closed_loop(list(range(a.warmup, a.warmup + a.n)), a.concurrency, one)
            done = [r for r in results.values() if r is not None]
            return Figures.of([t1 - t0 for t0, t1 in done], a.n - len(done),
                              min((t0 for t0, _ in done), default=None), max((t1 for _, t1 in done), default=None))
        finally:
            await self.teardown()

    async def teardown(self) -> None:
        for conn in reversed(self.connections[1:]):  # consumers and publisher first
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=10)
        try:
            conn = self.connections[0] if self.connections else await self._connect()
            ch = await conn.channel()
            for q in [*self.queues, self.event_log]:
                await ch.queue_delete(q, timeout=10)
            for ex in (self.exchange_name, self.dlx_name):
                await ch.exchange_delete(ex, timeout=10)
            await ch.close()
        except Exception as exc:  # noqa: BLE001 - the management sweep afterwards retries
            say(f"baseline teardown over AMQP failed: {type(exc).__name__}: {exc}")
        finally:
            for conn in self.connections[:1]:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), timeout=10)
            self.connections.clear()


# =============================================================================================
# Cleanup
# =============================================================================================
def sweep_broker(namespace: str) -> dict[str, Any]:
    """Delete every queue and exchange named ``<namespace>.*`` (management API on 15672)."""
    prefix = namespace + "."
    out: dict[str, Any] = {"queues_deleted": 0, "exchanges_deleted": 0, "left": []}
    try:
        with httpx.Client(base_url=MANAGEMENT_URL, auth=MANAGEMENT_AUTH, timeout=10) as c:
            for kind in ("queues", "exchanges"):
                r = c.get(f"/api/{kind}/%2F", params={"columns": "name"})
                r.raise_for_status()
                for name in sorted(x["name"] for x in r.json() if x["name"].startswith(prefix)):
                    d = c.delete(f"/api/{kind}/%2F/{urllib.parse.quote(name, safe='')}")
                    if d.status_code in (204, 404):
                        out[f"{kind}_deleted"] += d.status_code == 204
                    else:
                        say(f"could not delete {kind[:-1]} {name}: {d.status_code}")
            for kind in ("queues", "exchanges"):
                r = c.get(f"/api/{kind}/%2F", params={"columns": "name"})
                r.raise_for_status()
                out["left"] += [x["name"] for x in r.json() if x["name"].startswith(prefix)]
    except httpx.HTTPError as exc:
        out["error"] = f"management API: {type(exc).__name__}: {exc}"
        say(out["error"] + "; falling back to AMQP deletes of the known names")
        asyncio.run(_amqp_delete_known(namespace))
    return out


async def _amqp_delete_known(namespace: str) -> None:
    """Fallback without the management API: the names the services declare, derived from the
    event contracts (deleting a missing queue or exchange is a no-op in RabbitMQ)."""
    from caremesh_contracts import all_event_types

    names = [f"{namespace}.event-log"]
    for svc in SERVICES:
        for ev in all_event_types():
            names += [f"{namespace}.{svc}.{ev.routing_key}", f"{namespace}.{svc}.{ev.routing_key}.dlq"]
    conn = await asyncio.wait_for(aio_pika.connect(AMQP_URL, timeout=10), timeout=15)
    try:
        ch = await conn.channel()
        for q in names:
            await ch.queue_delete(q, timeout=10)
        for ex in (f"{namespace}.events", f"{namespace}.dlx"):
            await ch.exchange_delete(ex, timeout=10)
    finally:
        await asyncio.wait_for(conn.close(), timeout=10)


def drop_databases(db_suffix: str) -> dict[str, Any]:
    out: dict[str, Any] = {"dropped": [], "left": []}
    for svc, port in MONGO_PORTS.items():
        name = f"caremesh_{svc}{db_suffix}"
        try:
            with MongoClient(f"mongodb://{HOST}:{port}/", serverSelectionTimeoutMS=5000,
                             connectTimeoutMS=5000, socketTimeoutMS=30000) as client:
                client.drop_database(name)
                if name in client.list_database_names():
                    out["left"].append(name)
                else:
                    out["dropped"].append(name)
        except Exception as exc:  # noqa: BLE001 - report and carry on with the others
            out["left"].append(name)
            say(f"could not drop {name} on :{port}: {type(exc).__name__}: {exc}")
    return out


def ports_free(ports: Iterable[int]) -> list[int]:
    busy = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            if s.connect_ex((HOST, port)) == 0:
                busy.append(port)
    return busy


# =============================================================================================
# Report
# =============================================================================================
def ratio(a: float | None, b: float | None) -> float | None:
    return (a / b) if (a is not None and b) else None


def fmt(x: float | None, nd: int = 1) -> str:
    return "n/a" if x is None else f"{x:,.{nd}f}"


def text_report(cfg: dict, full: dict, base: Figures, ratios: dict, cleanup: dict) -> str:
    rec: Figures = full["record"]
    obs: Figures = full["observed"]
    mp: Figures = full["mailpit"]
    w = 30
    lines = [
        "",
        (f"CareMesh booking flow benchmark: n={cfg['n']} concurrency={cfg['concurrency']} (closed loop), "
        f"warm-up={cfg['warmup']}"),
        "",
        f"{'':<{w}}{'full suite':>14}{'baseline':>14}{'full/baseline':>16}",
        f"{'latency p50 (ms)':<{w}}{fmt(rec.p50_ms):>14}{fmt(base.p50_ms):>14}{fmt(ratios['latency_p50'], 2) + 'x':>16}",
        f"{'latency p99 (ms)':<{w}}{fmt(rec.p99_ms):>14}{fmt(base.p99_ms):>14}{fmt(ratios['latency_p99'], 2) + 'x':>16}",
        (f"{'throughput (completed/s)':<{w}}{fmt(rec.throughput_per_s):>14}{fmt(base.throughput_per_s):>14}"
        f"{fmt(ratios['throughput'], 3) + 'x':>16}"),
        f"{'completed / failed':<{w}}{f'{rec.completed} / {rec.failed}':>14}{f'{base.completed} / {base.failed}':>14}",
        (f"{'mean / max latency (ms)':<{w}}{f'{fmt(rec.mean_ms)} / {fmt(rec.max_ms)}':>14}"
        f"{f'{fmt(base.mean_ms)} / {fmt(base.max_ms)}':>14}"),
        "",
        "full suite: POST /appointments sent -> message record's sent_at (email sent and recorded);",
        "baseline:   first publish -> last (3rd) hop consumed. Latency ratios >1x: the suite is slower;",
        "            throughput ratio <1x: the suite completes fewer per second.",
        "",
        "full suite cross-checks:",
        (f"  seen by the {cfg['poll_interval_ms']:.0f} ms poller: p50 {fmt(obs.p50_ms)} ms, p99 {fmt(obs.p99_ms)} ms "
        f"({full['poll_queries']} queries, {full['poll_errors']} errors)"),
        (f"  Mailpit Created (SMTP accepted): p50 {fmt(mp.p50_ms)} ms, p99 {fmt(mp.p99_ms)} ms "
        f"({full['mailpit_found']} emails found for {cfg['warmup'] + cfg['n']} bookings incl. warm-up)"),
        "",
        "full suite stages (services' own timestamps; each includes the outbox relay and broker hop before it):",
        *[f"  {name:<46} p50 {fmt(v['p50_ms']):>9} ms   p99 {fmt(v['p99_ms']):>9} ms"
          for name, v in full["stages"].items()],
        "",
        (f"cleanup: broker {cleanup['broker_summary']}; databases {cleanup['db_summary']}; "
        f"mailpit {full['mailpit_deleted']} message(s) deleted"),
    ]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="measured bookings (and baseline messages); default 200")
    p.add_argument("--concurrency", type=int, default=20, help="bookings in flight end to end; default 20")
    p.add_argument("--warmup", type=int, default=10, help="unmeasured bookings/messages run first; default 10")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    p.add_argument("--poll-interval", type=float, default=0.05, help="seconds between polls for sent emails")
    p.add_argument("--booking-timeout", type=float, default=60, help="seconds one booking may take end to end")
    p.add_argument("--http-timeout", type=float, default=15, help="seconds per HTTP request")
    p.add_argument("--setup-concurrency", type=int, default=10, help="parallel requests while setting up")
    p.add_argument("--setup-timeout", type=float, default=120, help="seconds to wait for notifications' contacts")
    p.add_argument("--timeout", type=float, default=900, help="seconds the whole full-suite phase may take")
    p.add_argument("--baseline-event-log", action="store_true",
                   help="also bind a stream to '#' in the baseline, as the services' event log is")
    p.add_argument("--log-dir", type=Path, help="service logs (default: a temp folder, removed on success)")
    p.add_argument("--keep-logs", action="store_true", help="keep the service logs even on success")
    a = p.parse_args()
    if not (1 <= a.n <= 100_000 and 1 <= a.concurrency <= 1000 and 0 <= a.warmup <= 10_000):
        p.error("need 1 <= n <= 100000, 1 <= concurrency <= 1000, 0 <= warmup <= 10000")
    if not 0.005 <= a.poll_interval <= 5:
        p.error("--poll-interval must be between 0.005 and 5 seconds")

    run_id = uuid.uuid4().hex
    short = run_id[:8]
    namespace, raw_namespace = f"bench-{run_id}", f"bench-raw-{run_id}"
    db_suffix = f"_bench_{short}"
    log_dir = a.log_dir or Path(tempfile.mkdtemp(prefix=f"caremesh-bench-{short}-"))
    secret = f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    extra_env = {"NOTIFICATIONS_SMTP_HOST": HOST, "NOTIFICATIONS_SMTP_PORT": str(SMTP_PORT)}
    for svc, port in MONGO_PORTS.items():
        P = svc.upper() + "_"
        extra_env |= {P + "JWT_SECRET": secret, P + "AMQP_URL": AMQP_URL, P + "MONGODB_URL": f"mongodb://{HOST}:{port}/",
                      P + "HTTP_HOST": HOST}
    cluster = Cluster(namespace=namespace, db_suffix=db_suffix, port_offset=PORT_OFFSET, log_dir=log_dir,
                      extra_env=extra_env)
    cfg = {"n": a.n, "concurrency": a.concurrency, "warmup": a.warmup, "poll_interval_ms": a.poll_interval * 1000,
           "namespace": namespace, "baseline_namespace": raw_namespace, "db_suffix": db_suffix,
           "baseline_event_log": a.baseline_event_log, "hops": len(HOPS)}
    say(f"run {run_id}: namespace {namespace}, databases caremesh_*{db_suffix}, logs in {log_dir}")

    full: dict[str, Any] | None = None
    base: Figures | None = None
    cleanup: dict[str, Any] = {}
    failure: BaseException | None = None
    try:
        busy = ports_free(SERVICES[s] + PORT_OFFSET for s in SERVICES)
        if busy:
            raise RuntimeError(f"ports already in use: {busy}")
        try:
            t = time.perf_counter()
            cluster.up()
            say(f"cluster ready in {time.perf_counter() - t:.1f}s at {', '.join(cluster.url(s) for s in SERVICES)}")
            full = asyncio.run(asyncio.wait_for(FullSuite(cluster, a, short, secret).run(), timeout=a.timeout))
        finally:
            say("stopping the cluster")
            cluster.down()
        # The baseline runs with the services stopped, so they do not compete for CPU or broker.
        base = asyncio.run(asyncio.wait_for(Baseline(raw_namespace, a).run(), timeout=a.timeout))
    except BaseException as exc:  # noqa: BLE001 - reported below after cleanup (incl. Ctrl-C)
        failure = exc
    finally:
        for s, proc in cluster.procs.items():  # belt and braces: nothing of ours left running
            if proc.poll() is None:
                say(f"{s} still running; killing pid {proc.pid}")
                proc.kill()
                with contextlib.suppress(Exception):
                    proc.wait(timeout=10)
        b1, b2 = sweep_broker(namespace), sweep_broker(raw_namespace)
        dbs = drop_databases(db_suffix)
        left = b1["left"] + b2["left"]
        cleanup = {
            "broker": {"suite": b1, "baseline": b2}, "databases": dbs,
            "broker_summary": (f"{b1['queues_deleted'] + b2['queues_deleted']} queue(s) and "
                               f"{b1['exchanges_deleted'] + b2['exchanges_deleted']} exchange(s) deleted, "
                               + (f"LEFT: {left}" if left else "none left")),
            "db_summary": f"{len(dbs['dropped'])} dropped" + (f", LEFT: {dbs['left']}" if dbs["left"] else ""),
        }
        say(f"cleanup: broker {cleanup['broker_summary']}; databases {cleanup['db_summary']}")
        if failure is None and not a.keep_logs and a.log_dir is None:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            say(f"service logs kept in {log_dir}")

    if failure is not None:
        if isinstance(failure, KeyboardInterrupt):
            say("interrupted")
            return 130
        say(f"FAILED: {type(failure).__name__}: {failure}")
        return 1
    assert full is not None and base is not None
    rec: Figures = full["record"]
    ratios = {"latency_p50": ratio(rec.p50_ms, base.p50_ms), "latency_p99": ratio(rec.p99_ms, base.p99_ms),
              "throughput": ratio(rec.throughput_per_s, base.throughput_per_s)}
    if a.json:
        summary = {
            "config": cfg,
            "full_suite": {**asdict(rec), "observed_by_poller": asdict(full["observed"]),
                           "mailpit_created": asdict(full["mailpit"]), "poll_queries": full["poll_queries"],
                           "poll_errors": full["poll_errors"], "mailpit_found": full["mailpit_found"],
                           "stages": full["stages"]},
            "baseline": asdict(base),
            "ratios_full_over_baseline": ratios,
            "cleanup": {k: v for k, v in cleanup.items() if not k.endswith("_summary")}
            | {"mailpit_deleted": full["mailpit_deleted"]},
        }
        print(json.dumps(summary, indent=2))
    else:
        print(text_report(cfg, full, base, ratios, cleanup))
    clean = not (cleanup["broker"]["suite"]["left"] or cleanup["broker"]["baseline"]["left"]
                 or cleanup["databases"]["left"])
    return 0 if (rec.failed == 0 and base.failed == 0 and clean) else 2


if __name__ == "__main__":
    sys.exit(main())
