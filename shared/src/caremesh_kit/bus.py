"""The event bus on FastStream/RabbitMQ.

Topology (names prefixed by the namespace, default ``caremesh``):
- ``<ns>.events``: the durable topic exchange every event is published to;
- ``<ns>.event-log``: a stream bound to ``#``, so nothing is unroutable and any event can be replayed;
- ``<ns>.<service>.<routing key>``: one quorum queue per subscriber, with a delivery limit and
  dead-lettering to ``<ns>.dlx`` into ``<queue>.dlq``, which keeps the failure reason for
  ``dead_letter_retention_days`` (message TTL).

TLS: setting any of ``amqp_tls_ca_file``, ``amqp_tls_cert_file``, ``amqp_tls_key_file`` connects
over TLS (``amqps``; the URL's port must then be the broker's TLS port, 5671 by default).
"""

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aio_pika
from faststream import AckPolicy
from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue, RabbitRouter
from faststream.rabbit.annotations import RabbitMessage
from faststream.rabbit.schemas import QueueType
from faststream.security import BaseSecurity
from pydantic import ValidationError

from caremesh_contracts import Event
from caremesh_kit import context, envelope, logs, metrics
from caremesh_kit.errors import RetryLater, Unprocessable
from caremesh_kit.settings import ServiceSettings
from caremesh_kit.store import counting_round_trips

log = logs.get("caremesh.bus")

REASON_HEADER = "x-caremesh-dead-letter-reason"
QUEUE_HEADER = "x-caremesh-dead-letter-queue"

Handler = Callable[[Any, envelope.Envelope], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """One entry of a service's explicit list of the events it consumes."""

    event: type[Event]
    handler: Handler


class DuplicateSubscription(ValueError):
    """A service subscribed twice to one event: refused when the service is built."""


@dataclass(frozen=True)
class Names:
    namespace: str

    @property
    def exchange(self) -> str:
        return f"{self.namespace}.events"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.namespace}.dlx"

    @property
    def event_log(self) -> str:
        return f"{self.namespace}.event-log"

    def queue(self, service: str, event: type[Event]) -> str:
        return f"{self.namespace}.{service}.{event.routing_key}"


def validation_reason(exc: ValidationError) -> str:
    """Field names and messages only: input values may be patient data."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<body>'}: {e['msg']}" for e in exc.errors(include_input=False)]
    return "invalid body: " + "; ".join(parts)


class KeyedLocks:
    """One lock per key while anyone holds or waits for it: events about one aggregate are handled
    one at a time in this process, events about different aggregates in parallel (up to the
    prefetch)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def amqp_ssl_context(ca_file: str = "", cert_file: str = "", key_file: str = "") -> ssl.SSLContext | None:
    """The TLS context for RabbitMQ, or None (plain AMQP) when no file is set. The CA bundle replaces
    the system's trust store; a client certificate is presented when the broker asks for one."""
    if not (ca_file or cert_file or key_file):
        return None
    if key_file and not cert_file:
        raise ValueError("amqp_tls_key_file is set without amqp_tls_cert_file")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file or None)
    if cert_file:
        context.load_cert_chain(cert_file, key_file or None)  # no key file: the key is in the cert's PEM
    return context


def settings_ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    return amqp_ssl_context(settings.amqp_tls_ca_file, settings.amqp_tls_cert_file, settings.amqp_tls_key_file)


def tls_url(amqp_url: str, context: ssl.SSLContext | None) -> str:
    """``amqps`` when TLS is on (aiormq chooses the transport by scheme), keeping host, port and vhost."""
    if context is None:
        return amqp_url
    return urlsplit(amqp_url)._replace(scheme="amqps").geturl()


async def connect(amqp_url: str, context: ssl.SSLContext | None = None) -> aio_pika.abc.AbstractConnection:
    """A plain aio-pika connection, over TLS when ``context`` is given."""
    return await aio_pika.connect(tls_url(amqp_url, context), ssl_context=context)


async def _raw_body(message: Any) -> bytes:
    # The consumer validates the body itself, so a non-JSON body reaches it (and the DLQ).
    body: bytes = message.body
    return body


class Bus:
    def __init__(self, service: str, settings: ServiceSettings) -> None:
        self.service = service
        self.settings = settings
        self.names = Names(settings.bus_namespace)
        self.ssl_context = settings_ssl_context(settings)
        self.broker = RabbitBroker(
            settings.amqp_url,
            security=None if self.ssl_context is None else BaseSecurity(ssl_context=self.ssl_context),
            # Confirms plus raising on return: a publish either lands or fails loudly.
            default_channel=Channel(prefetch_count=settings.prefetch, publisher_confirms=True, on_return_raises=True),
            graceful_timeout=settings.graceful_timeout_seconds,
            app_id=f"caremesh-{service}",
            logger=None,
        )
        self.exchange = RabbitExchange(self.names.exchange, type=ExchangeType.TOPIC, durable=True)
        self._dlx = RabbitExchange(self.names.dead_letter_exchange, type=ExchangeType.DIRECT, durable=True)
        self._subscriptions: list[Subscription] = []
        self._ordering = KeyedLocks()

    # -- topology -------------------------------------------------------------------------
    def subscriber_queue(self, event: type[Event]) -> RabbitQueue:
        name = self.names.queue(self.service, event)
        return RabbitQueue(
            name,
            queue_type=QueueType.QUORUM,
            durable=True,
            routing_key=event.routing_key,
            arguments={
                "x-delivery-limit": self.settings.delivery_limit,
                "x-dead-letter-exchange": self.names.dead_letter_exchange,
                "x-dead-letter-routing-key": name,
            },
        )

    def subscribe(self, subscriptions: list[Subscription]) -> None:
        """Consume each event into its own queue. A second handler for an event is refused: two
        consumers on one queue would each get about half the messages."""
        seen = {s.event for s in self._subscriptions}
        for sub in subscriptions:
            if sub.event in seen:
                raise DuplicateSubscription(
                    f"{self.service} subscribes to {sub.event.ce_type()} twice; "
                    "one handler per event (call the others from it)"
                )
            seen.add(sub.event)
        router = RabbitRouter()
        for sub in subscriptions:
            router.subscriber(
                self.subscriber_queue(sub.event), self.exchange, ack_policy=AckPolicy.MANUAL, decoder=_raw_body
            )(self._consumer(sub))
        self._subscriptions.extend(subscriptions)
        self.broker.include_router(router)

    async def declare_topology(self) -> None:
        await self.broker.declare_exchange(self.exchange)
        await self.broker.declare_exchange(self._dlx)
        log_queue = await self.broker.declare_queue(
            RabbitQueue(
                self.names.event_log,
                queue_type=QueueType.STREAM,
                durable=True,
                arguments={
                    "x-max-age": self.settings.event_log_max_age,
                    "x-max-length-bytes": self.settings.event_log_max_bytes,
                },
            )
        )
        await log_queue.bind(self.names.exchange, routing_key="#")
        if self._subscriptions:
            await self._declare_dead_letter_queues(
                [self.names.queue(self.service, s.event) for s in self._subscriptions]
            )

    async def _declare_dead_letter_queues(self, queues: list[str]) -> None:
        """Each ``<queue>.dlq`` with the retention as message TTL. A DLQ made before (without it, or
        with another value) is refused that argument and kept as it is; the retention policy of
        ``caremesh-dlq retention`` covers it. Its own connection: a refused declare closes the channel."""
        ttl_ms = int(self.settings.dead_letter_retention_days * 86_400_000)
        connection = await connect(self.settings.amqp_url, self.ssl_context)
        try:
            channel = await connection.channel()
            for name in queues:
                try:
                    dlq = await channel.declare_queue(
                        f"{name}.dlq",
                        durable=True,
                        # RabbitMQ 4.0-4.2 count a read handed back as a delivery, with a default
                        # limit of 20: a high limit keeps dead letters that are only looked at.
                        arguments={"x-queue-type": "quorum", "x-message-ttl": ttl_ms, "x-delivery-limit": 1_000_000},
                    )
                except aio_pika.exceptions.ChannelPreconditionFailed:
                    log.warning(
                        "dead-letter queue kept without its retention argument", extra={"fields": {"queue": name}}
                    )
                    channel = await connection.channel()
                    dlq = await channel.declare_queue(f"{name}.dlq", passive=True)
                await dlq.bind(self.names.dead_letter_exchange, routing_key=name)
        finally:
            await connection.close()

    async def start(self) -> None:
        await self.broker.connect()
        await self.declare_topology()
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()

    async def ping(self) -> bool:
        return await self.broker.ping(timeout=2.0)

    # -- publishing -----------------------------------------------------------------------
    async def publish_stored(self, stored: dict[str, Any]) -> None:
        """Publish an outbox entry: persistent, confirmed, mandatory."""
        data = stored["data"]
        await self.broker.publish(
            data.encode() if isinstance(data, str) else data,
            exchange=self.exchange,
            routing_key=stored["routing_key"],
            headers=envelope.headers_for(stored),
            content_type=envelope.CONTENT_TYPE,
            message_id=stored["id"],
            correlation_id=stored["correlation_id"],
            persist=True,
            mandatory=True,
        )
        metrics.PUBLISHED.labels(self.service, stored["type"]).inc()

    async def dead_letter(self, raw: aio_pika.abc.AbstractIncomingMessage, queue: str, reason: str) -> None:
        headers = dict(raw.headers or {})
        headers[REASON_HEADER] = reason[:1000]
        headers[QUEUE_HEADER] = queue
        await self.broker.publish(
            raw.body,
            exchange=self._dlx,
            routing_key=queue,
            headers=headers,
            content_type=raw.content_type,
            message_id=raw.message_id,
            correlation_id=raw.correlation_id,
            persist=True,
            mandatory=True,
        )

    # -- consuming ------------------------------------------------------------------------
    def _consumer(self, sub: Subscription) -> Callable[..., Awaitable[None]]:
        queue = self.names.queue(self.service, sub.event)
        event_type = sub.event.ce_type()

        async def consume(message: RabbitMessage) -> None:
            raw = message.raw_message
            started = time.perf_counter()
            outcome = await self._handle(sub, queue, raw, message)
            metrics.MESSAGES.labels(self.service, event_type, outcome).inc()
            metrics.MESSAGE_LATENCY.labels(self.service, event_type).observe(time.perf_counter() - started)

        consume.__name__ = f"on_{sub.event.routing_key.replace('.', '_')}"
        return consume

    async def _handle(self, sub: Subscription, queue: str, raw: Any, message: Any) -> str:
        try:
            env = envelope.parse(raw.headers, raw.content_type)
            if env.type != sub.event.ce_type():
                raise envelope.MalformedEnvelope(f"ce-type {env.type!r} does not match {sub.event.ce_type()!r}")
            event = sub.event.model_validate_json(raw.body)
        except envelope.MalformedEnvelope as exc:
            return await self._reject(raw, message, queue, f"malformed envelope: {exc}")
        except ValidationError as exc:
            return await self._reject(raw, message, queue, validation_reason(exc))

        with context.bound(correlation=env.correlation_id, event=env.id, trace=env.traceparent):
            try:
                async with self._ordering.hold(env.subject or env.id):
                    with counting_round_trips() as trips:
                        await sub.handler(event, env)
                metrics.HANDLER_ROUND_TRIPS.labels(self.service, env.type).observe(trips.store)
                log.debug("event handled", extra={"fields": {"event_type": env.type, "store_round_trips": trips.store}})
            except Unprocessable as exc:
                return await self._reject(raw, message, queue, f"unprocessable: {exc}")
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then dead-lettered
                attempts = int((raw.headers or {}).get("x-delivery-count") or 0) + 1
                # Our own messages are safe to keep; a driver's may quote data, so only its type.
                kind = f"not ready: {exc}" if isinstance(exc, RetryLater) else type(exc).__name__
                if attempts >= self.settings.delivery_limit:
                    return await self._reject(raw, message, queue, f"gave up after {attempts} attempts: {kind}")
                logs.info(log, "event handling failed, will retry", event_type=env.type, attempt=attempts, error=kind)
                # Exponential backoff, so a prerequisite has time to arrive before the limit.
                await asyncio.sleep(
                    min(self.settings.retry_delay_seconds * 2 ** (attempts - 1), self.settings.max_retry_delay_seconds)
                )
                # reject, not nack: RabbitMQ 4.3+ counts deliveries (x-delivery-count, and so the
                # queue's delivery limit) only for rejects.
                await message.reject(requeue=True)
                return "retry"
        await message.ack()
        return "ack"

    async def _reject(self, raw: Any, message: Any, queue: str, reason: str) -> str:
        try:
            await self.dead_letter(raw, queue, reason)
        except Exception:
            log.exception("could not publish to the dead-letter queue")
            await message.reject(requeue=False)
            return "dead_letter"
        log.warning("event dead-lettered", extra={"fields": {"queue": queue, "reason": reason[:200]}})
        await message.ack()
        return "dead_letter"


async def read_event_log(
    amqp_url: str,
    namespace: str,
    offset: str | int = "first",
    idle_seconds: float = 1.0,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[aio_pika.abc.AbstractIncomingMessage]:
    """Replay the event log from an offset ("first", "last", "next", a number or a timestamp).

    Yields messages until none arrives for ``idle_seconds``.
    """
    connection = await connect(amqp_url, ssl_context)
    buffer: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()

    async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.ack()  # a stream keeps it anyway; the ack only moves the credit window
        buffer.put_nowait(message)

    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=500)  # streams require a prefetch
        queue = await channel.get_queue(Names(namespace).event_log, ensure=False)
        # A callback consumer, not queue.iterator(): closing an iterator nacks what it buffered,
        # and streams reject nack.
        await queue.consume(take, arguments={"x-stream-offset": offset})
        while True:
            try:
                yield await asyncio.wait_for(buffer.get(), timeout=idle_seconds)
            except TimeoutError:
                return
    finally:
        await connection.close()
