"""Removing what a run created: leftover service processes, queues and exchanges, databases."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from typing import Any

import httpx
from pymongo import MongoClient

from booking.common import (
    MANAGEMENT_AUTH,
    MANAGEMENT_URL,
    MONGO_PORTS,
    amqp_connect,
    mongo_url,
    say,
)
from caremesh_kit.devcluster import SERVICES, Cluster


def kill_leftovers(cluster: Cluster) -> None:
    """After ``cluster.down()``, which an error or Ctrl-C may have cut short."""
    for s, proc in cluster.procs.items():
        if proc.poll() is None:
            say(f"{s} still running; killing pid {proc.pid}")
            proc.kill()
            with contextlib.suppress(Exception):
                proc.wait(timeout=10)


def sweep_broker(namespace: str) -> dict[str, Any]:
    """Delete every queue and exchange named ``<namespace>.*`` (management API on 15672)."""
    prefix = namespace + "."
    out: dict[str, Any] = {"queues_deleted": 0, "exchanges_deleted": 0, "left": []}
    try:
        with httpx.Client(base_url=MANAGEMENT_URL, auth=MANAGEMENT_AUTH, timeout=10) as c:

            def ours(kind: str) -> list[str]:
                r = c.get(f"/api/{kind}/%2F", params={"columns": "name"})
                r.raise_for_status()
                return sorted(x["name"] for x in r.json() if x["name"].startswith(prefix))

            for kind in ("queues", "exchanges"):
                for name in ours(kind):
                    d = c.delete(f"/api/{kind}/%2F/{urllib.parse.quote(name, safe='')}")
                    if d.status_code in (204, 404):
                        out[f"{kind}_deleted"] += d.status_code == 204
                    else:
                        say(f"could not delete {kind[:-1]} {name}: {d.status_code}")
            for kind in ("queues", "exchanges"):
                out["left"] += ours(kind)
    except httpx.HTTPError as exc:
        out["error"] = f"management API: {type(exc).__name__}: {exc}"
        say(out["error"] + "; falling back to AMQP deletes of the known names")
        asyncio.run(_amqp_delete_known(namespace))
    return out


async def _amqp_delete_known(namespace: str) -> None:
    """Fallback without the management API: the names the services declare, derived from the
    event contracts (deleting a missing queue or exchange is a no-op in RabbitMQ)."""
    from caremesh_contracts import all_event_types

    names = [f"{namespace}.event-log"]
    for svc in SERVICES:
        for ev in all_event_types():
            names += [f"{namespace}.{svc}.{ev.routing_key}", f"{namespace}.{svc}.{ev.routing_key}.dlq"]
    conn = await amqp_connect()
    try:
        ch = await conn.channel()
        for q in names:
            await ch.queue_delete(q, timeout=10)
        for ex in (f"{namespace}.events", f"{namespace}.dlx"):
            await ch.exchange_delete(ex, timeout=10)
    finally:
        await asyncio.wait_for(conn.close(), timeout=10)


def drop_databases(db_suffix: str) -> dict[str, Any]:
    out: dict[str, Any] = {"dropped": [], "left": []}
    for svc, port in MONGO_PORTS.items():
        name = f"caremesh_{svc}{db_suffix}"
        try:
            with MongoClient(
                mongo_url(svc), serverSelectionTimeoutMS=5000, connectTimeoutMS=5000, socketTimeoutMS=30000
            ) as client:
                client.drop_database(name)
                if name in client.list_database_names():
                    out["left"].append(name)
                else:
                    out["dropped"].append(name)
        except Exception as exc:  # noqa: BLE001 - report and carry on with the others
            out["left"].append(name)
            say(f"could not drop {name} on :{port}: {type(exc).__name__}: {exc}")
    return out


def clean_up(cluster: Cluster, namespace: str, raw_namespace: str) -> dict[str, Any]:
    """Everything but Mailpit (the suite deletes its emails once it has read them)."""
    kill_leftovers(cluster)
    cleanup = {
        "broker": {"suite": sweep_broker(namespace), "baseline": sweep_broker(raw_namespace)},
        "databases": drop_databases(cluster.db_suffix),
    }
    say(f"cleanup: {describe(cleanup)}")
    return cleanup


def describe(cleanup: dict[str, Any]) -> str:
    b1, b2, dbs = cleanup["broker"]["suite"], cleanup["broker"]["baseline"], cleanup["databases"]
    left = b1["left"] + b2["left"]
    return (
        f"broker {b1['queues_deleted'] + b2['queues_deleted']} queue(s) and "
        f"{b1['exchanges_deleted'] + b2['exchanges_deleted']} exchange(s) deleted, "
        + (f"LEFT: {left}" if left else "none left")
        + f"; databases {len(dbs['dropped'])} dropped"
        + (f", LEFT: {dbs['left']}" if dbs["left"] else "")
    )


def anything_left(cleanup: dict[str, Any]) -> bool:
    return bool(
        cleanup["broker"]["suite"]["left"] or cleanup["broker"]["baseline"]["left"] or cleanup["databases"]["left"]
    )
