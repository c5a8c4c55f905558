"""The full suite: bookings through the four services over HTTP, completion seen in notifications
(its ``notifications.message.sent`` events, or with ``--completion poll`` its messages collection)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import httpx

from booking.common import (
    SERVICE_CODE,
    SLOTS_PER_PRACTITIONER,
    amqp_connect,
    async_mongo,
    closed_loop,
    open_loop,
    say,
)
from booking.mailpit import mailpit_collect
from booking.report import Figures, percentile
from caremesh_kit.auth import mint
from caremesh_kit.devcluster import Cluster


@dataclass
class Booking:
    index: int
    patient_id: str
    email: str
    slot_id: str
    appointment_id: str | None = None
    t_send_wall: float | None = None  # epoch seconds, just before the POST is written
    t_send: float | None = None  # perf_counter at the same moment
    t_observed: float | None = None  # perf_counter when the bench learned the message was sent
    sent_at: float | None = None  # epoch seconds: the message record's sent_at (read after the run)
    mail_created: float | None = None  # epoch seconds: Mailpit's Created for the email
    error: str | None = None


class Waiting:
    """The bookings a completion watcher still waits for, by patient id."""

    waiting: dict[str, asyncio.Future]

    def expect(self, patient_id: str) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[patient_id] = fut
        return fut

    def forget(self, patient_id: str) -> None:
        self.waiting.pop(patient_id, None)


class SentListener(Waiting):
    """Completion from notifications' own ``notifications.message.sent`` events: a queue of the
    benchmark's (``<namespace>.bench.message-sent``, exclusive, deleted with its connection) bound
    to the run's events exchange. It puts no load on the stores, where a query per tick would
    (a ``patient_id $in`` filter is a full scan on FerretDB v1: about 0.9 s at 2,000 messages).
    The event's body names the message, patient, appointment and template; ``sent_at`` is read
    from the message records after the run."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.waiting: dict[str, asyncio.Future] = {}
        self.events = 0
        self.others = 0  # events for other templates (reminders) or patients no longer waited for
        self.errors = 0
        self.connection: aio_pika.abc.AbstractConnection | None = None

    async def start(self) -> None:
        self.connection = await amqp_connect()
        ch = await self.connection.channel()
        exchange = await ch.get_exchange(f"{self.namespace}.events", ensure=True)
        queue = await ch.declare_queue(
            f"{self.namespace}.bench.message-sent", exclusive=True, auto_delete=True, timeout=10
        )
        await queue.bind(exchange, routing_key="notifications.message.sent", timeout=10)
        await queue.consume(self._on_message, no_ack=True, timeout=10)

    async def _on_message(self, msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        now = time.perf_counter()
        self.events += 1
        try:
            data = json.loads(msg.body)
        except ValueError:
            self.errors += 1
            return
        fut = self.waiting.get(data.get("patient_id", ""))
        if data.get("template") != "appointment.booked" or fut is None or fut.done():
            self.others += 1
            return
        self.waiting.pop(data["patient_id"], None)
        fut.set_result((now, data))

    async def stop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.connection.close(), timeout=10)
            self.connection = None


class SentPoller(Waiting):
    """``--completion poll``: one loop over all outstanding bookings, a single query on
    notifications' messages collection per tick (instead of one HTTP request per booking per
    tick). Its query scans the collection on FerretDB v1, so it loads notifications' store more
    as the store fills."""

    def __init__(self, collection: Any, interval: float) -> None:
        self.collection = collection
        self.interval = interval
        self.waiting: dict[str, asyncio.Future] = {}
        self.queries = 0
        self.query_errors = 0

    async def run(self, stop: asyncio.Event, deadline: float) -> None:
        max_ticks = int((deadline - time.monotonic()) / self.interval) + 10
        for _ in range(max_ticks):
            if stop.is_set() or time.monotonic() > deadline:
                return
            if self.waiting:
                try:
                    cursor = self.collection.find(
                        {"patient_id": {"$in": list(self.waiting)}, "status": "sent", "template": "appointment.booked"},
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


STAGES = [
    "POST -> appointment requested (scheduling)",
    "requested -> eligibility checked (insurance)",
    "checked -> appointment booked (scheduling)",
    "booked -> message composed (notifications)",
    "composed -> email sent (claim + SMTP)",
]


class FullSuite:
    def __init__(self, cluster: Cluster, args: argparse.Namespace, short: str, secret: str) -> None:
        self.cluster = cluster
        self.args = args
        self.short = short
        self.token = mint("bench-coordinator", ["coordinator"], secret, ttl=timedelta(hours=2))

    def db(self, service: str) -> str:
        return f"caremesh_{service}{self.cluster.db_suffix}"

    async def _post(self, client: httpx.AsyncClient, service: str, path: str, body: dict) -> Any:
        r = await client.post(self.cluster.url(service) + path, json=body)
        if r.status_code != 201:
            raise RuntimeError(f"POST {service}{path} -> {r.status_code}: {r.text[:300]}")
        return r.json()

    async def setup(self, client: httpx.AsyncClient, total: int) -> list[Booking]:
        started = time.perf_counter()
        today = datetime.now(UTC).date()

        # Practitioners, each at a location of their own with a template of 30-minute visits all day,
        # and their first free slots from tomorrow on (from the availability search).
        n_prac = max(1, math.ceil(total / SLOTS_PER_PRACTITIONER))
        service = await self._post(
            client,
            "scheduling",
            "/service-types",
            {"code": SERVICE_CODE, "name": "Office visit", "duration_minutes": 30},
        )
        week = [
            {"day": d, "start": "00:00", "end": "23:55", "room": "R1"}
            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        ]
        slot_ids: list[str] = []
        for p in range(n_prac):
            loc = await self._post(
                client,
                "scheduling",
                "/locations",
                {"name": f"Bench clinic {self.short} {p}", "time_zone": "UTC", "rooms": [{"id": "R1"}]},
            )
            prac = await self._post(
                client,
                "scheduling",
                "/practitioners",
                {"name": f"Dr. Bench {self.short} {p}", "specialty": "Family medicine", "time_zone": "UTC"},
            )
            r = await client.put(
                self.cluster.url("scheduling") + f"/practitioners/{prac['id']}/templates/{loc['id']}",
                json={"service_type_ids": [service["id"]], "weekly": week},
            )
            if r.status_code != 201:
                raise RuntimeError(f"PUT template -> {r.status_code}: {r.text[:300]}")
            count = min(SLOTS_PER_PRACTITIONER, total - len(slot_ids))
            r = await client.get(
                self.cluster.url("scheduling") + "/availability",
                params={
                    "practitioner_id": prac["id"],
                    "from": str(today + timedelta(days=1)),
                    "to": str(today + timedelta(days=10)),
                    "limit": count,
                },
            )
            if r.status_code != 200 or len(r.json()["items"]) != count:
                raise RuntimeError(f"GET /availability -> {r.status_code}: {r.text[:300]}")
            slot_ids += [s["slot_id"] for s in r.json()["items"]]

        sem = asyncio.Semaphore(self.args.setup_concurrency)

        async def patient(i: int) -> Booking:
            email = f"bench.{self.short}.{i}@example.org"
            async with sem:
                p = await self._post(
                    client,
                    "records",
                    "/patients",
                    {
                        "given_name": "Bench",
                        "family_name": f"Patient{i}",
                        "birth_date": "1980-01-01",
                        "email": email,
                        "time_zone": "UTC",
                    },
                )
                await self._post(
                    client,
                    "insurance",
                    "/coverages",
                    {
                        "patient_id": p["id"],
                        "payer": "Bench Health",
                        "plan": "PPO",
                        "member_id": f"B{self.short}{i}",
                        "period_start": (today - timedelta(days=1)).isoformat(),
                        "service_codes": [SERVICE_CODE],
                    },
                )
            return Booking(index=i, patient_id=p["id"], email=email, slot_id=slot_ids[i])

        bookings = list(await asyncio.gather(*(patient(i) for i in range(total))))
        say(
            f"set up {total} patients + coverages, {n_prac} practitioner(s), {len(slot_ids)} slots "
            f"in {time.perf_counter() - started:.1f}s"
        )
        return bookings

    async def wait_for_contacts(self, contacts: Any, patient_ids: list[str]) -> None:
        """Notifications learns contacts from records' events; book only once it has them all,
        so no booking waits on a RetryLater."""
        deadline = time.monotonic() + self.args.setup_timeout
        have = 0
        while time.monotonic() < deadline:
            have = await asyncio.wait_for(contacts.count_documents({"_id": {"$in": patient_ids}}), timeout=10)
            if have >= len(patient_ids):
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"notifications has {have}/{len(patient_ids)} contacts after {self.args.setup_timeout}s")

    async def _book(self, client: httpx.AsyncClient, poller: SentListener | SentPoller, b: Booking) -> None:
        """One booking end to end: the POST, then the wait for its message to be recorded as sent."""
        fut = poller.expect(b.patient_id)  # registered before the POST: nothing can be missed
        try:
            b.t_send_wall, b.t_send = time.time(), time.perf_counter()
            r = await client.post(
                self.cluster.url("scheduling") + "/appointments",
                json={"patient_id": b.patient_id, "slot_id": b.slot_id},
            )
            if r.status_code != 201:
                b.error = f"POST /appointments -> {r.status_code}: {r.text[:200]}"
                return
            b.appointment_id = r.json()["id"]
            t_obs, doc = await asyncio.wait_for(fut, timeout=self.args.booking_timeout)
            if doc.get("template") != "appointment.booked" or doc.get("appointment_id") != b.appointment_id:
                b.error = f"unexpected message: template={doc.get('template')} for {doc.get('appointment_id')}"
                return
            b.t_observed = t_obs
            if doc.get("sent_at") is not None:  # the poller read it; the listener's bookings get it after the run
                b.sent_at = doc["sent_at"].timestamp()
        except TimeoutError:
            b.error = f"no email seen as sent within {self.args.booking_timeout}s"
        except httpx.HTTPError as exc:
            b.error = f"HTTP error: {type(exc).__name__}: {exc}"
        finally:
            poller.forget(b.patient_id)
            if not fut.done():
                fut.cancel()

    async def drive(
        self, client: httpx.AsyncClient, poller: SentListener | SentPoller, bookings: list[Booking]
    ) -> None:
        """Closed loop: ``--concurrency`` workers, each booking again once its last one is emailed."""
        await closed_loop(bookings, self.args.concurrency, lambda b: self._book(client, poller, b))

    async def drive_open(
        self, client: httpx.AsyncClient, poller: SentListener | SentPoller, bookings: list[Booking]
    ) -> dict:
        """Open loop: one booking offered every 1/``--rate`` s whatever is still in flight; those
        not emailed ``--open-deadline`` s after the last offer count as failed."""
        a = self.args
        stats = await open_loop(bookings, a.rate, lambda b: self._book(client, poller, b), a.open_deadline)
        for b in bookings:
            if b.error is None and b.t_observed is None:
                b.error = f"not completed within {a.open_deadline:g}s after the last offer"
        return stats

    async def run(self) -> dict[str, Any]:
        a = self.args
        pool = max(a.concurrency, a.setup_concurrency) + 10
        if a.rate:  # POSTs in flight at once in the open loop: rate x POST time, with room to spare
            pool = min(1000, max(pool, math.ceil(a.rate * 2) + 10))
        open_stats: dict | None = None
        mongo = async_mongo("notifications", socket_timeout_ms=10000)
        try:
            async with httpx.AsyncClient(
                headers={"Authorization": f"Bearer {self.token}"},
                limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
                timeout=httpx.Timeout(a.http_timeout),
            ) as client:
                bookings = await self.setup(client, a.warmup + a.n)
                notifications = mongo[self.db("notifications")]
                await self.wait_for_contacts(notifications["contacts"], [b.patient_id for b in bookings])
                if a.completion == "poll":
                    poller: SentListener | SentPoller = SentPoller(notifications["messages"], a.poll_interval)
                else:
                    poller = SentListener(self.cluster.namespace)
                stop = asyncio.Event()
                poll_task = (
                    asyncio.create_task(poller.run(stop, time.monotonic() + a.timeout))
                    if isinstance(poller, SentPoller)
                    else None
                )
                try:
                    if isinstance(poller, SentListener):
                        await poller.start()
                    warm, measured = bookings[: a.warmup], bookings[a.warmup :]
                    if warm:
                        say(f"full suite: {len(warm)} warm-up booking(s)")
                        await self.drive(client, poller, warm)
                    if a.rate:
                        say(f"full suite: {len(measured)} bookings offered at {a.rate:g}/s (open loop)")
                        open_stats = await self.drive_open(client, poller, measured)
                    else:
                        say(f"full suite: {len(measured)} bookings at concurrency {a.concurrency}")
                        await self.drive(client, poller, measured)
                finally:
                    stop.set()
                    if poll_task is not None:
                        await asyncio.wait_for(poll_task, timeout=10)
                    if isinstance(poller, SentListener):
                        await poller.stop()
            # After the run, so the reads do not disturb it: the messages' sent_at (and the stages).
            stages = await self.after_run([b for b in measured if b.error is None])
        finally:
            await mongo.close()

        ok = [b for b in measured if b.error is None]
        mail = await mailpit_collect(self.short, bookings)
        failed = [b for b in measured if b.error is not None]
        for b in failed[:5]:
            say(f"booking {b.index} failed: {b.error}")
        first = min((b.t_send_wall for b in measured if b.t_send_wall is not None), default=None)
        primary = Figures.of(
            [b.sent_at - b.t_send_wall for b in ok], len(failed), first, max((b.sent_at for b in ok), default=None)
        )
        first_pc = min((b.t_send for b in measured if b.t_send is not None), default=None)
        observed = Figures.of(
            [b.t_observed - b.t_send for b in ok], len(failed), first_pc, max((b.t_observed for b in ok), default=None)
        )
        with_mail = [b for b in ok if b.mail_created is not None]
        mailpit = Figures.of(
            [b.mail_created - b.t_send_wall for b in with_mail],
            len(measured) - len(with_mail),
            first,
            max((b.mail_created for b in with_mail), default=None),
        )
        return {
            "record": primary,
            "observed": observed,
            "mailpit": mailpit,
            "completion": a.completion,
            "poll_queries": poller.queries if isinstance(poller, SentPoller) else None,
            "poll_errors": poller.query_errors if isinstance(poller, SentPoller) else poller.errors,
            "events_seen": poller.events if isinstance(poller, SentListener) else None,
            "mailpit_found": mail["found"],
            "mailpit_deleted": mail["deleted"],
            "stages": stages,
            "open_loop": open_stats,
        }

    async def after_run(self, done: list[Booking]) -> dict[str, dict[str, float | None]]:
        """Read the services' own timestamps for the completed bookings: each message's
        ``sent_at`` (a booking whose record cannot be read counts as failed), and where the time
        goes: p50/p99 per stage in ms. Stages include the outbox relay and the broker hop that
        lead to the next service's handler."""
        if not done:
            return {}
        ids = [b.appointment_id for b in done]

        async def read(service: str, coll: str, key: str, fields: list[str], **match: str) -> dict[str, dict]:
            """The docs for ``ids`` matched on ``key`` (and ``match``), by that key."""
            client = async_mongo(service, socket_timeout_ms=60000)
            try:
                cursor = client[self.db(service)][coll].find(
                    {key: {"$in": ids}, **match}, dict.fromkeys([key, *fields], 1)
                )
                return {d[key]: d for d in await asyncio.wait_for(cursor.to_list(None), timeout=60)}
            finally:
                await client.close()

        # The confirmation, not the reminders notifications also holds for the appointment.
        msgs: dict[str, dict] = {}
        try:
            msgs = await read(
                "notifications", "messages", "appointment_id", ["created_at", "sent_at"], template="appointment.booked"
            )
        except Exception as exc:  # noqa: BLE001 - the bookings without a sent_at fail below
            say(f"could not read the messages' sent_at: {type(exc).__name__}: {exc}")
        for b in done:
            if b.sent_at is None:
                m = msgs.get(b.appointment_id or "")
                if m is not None and m.get("sent_at") is not None:
                    b.sent_at = m["sent_at"].timestamp()
                else:
                    b.error = "sent event seen, but no sent message record could be read"
        try:
            appts = await read("scheduling", "appointments", "_id", ["requested_at", "updated_at"])
            checks = await read("insurance", "eligibility_checks", "_id", ["checked_at"])
        except Exception as exc:  # noqa: BLE001 - the breakdown is extra; never fail the run on it
            say(f"stage breakdown unavailable: {type(exc).__name__}: {exc}")
            return {}
        spans: list[list[float]] = [[] for _ in STAGES]
        for b in done:
            a, c, m = appts.get(b.appointment_id), checks.get(b.appointment_id), msgs.get(b.appointment_id)
            if not (a and c and m and b.t_send_wall is not None and m.get("sent_at")):
                continue
            points = [
                b.t_send_wall,
                a["requested_at"].timestamp(),
                c["checked_at"].timestamp(),
                a["updated_at"].timestamp(),
                m["created_at"].timestamp(),
                m["sent_at"].timestamp(),
            ]
            for k in range(len(STAGES)):
                spans[k].append((points[k + 1] - points[k]) * 1000)
        return {
            n: {"p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99)} for n, v in zip(STAGES, spans, strict=True)
        }
