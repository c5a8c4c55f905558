"""Pushes to the patient's app: JSON POSTed to its endpoint, signed the Standard Webhooks 1.0 way.

``webhook-id`` is the message id, the same on every retry: the app de-duplicates on it.
``webhook-timestamp`` is the attempt's time (the service's clock), and ``webhook-signature`` carries
one ``v1,`` signature per secret: two while ``webhook_previous_secret`` is set, during a rotation.
The app verifies with the ``standardwebhooks`` library (see ``caremesh_kit.webhooks``).
"""

import json

import httpx

from caremesh_kit import webhooks
from caremesh_kit.clock import Clock, system_clock
from caremesh_notifications.adapters import Accepted, http_error, status_error
from caremesh_notifications.domain import Channel, Message
from caremesh_notifications.settings import NotificationsSettings


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
        headers = webhooks.headers(self.s.webhook_secrets, message.id, int(self.clock().timestamp()), body)
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
