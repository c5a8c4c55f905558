"""The gateway's one input: the event log (a RabbitMQ stream), read from a stored offset.

Every event ever published is there, in order, so the gateway can start at any offset the log
still holds: after a restart (from its cursor), for a new subscription's backfill, or for a replay.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aio_pika

from caremesh_kit import logs
from caremesh_kit.bus import Names, connect, settings_ssl_context
from caremesh_kit.settings import ServiceSettings

log = logs.get("caremesh.partners.event_log")

# (offset, AMQP headers, body) of one event, in log order.
Handle = Callable[[int, dict[str, Any], bytes], Awaitable[None]]


class EventLog:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.name = Names(settings.bus_namespace).event_log

    async def follow(self, start: int | str | datetime, handle: Handle, prefetch: int = 200) -> None:
        """Hand every event from ``start`` on to ``handle``, one at a time, until cancelled;
        reconnects after a broker outage from the offset after the last one handled."""
        position: int | str | datetime = start
        while True:
            try:
                async for offset, headers, body in self._read(position, prefetch):
                    await handle(offset, headers, body)
                    position = offset + 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the broker went away: come back to where we were
                log.warning("event log read interrupted", extra={"fields": {"error": type(exc).__name__}})
                await asyncio.sleep(1.0)

    async def read(self, start: int | str | datetime, prefetch: int = 200, idle: float = 5.0) -> Any:
        """Events from ``start`` on, until none comes for ``idle`` seconds (the log's end)."""
        async for event in self._read(start, prefetch, idle):
            yield event

    async def _read(self, start: int | str | datetime, prefetch: int, idle: float | None = None) -> Any:
        connection = await connect(self.settings.amqp_url, settings_ssl_context(self.settings))
        buffer: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue(maxsize=prefetch * 2)

        async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await buffer.put(message)

        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=prefetch)  # a stream needs one
            queue = await channel.get_queue(self.name, ensure=False)
            # A callback consumer: closing an iterator would nack what it holds, which streams refuse.
            await queue.consume(take, arguments={"x-stream-offset": start})
            while True:
                try:
                    message = await asyncio.wait_for(buffer.get(), idle)
                except TimeoutError:
                    return
                raw = (message.headers or {}).get("x-stream-offset", -1)
                offset = raw if isinstance(raw, int) else int(str(raw))
                yield offset, dict(message.headers or {}), message.body
                await message.ack()  # only moves the credit window: the stream keeps it
        finally:
            with contextlib.suppress(Exception):
                await connection.close()
