"""AMQP delivery: republish a projected event to a partner's own exchange, as a CloudEvent in
binary mode (the ``ce-*`` headers the caller builds, the data as the body).

A publish either lands or raises: publisher confirms, persistent messages, and ``mandatory`` so a
message no queue takes (the partner's queue is gone or unbound) is an error, not a silent drop.
The connection is the gateway's own; it is made on first use and again after a broker outage.
"""

import asyncio
import contextlib
import ssl

import aio_pika
import aio_pika.abc
import aio_pika.exceptions

from caremesh_kit.bus import connect

CONTENT_TYPE = "application/json"


class AmqpDeliveryError(Exception):
    """A publish that did not land. The message says why, never what the message held."""


class Unroutable(AmqpDeliveryError):
    """The broker returned the message: no queue is bound to take it."""


class AmqpPublisher:
    def __init__(self, amqp_url: str, ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0) -> None:
        self.amqp_url, self.ssl_context, self.timeout = amqp_url, ssl_context, timeout
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._opening = asyncio.Lock()

    async def publish(
        self, exchange: str, routing_key: str, headers: dict[str, str], body: bytes, message_id: str
    ) -> None:
        message = aio_pika.Message(
            body,
            headers=dict(headers),
            content_type=CONTENT_TYPE,
            message_id=message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        connection, channel = await self._open()
        # Each failure is re-raised without its cause: aiormq's errors quote the message, body included.
        try:
            target = await channel.get_exchange(exchange, ensure=False)  # no round trip: publish tells
            await target.publish(message, routing_key=routing_key, mandatory=True, timeout=self.timeout)
        except aio_pika.exceptions.PublishError:
            raise Unroutable(f"no queue took the message on {exchange} ({routing_key})") from None
        except aio_pika.exceptions.DeliveryError:
            raise AmqpDeliveryError(f"the broker refused the message on {exchange} (nack)") from None
        except aio_pika.exceptions.ChannelNotFoundEntity:
            self._forget(channel)  # the broker closed the channel; the connection is fine
            raise AmqpDeliveryError(f"exchange {exchange} does not exist") from None
        except aio_pika.exceptions.AMQPChannelError as exc:
            self._forget(channel)
            raise AmqpDeliveryError(f"the broker closed the channel ({type(exc).__name__})") from None
        except TimeoutError:
            await self._lost(connection)  # a confirm that never came: start over on a fresh connection
            raise AmqpDeliveryError(f"no confirm within {self.timeout}s on {exchange}") from None
        except aio_pika.exceptions.CONNECTION_EXCEPTIONS as exc:
            await self._lost(connection)
            raise AmqpDeliveryError(f"broker unavailable ({type(exc).__name__})") from None

    async def _open(self) -> tuple[aio_pika.abc.AbstractConnection, aio_pika.abc.AbstractChannel]:
        """The live connection and channel, made again if the broker closed either."""
        async with self._opening:
            try:
                if self._connection is None or self._connection.is_closed:
                    await self._drop()
                    self._connection = await asyncio.wait_for(
                        connect(self.amqp_url, self.ssl_context), timeout=self.timeout
                    )
                if self._channel is None or self._channel.is_closed:
                    self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
            except (TimeoutError, *aio_pika.exceptions.CONNECTION_EXCEPTIONS) as exc:
                await self._drop()
                raise AmqpDeliveryError(f"broker unavailable ({type(exc).__name__})") from None
            return self._connection, self._channel

    def _forget(self, channel: aio_pika.abc.AbstractChannel) -> None:
        # Only the channel this publish used: another may have opened a fresh one meanwhile.
        if self._channel is channel:
            self._channel = None

    async def _lost(self, connection: aio_pika.abc.AbstractConnection) -> None:
        async with self._opening:
            if self._connection is connection:
                await self._drop()

    async def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # a dead broker may never answer the close
                await asyncio.wait_for(connection.close(), timeout=self.timeout)

    async def close(self) -> None:
        async with self._opening:
            await self._drop()
