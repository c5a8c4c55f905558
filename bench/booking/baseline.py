"""The baseline: a bare aio-pika chain with the same broker hops as the booking flow."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import uuid

import aio_pika

from booking.common import (
    DELIVERY_LIMIT,
    HOPS,
    PREFETCH,
    SERVICE_CODE,
    amqp_connect,
    closed_loop,
    open_loop,
    say,
)
from booking.report import Figures


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
        self.open_stats: dict | None = None  # how the open loop's offering went (--rate)

    async def _connect(self) -> aio_pika.abc.AbstractConnection:
        conn = await amqp_connect()
        self.connections.append(conn)
        return conn

    async def declare(self) -> None:
        conn = await self._connect()
        ch = await conn.channel()
        exchange = await ch.declare_exchange(self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True, timeout=10)
        await ch.declare_exchange(self.dlx_name, aio_pika.ExchangeType.DIRECT, durable=True, timeout=10)
        for name, (_, rk, _) in zip(self.queues, HOPS, strict=True):
            q = await ch.declare_queue(
                name,
                durable=True,
                timeout=10,
                arguments={
                    "x-queue-type": "quorum",
                    "x-delivery-limit": DELIVERY_LIMIT,
                    "x-dead-letter-exchange": self.dlx_name,
                    "x-dead-letter-routing-key": name,
                },
            )
            await q.bind(exchange, routing_key=rk, timeout=10)
        if self.args.baseline_event_log:
            q = await ch.declare_queue(
                self.event_log, durable=True, timeout=10, arguments={"x-queue-type": "stream", "x-max-age": "1h"}
            )
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
                        aio_pika.Message(
                            msg.body,
                            headers=dict(msg.headers or {}),
                            content_type=msg.content_type,
                            message_id=str(uuid.uuid4()),
                            correlation_id=msg.correlation_id,
                            app_id=f"bench-{svc}",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=next_rk,
                        mandatory=True,
                        timeout=10,
                    )
                await msg.ack()
            except Exception as exc:  # noqa: BLE001 - requeue, like the services' retry
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
            # Shaped like scheduling.appointment.requested, so the payload size is realistic.
            body = json.dumps(
                {
                    "appointment_id": str(uuid.uuid4()),
                    "patient_id": str(uuid.uuid4()),
                    "practitioner_id": str(uuid.uuid4()),
                    "slot_id": str(uuid.uuid4()),
                    "service_code": SERVICE_CODE,
                    "start": "2030-01-01T10:00:00Z",
                    "end": "2030-01-01T10:30:00Z",
                    "service_date": "2030-01-01",
                }
            ).encode()
            results: dict[int, tuple[float, float] | None] = {}

            async def one(i: int) -> None:
                cid = f"{self.ns}-{i}"
                fut = asyncio.get_running_loop().create_future()
                self.pending[cid] = fut
                t0 = time.perf_counter()
                try:
                    await exchange.publish(
                        aio_pika.Message(
                            body,
                            content_type="application/json",
                            message_id=str(uuid.uuid4()),
                            correlation_id=cid,
                            headers={"ce-type": "bench"},
                            app_id="bench-scheduling",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=HOPS[0][1],
                        mandatory=True,
                        timeout=10,
                    )
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
            measured = list(range(a.warmup, a.warmup + a.n))
            if a.rate:
                say(f"baseline: {a.n} messages through {len(HOPS)} hops offered at {a.rate:g}/s (open loop)")
                self.open_stats = await open_loop(measured, a.rate, one, a.open_deadline)
            else:
                say(f"baseline: {a.n} messages through {len(HOPS)} hops at concurrency {a.concurrency}")
                await closed_loop(measured, a.concurrency, one)
            done = [r for r in results.values() if r is not None]
            return Figures.of(
                [t1 - t0 for t0, t1 in done],
                a.n - len(done),
                min((t0 for t0, _ in done), default=None),
                max((t1 for _, t1 in done), default=None),
            )
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
