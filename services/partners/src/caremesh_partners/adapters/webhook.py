"""Webhook delivery: one POST of a CloudEvent (structured JSON) signed per Standard Webhooks 1.0.

Only a 2xx answer counts as delivered. Redirects are not followed (a partner registers the URL it
serves). What the attempt returns is what the delivery log keeps: the status code, the latency and
a class of error, never a body.
"""

import json
import time
from typing import Any

import httpx

from caremesh_kit import webhooks
from caremesh_partners.domain import Attempt, Delivery


def cloudevent(delivery: Delivery) -> bytes:
    """The event in CloudEvents structured mode, as the partner may see it."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": delivery.event_id,
        "type": delivery.event_type,
        "source": f"/caremesh/{delivery.routing_key.split('.', 1)[0]}",
        "time": delivery.event_time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": delivery.body,
    }
    if delivery.subject:
        event["subject"] = delivery.subject
    return json.dumps(event, separators=(",", ":"), sort_keys=True, default=str).encode()


class WebhookSender:
    def __init__(self, timeout: float, client: httpx.AsyncClient | None = None) -> None:
        self.client = client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def send(
        self, url: str, delivery: Delivery, secrets: list[str], at: float
    ) -> tuple[int | None, float, str | None]:
        """(status code, latency in ms, error class) of one attempt made at unix time ``at``."""
        body = cloudevent(delivery)
        headers = webhooks.headers(secrets, delivery.id, int(at), body)
        headers["content-type"] = "application/cloudevents+json"
        started = time.perf_counter()
        try:
            r = await self.client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return None, (time.perf_counter() - started) * 1000, "timeout"
        except Exception as exc:  # noqa: BLE001 - any failure to get an answer is a failed attempt
            return None, (time.perf_counter() - started) * 1000, type(exc).__name__
        return r.status_code, (time.perf_counter() - started) * 1000, None

    async def close(self) -> None:
        await self.client.aclose()


def attempt(at: Any, outcome: tuple[int | None, float, str | None]) -> Attempt:
    status, latency, error = outcome
    return Attempt(at=at, status_code=status, latency_ms=round(latency, 1), error=error)
