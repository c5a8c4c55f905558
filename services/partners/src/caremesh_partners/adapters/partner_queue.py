"""AMQP delivery: the event, as the partner may see it, published to the partner's own exchange
as a CloudEvent in binary mode (``ce-`` headers, JSON body), routed by its routing key into the
partner's queue. A publisher confirm is the delivery; an unroutable or refused message a failure."""

import json
import time

from caremesh_partners.adapters.amqp_delivery import AmqpDeliveryError, AmqpPublisher
from caremesh_partners.adapters.broker_admin import partner_broker
from caremesh_partners.domain import Delivery


def ce_headers(delivery: Delivery) -> dict[str, str]:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": delivery.event_id,
        "ce-type": delivery.event_type,
        "ce-source": f"/caremesh/{delivery.routing_key.split('.', 1)[0]}",
        "ce-time": delivery.event_time.isoformat().replace("+00:00", "Z"),
    }
    if delivery.subject:
        headers["ce-subject"] = delivery.subject
    return headers


class PartnerQueues:
    def __init__(self, publisher: AmqpPublisher, namespace: str) -> None:
        self.publisher, self.namespace = publisher, namespace

    async def send(self, delivery: Delivery) -> tuple[int | None, float, str | None]:
        """(no status code, latency in ms, error class or None) of one publish."""
        body = json.dumps(delivery.body, separators=(",", ":"), sort_keys=True, default=str).encode()
        exchange = partner_broker(self.namespace, delivery.partner_id).exchange
        started = time.perf_counter()
        try:
            await self.publisher.publish(exchange, delivery.routing_key, ce_headers(delivery), body, delivery.id)
        except AmqpDeliveryError as exc:
            return None, (time.perf_counter() - started) * 1000, type(exc).__name__
        return None, (time.perf_counter() - started) * 1000, None

    async def close(self) -> None:
        await self.publisher.close()
