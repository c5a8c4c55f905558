"""Pushes to the patient's app: JSON POSTed to its endpoint, signed so the app can verify it.

The signature header is ``X-CareMesh-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is
HMAC-SHA256 with the shared secret over ``"<t>." + body``. The timestamp lets the app refuse
replays; ``verify`` is what an app does (and what the tests use), at the time it is given.
"""

import hashlib
import hmac
import json
from datetime import datetime

import httpx

from caremesh_kit.clock import Clock, system_clock
from caremesh_notifications.adapters import Accepted, http_error, status_error
from caremesh_notifications.domain import Channel, Message
from caremesh_notifications.settings import NotificationsSettings

SIGNATURE_HEADER = "X-CareMesh-Signature"
MESSAGE_ID_HEADER = "X-CareMesh-Message-Id"  # the same on every retry: the app de-duplicates on it


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str | None, now: datetime, tolerance: float = 300) -> bool:
    try:
        fields = dict(part.split("=", 1) for part in (header or "").split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now.timestamp() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), f"t={timestamp},v1={fields.get('v1', '')}")


def payload(message: Message) -> dict[str, str | None]:
    """What the app needs to show a notification and route it: no more than the SMS would say."""
    return {
        "message_id": message.id,
        "recipient_id": message.to,
        "patient_id": message.patient_id,
        "kind": message.template,
        "title": message.subject,
        "body": message.text,
        "appointment_id": message.appointment_id,
    }


class AppWebhook:
    channel = Channel.WEBHOOK

    def __init__(
        self, settings: NotificationsSettings, client: httpx.AsyncClient | None = None, clock: Clock = system_clock
    ) -> None:
        self.s, self.clock = settings, clock
        self.client = client or httpx.AsyncClient(timeout=settings.webhook_timeout_seconds)

    async def send(self, message: Message) -> Accepted:
        body = json.dumps(payload(message), separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            MESSAGE_ID_HEADER: message.id,
            SIGNATURE_HEADER: sign(self.s.webhook_secret, body, int(self.clock().timestamp())),
        }
        try:
            r = await self.client.post(self.s.webhook_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise http_error("webhook", exc) from exc
        if r.status_code >= 300:
            raise status_error("webhook", r.status_code)
        try:
            answer = r.json()
        except ValueError:
            answer = {}
        app_id = answer.get("id") if isinstance(answer, dict) else None
        return Accepted(app_id if isinstance(app_id, str) and app_id else message.id)

    async def close(self) -> None:
        await self.client.aclose()
