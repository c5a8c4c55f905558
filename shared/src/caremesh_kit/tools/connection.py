"""Where the tools find the broker: ``CAREMESH_*`` variables, overridden by flags."""

import argparse
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
from pydantic_settings import SettingsConfigDict

from caremesh_kit.settings import ServiceSettings


class ToolSettings(ServiceSettings):
    """The services' common fields (e.g. CAREMESH_AMQP_URL, CAREMESH_BUS_NAMESPACE) plus the management API."""

    model_config = SettingsConfigDict(env_prefix="CAREMESH_", extra="ignore")

    # RabbitMQ management API; without credentials in it, the AMQP URL's user and password are used.
    management_url: str = "http://127.0.0.1:15672/api"


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--amqp-url", help="AMQP URL, its path is the vhost (env CAREMESH_AMQP_URL)")
    parser.add_argument("--management-url", help="management API base URL (env CAREMESH_MANAGEMENT_URL)")
    parser.add_argument("--namespace", help="bus namespace, the queue name prefix (env CAREMESH_BUS_NAMESPACE)")


def settings_from(args: argparse.Namespace) -> ToolSettings:
    overrides = {
        field: value
        for field, value in (
            ("amqp_url", args.amqp_url),
            ("management_url", args.management_url),
            ("bus_namespace", args.namespace),
        )
        if value
    }
    return ToolSettings(**overrides)


def vhost(amqp_url: str) -> str:
    """The vhost of an AMQP URL: its path without the leading slash, or "/" when empty."""
    path = urlsplit(amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


class Management:
    """The few management API calls the tools need, on the AMQP URL's vhost."""

    def __init__(self, settings: ToolSettings) -> None:
        url = urlsplit(settings.management_url)
        amqp = urlsplit(settings.amqp_url)
        user = url.username or amqp.username or "guest"
        password = url.password or amqp.password or "guest"
        self.base = url._replace(netloc=url.netloc.rsplit("@", 1)[-1]).geturl().rstrip("/")
        self.vhost = quote(vhost(settings.amqp_url), safe="")
        self.client = httpx.AsyncClient(auth=(unquote(user), unquote(password)), timeout=30)

    async def __aenter__(self) -> "Management":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def get(self, path: str, **params: Any) -> Any:
        r = await self.client.get(f"{self.base}{path}", params=params)
        r.raise_for_status()
        return r.json()

    async def queues(self, prefix: str, suffix: str = "") -> list[dict[str, Any]]:
        """Queues named ``<prefix>…<suffix>`` with their name, arguments and policy, by name."""
        found = await self.get(f"/queues/{self.vhost}", columns="name,arguments,policy")
        return sorted(
            (q for q in found if str(q["name"]).startswith(prefix) and str(q["name"]).endswith(suffix)),
            key=lambda q: str(q["name"]),
        )

    async def queue(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.get(f"/queues/{self.vhost}/{quote(name, safe='')}")
        return found

    async def put_policy(self, name: str, definition: dict[str, Any]) -> None:
        r = await self.client.put(f"{self.base}/policies/{self.vhost}/{quote(name, safe='')}", json=definition)
        r.raise_for_status()

    async def policy(self, name: str) -> dict[str, Any] | None:
        r = await self.client.get(f"{self.base}/policies/{self.vhost}/{quote(name, safe='')}")
        if r.status_code == 404:
            return None
        r.raise_for_status()
        found: dict[str, Any] = r.json()
        return found

    async def delete_policy(self, name: str) -> None:
        r = await self.client.delete(f"{self.base}/policies/{self.vhost}/{quote(name, safe='')}")
        if r.status_code != 404:
            r.raise_for_status()
