"""Reading, re-driving and dropping dead letters, over AMQP (the management API only lists queues).

A dead letter is read by consuming it unacknowledged: closing the channel puts back whatever was
not acked, so a tool that dies mid-way loses nothing. Re-driving publishes with confirms first and
acks the dead letter after, so a crash in between leaves a duplicate, never a loss.
"""

import asyncio
import contextlib
import fnmatch
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from caremesh_kit.bus import QUEUE_HEADER, REASON_HEADER, Names

# Added on a re-drive: how many times the message was re-driven, and why it was dead-lettered before.
REPLAYS_HEADER = "x-caremesh-replays"
HISTORY_HEADER = "x-caremesh-dead-letter-history"
HISTORY_KEPT = 10
# Dropped on a re-drive: the broker's attempt count (so the delivery limit starts fresh) and its
# dead-lettering records, which the history replaces.
DROPPED = (REASON_HEADER, QUEUE_HEADER, "x-death", "x-delivery-count")
DROPPED_PREFIXES = ("x-first-death-", "x-last-death-")
MAX_PREFETCH = 65_535  # the AMQP prefetch count is 16 bits
IDLE_SECONDS = 2.0


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    return str(value)


@dataclass
class DeadLetter:
    queue: str  # the .dlq it sits in
    id: str
    type: str
    reason: str
    exchange: str
    routing_key: str
    headers: dict[str, Any]
    message: AbstractIncomingMessage = field(repr=False)

    @property
    def body(self) -> bytes:
        return self.message.body

    def summary(self, with_body: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "queue": self.queue,
            "id": self.id,
            "type": self.type,
            "routing_key": self.routing_key,
            "exchange": self.exchange,
            "reason": self.reason,
            "headers": {k: _plain(v) for k, v in self.headers.items()},
        }
        if with_body:
            out["body"] = self.body.decode("utf-8", "replace")
        return out


def _plain(value: Any) -> Any:
    """Header values as JSON can show them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray | str):
        return text(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def read(names: Names, dlq: str, message: AbstractIncomingMessage) -> DeadLetter:
    headers: dict[str, Any] = dict(message.headers or {})
    deaths = headers.get("x-death") or []
    death: dict[str, Any] = deaths[0] if deaths and isinstance(deaths[0], dict) else {}
    queue = text(headers.get(QUEUE_HEADER)) or text(death.get("queue")) or dlq.removesuffix(".dlq")
    # <ns>.<service>.<routing key>: the subscriber queue names the routing key it was bound with.
    routing_key = queue.removeprefix(f"{names.namespace}.").partition(".")[2]
    if not headers.get(QUEUE_HEADER) and death.get("routing-keys"):
        routing_key = text(death["routing-keys"][0])
    if headers.get(REASON_HEADER):
        reason = text(headers[REASON_HEADER])
    elif death:
        reason = f"dead-lettered by the broker: {text(death.get('reason'))}"
    else:
        reason = "unknown"
    return DeadLetter(
        queue=dlq,
        id=text(headers.get("ce-id")) or text(message.message_id),
        type=text(headers.get("ce-type")),
        reason=reason,
        exchange=(text(death.get("exchange")) if not headers.get(QUEUE_HEADER) else "") or names.exchange,
        routing_key=routing_key,
        headers=headers,
        message=message,
    )


def replay_headers(dead: DeadLetter) -> dict[str, Any]:
    kept = {k: v for k, v in dead.headers.items() if k not in DROPPED and not k.startswith(DROPPED_PREFIXES)}
    history = [text(h) for h in dead.headers.get(HISTORY_HEADER) or []]
    kept[HISTORY_HEADER] = [f"{dead.queue.removesuffix('.dlq')}: {dead.reason}"[:1000], *history][:HISTORY_KEPT]
    kept[REPLAYS_HEADER] = int(dead.headers.get(REPLAYS_HEADER) or 0) + 1
    return kept


@dataclass(frozen=True)
class Selection:
    """Which dead letters a command acts on: all of them, or those matching every given criterion."""

    ids: tuple[str, ...] = ()
    reason: str | None = None  # a substring of the reason, any case
    type: str | None = None  # a glob on the CloudEvents type
    routing_key: str | None = None  # a glob on the original routing key
    everything: bool = False

    @property
    def empty(self) -> bool:
        return not (self.ids or self.reason or self.type or self.routing_key or self.everything)

    @property
    def narrowed(self) -> bool:
        return bool(self.ids or self.reason or self.type or self.routing_key)

    def __call__(self, dead: DeadLetter) -> bool:
        return (
            (not self.ids or dead.id in self.ids)
            and (not self.reason or self.reason.lower() in dead.reason.lower())
            and (not self.type or fnmatch.fnmatchcase(dead.type, self.type))
            and (not self.routing_key or fnmatch.fnmatchcase(dead.routing_key, self.routing_key))
        )


Progress = Callable[[str], None]


class DeadLetters:
    """The dead-letter queues of one namespace, on one AMQP connection."""

    def __init__(self, amqp_url: str, namespace: str) -> None:
        self.amqp_url = amqp_url
        self.names = Names(namespace)

    async def __aenter__(self) -> "DeadLetters":
        self.connection = await aio_pika.connect(self.amqp_url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    def queue_name(self, given: str) -> str:
        """A DLQ from its full name, its subscriber queue's, or either without the namespace."""
        prefix = f"{self.names.namespace}."
        name = given if given.startswith(prefix) else prefix + given
        return name if name.endswith(".dlq") else f"{name}.dlq"

    async def each(self, dlq: str) -> AsyncGenerator[DeadLetter, None]:
        """Every message now in ``dlq``, unacked; whatever the caller does not ack goes back when
        this ends (its channel closes)."""
        channel = await self.connection.channel()
        try:
            queue = await channel.declare_queue(dlq, passive=True)
            total = queue.declaration_result.message_count or 0
            if not total:
                return
            await channel.set_qos(prefetch_count=min(total, MAX_PREFETCH))
            arrived: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
            await queue.consume(arrived.put, no_ack=False)
            for _ in range(total):
                try:
                    message = await asyncio.wait_for(arrived.get(), timeout=IDLE_SECONDS)
                except TimeoutError:
                    return  # fewer than counted: some expired or another reader took them
                yield read(self.names, dlq, message)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def find(self, dlqs: list[str], event_id: str) -> dict[str, Any] | None:
        for dlq in dlqs:
            async with contextlib.aclosing(self.each(dlq)) as letters:
                async for dead in letters:
                    if dead.id == event_id:
                        return dead.summary(with_body=True)
        return None

    async def replay(self, dlqs: list[str], selection: Selection, progress: Progress) -> tuple[int, int]:
        """Re-drive the selected dead letters through their original exchange and routing key.
        Returns (re-driven, left in place)."""
        publisher = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}
        done = left = 0
        try:
            for dlq in dlqs:
                async with contextlib.aclosing(self.each(dlq)) as letters:
                    async for dead in letters:
                        if not selection(dead):
                            left += 1
                            continue
                        if dead.exchange not in exchanges:
                            exchanges[dead.exchange] = await publisher.get_exchange(dead.exchange, ensure=False)
                        await exchanges[dead.exchange].publish(
                            aio_pika.Message(
                                dead.body,
                                headers=replay_headers(dead),
                                content_type=dead.message.content_type,
                                message_id=dead.message.message_id,
                                correlation_id=dead.message.correlation_id,
                                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            ),
                            routing_key=dead.routing_key,
                            mandatory=True,
                        )
                        await dead.message.ack()  # only once the broker confirmed the copy
                        done += 1
                        if done % 100 == 0:
                            progress(f"re-driven {done}")
        finally:
            await publisher.close()
        return done, left

    async def purge(self, dlqs: list[str], selection: Selection, progress: Progress) -> int:
        dropped = 0
        for dlq in dlqs:
            if not selection.narrowed:
                channel = await self.connection.channel()
                try:
                    queue = await channel.declare_queue(dlq, passive=True)
                    result = await queue.purge()
                    dropped += result.message_count or 0
                finally:
                    await channel.close()
                continue
            async with contextlib.aclosing(self.each(dlq)) as letters:
                async for dead in letters:
                    if selection(dead):
                        await dead.message.ack()
                        dropped += 1
                        if dropped % 100 == 0:
                            progress(f"purged {dropped}")
        return dropped
