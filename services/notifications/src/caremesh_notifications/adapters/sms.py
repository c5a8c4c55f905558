"""SMS through an HTTP provider with Twilio's request shape, and its signed status callbacks.

Send: ``POST {base}/2010-04-01/Accounts/{sid}/Messages.json``, form-encoded ``To``, ``From``,
``Body`` (and ``StatusCallback``), basic auth ``sid:token``; the answer's ``sid`` is the provider
message id and ``status`` its first status. Callbacks carry ``X-Twilio-Signature``: base64 of
HMAC-SHA1 over the full callback URL followed by each form field's name and value, sorted by name.
"""

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from caremesh_notifications.adapters import Accepted, ChannelError, http_error, status_error
from caremesh_notifications.domain import Channel, Message
from caremesh_notifications.settings import NotificationsSettings

SIGNATURE_HEADER = "X-Twilio-Signature"


def signature(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    payload = url + "".join(k + form[k] for k in sorted(form))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def valid_signature(auth_token: str, url: str, form: Mapping[str, str], given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(signature(auth_token, url, form), given or "")


def callback_url(base: str, message_id: str) -> str:
    """Our message id rides in the URL, so a report that overtakes our record of the send still finds it."""
    return f"{base}{'&' if '?' in base else '?'}{urlencode({'message_id': message_id})}"


class TwilioSms:
    channel = Channel.SMS

    def __init__(self, settings: NotificationsSettings, client: httpx.AsyncClient | None = None) -> None:
        self.s = settings
        self.url = (
            f"{settings.sms_provider_url.rstrip('/')}/2010-04-01/Accounts/{settings.sms_account_sid}/Messages.json"
        )
        self.client = client or httpx.AsyncClient(timeout=settings.sms_timeout_seconds)

    async def send(self, message: Message) -> Accepted:
        form = {"To": message.to, "From": self.s.sms_from, "Body": message.text}
        if self.s.sms_status_callback_url:
            form["StatusCallback"] = callback_url(self.s.sms_status_callback_url, message.id)
        try:
            r = await self.client.post(self.url, data=form, auth=(self.s.sms_account_sid, self.s.sms_auth_token))
        except httpx.HTTPError as exc:
            raise http_error("sms", exc) from exc
        body = _json(r)
        if r.status_code >= 300:
            raise status_error("sms", r.status_code, body.get("code"))
        sid = body.get("sid")
        if not isinstance(sid, str) or not sid:
            # Accepted but unidentifiable: retrying could send it twice, so treat it as maybe sent.
            raise ChannelError("sms: answer without a sid", maybe_sent=True)
        status = body.get("status")
        return Accepted(sid, status if isinstance(status, str) else None)

    async def close(self) -> None:
        await self.client.aclose()


def _json(r: httpx.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
