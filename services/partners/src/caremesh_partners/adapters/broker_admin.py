"""A partner's own corner of the broker, made and removed through the RabbitMQ management HTTP API.

Per AMQP partner: a user ``<ns>.partners.<id>`` (no tags: no management UI), a durable topic
exchange of the same name that the gateway republishes to, and a quorum queue
``<ns>.partners.<id>.events`` bound to it with ``#``. The user may read that one queue and nothing
else: configure and write match no resource, so it cannot declare, bind, delete or publish.

Only API calls RabbitMQ 3.10 and 4.x share are used. Every call is idempotent (PUT, DELETE, and a
binding POST that is a no-op when the binding exists), so ``provision`` is safe to run again,
e.g. after a crash half-way or to set a new password.
"""

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

# Quorum queues need a finite delivery limit (4.x defaults to 20): a message a partner keeps
# handing back is then dropped instead of looping forever.
DEFAULT_DELIVERY_LIMIT = 20
_ATTEMPTS = 3  # the management API answers 5xx now and then under load


class BrokerAdminError(Exception):
    """The management API refused or failed a call. Names the call and the status, never a password."""

    def __init__(self, action: str, status_code: int | None, reason: str = "") -> None:
        self.action, self.status_code, self.reason = action, status_code, reason
        status = "no answer" if status_code is None else f"HTTP {status_code}"
        super().__init__(f"broker admin: {action} failed ({status}){': ' + reason if reason else ''}")


@dataclass(frozen=True)
class PartnerBroker:
    """Where a partner's events go and who may read them."""

    user: str
    exchange: str
    queue: str


def partner_broker(namespace: str, partner_id: str) -> PartnerBroker:
    base = f"{namespace}.partners.{partner_id}"
    return PartnerBroker(user=base, exchange=base, queue=f"{base}.events")


def exact(name: str) -> str:
    """A permission regex (Erlang ``re``, PCRE) matching ``name`` only: every character that is not
    a letter or digit is escaped, so a ``.`` in a name cannot match other resources."""
    return "^" + "".join(c if c.isascii() and c.isalnum() else "\\" + c for c in name) + "$"


def _check_name(what: str, value: str) -> None:
    # Names become resource names and regexes: keep them to what the project's ids use.
    if not value or any(not (c.isascii() and (c.isalnum() or c in "-_.")) for c in value):
        raise ValueError(f"{what} must be ASCII letters, digits, '-', '_' or '.'")


class BrokerAdmin:
    def __init__(
        self,
        management_url: str,
        username: str,
        password: str,
        vhost: str = "/",
        client: httpx.AsyncClient | None = None,
        *,
        delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
    ) -> None:
        base = management_url.rstrip("/")
        self.api = base if base.endswith("/api") else base + "/api"
        self.vhost = quote(vhost, safe="")  # the default vhost "/" is "%2F" in a path
        self.delivery_limit = delivery_limit
        self._auth = httpx.BasicAuth(username, password)
        self._owned = client is None
        self.client = client or httpx.AsyncClient(timeout=10, follow_redirects=False)

    async def provision(self, namespace: str, partner_id: str, password: str) -> PartnerBroker:
        _check_name("namespace", namespace)
        _check_name("partner_id", partner_id)
        broker = partner_broker(namespace, partner_id)
        user, exchange, queue = (quote(n, safe="") for n in (broker.user, broker.exchange, broker.queue))
        await self._call("PUT", f"/users/{user}", f"create user {broker.user}", {"password": password, "tags": ""})
        await self._call(
            "PUT",
            f"/exchanges/{self.vhost}/{exchange}",
            f"declare exchange {broker.exchange}",
            {"type": "topic", "durable": True, "auto_delete": False, "internal": False, "arguments": {}},
        )
        await self._call(
            "PUT",
            f"/queues/{self.vhost}/{queue}",
            f"declare queue {broker.queue}",
            {
                "durable": True,
                "auto_delete": False,
                "arguments": {"x-queue-type": "quorum", "x-delivery-limit": self.delivery_limit},
            },
        )
        await self._call(
            "POST",
            f"/bindings/{self.vhost}/e/{exchange}/q/{queue}",
            f"bind {broker.queue} to {broker.exchange}",
            {"routing_key": "#", "arguments": {}},
        )
        # Last, so the user can do nothing until its queue exists.
        await self._call(
            "PUT",
            f"/permissions/{self.vhost}/{user}",
            f"set permissions of {broker.user}",
            {"configure": "^$", "write": "^$", "read": exact(broker.queue)},
        )
        return broker

    async def deprovision(self, namespace: str, partner_id: str) -> None:
        """Remove the user (its permissions go with it), then the queue and the exchange; what is
        already gone is fine."""
        _check_name("namespace", namespace)
        _check_name("partner_id", partner_id)
        broker = partner_broker(namespace, partner_id)
        user, exchange, queue = (quote(n, safe="") for n in (broker.user, broker.exchange, broker.queue))
        await self._call("DELETE", f"/users/{user}", f"delete user {broker.user}", absent_ok=True)
        await self._call("DELETE", f"/queues/{self.vhost}/{queue}", f"delete queue {broker.queue}", absent_ok=True)
        await self._call(
            "DELETE", f"/exchanges/{self.vhost}/{exchange}", f"delete exchange {broker.exchange}", absent_ok=True
        )

    async def close(self) -> None:
        if self._owned:
            await self.client.aclose()

    async def _call(
        self, method: str, path: str, action: str, body: dict[str, Any] | None = None, absent_ok: bool = False
    ) -> None:
        status: int | None = None
        reason = ""
        for attempt in range(_ATTEMPTS):
            try:
                r = await self.client.request(method, self.api + path, json=body, auth=self._auth)
            except httpx.TransportError as exc:
                status, reason = None, type(exc).__name__
            else:
                if r.is_success or (absent_ok and r.status_code == 404):
                    return
                status, reason = r.status_code, _reason(r)
                if r.status_code < 500:
                    break  # refused: asking again changes nothing
            if attempt < _ATTEMPTS - 1:
                await asyncio.sleep(0.5 * (attempt + 1))
        raise BrokerAdminError(action, status, reason)


def _reason(r: httpx.Response) -> str:
    """The broker's own short reason (e.g. an inequivalent queue argument); it never echoes a password."""
    try:
        data = r.json()
    except ValueError:
        return ""
    reason = data.get("reason") if isinstance(data, dict) else None
    return str(reason)[:200] if reason else ""
