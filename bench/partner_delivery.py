"""Benchmark: webhook delivery through the partner gateway, in deliveries per second and lag.

Run with ``uv run python bench/partner_delivery.py [--n 2000] [--rate R] [--outage 60] [--json]``;
see bench/README.md. It starts the gateway alone as its own process (namespace ``bench-ptn-<uuid>``,
port 8255, database ``caremesh_partners_benchptn_<short>``) with a short retry schedule, and a
webhook receiver (a real HTTP server) in this process; registers a referring clinic with a webhook
subscription to ``scheduling.referral.*``; publishes ``scheduling.referral.received`` events of
that clinic's referrals onto the bus and times each one from just before its publication to its
first 2xx answer at the receiver. Then the receiver answers 503 for ``--outage`` seconds while
events keep coming, and recovers. The baseline, in the same run, POSTs the same signed CloudEvents
straight to the receiver at the same concurrency (or rate). It removes everything it created.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from booking.cleanup import kill_leftovers, sweep_broker
from booking.cluster import peak_rss_mib
from booking.common import AMQP_URL, HOST, say
from partners import phases, report
from partners.receiver import Receiver
from pymongo import AsyncMongoClient, MongoClient

from caremesh_kit import webhooks
from caremesh_kit.auth import mint
from caremesh_kit.devcluster import PORTS, Cluster

PORT_OFFSET = 250  # the gateway on 8255: clear of the other benches (8201-8204, 8212, 8221, 8234) and e2e (8305)
PORT = PORTS["partners"] + PORT_OFFSET
MONGO_URL = f"mongodb://{HOST}:27105/"  # the gateway's FerretDB


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="events in the steady phase (and baseline POSTs); default 2000")
    p.add_argument("--concurrency", type=int, default=16, help="closed loop: events in flight at once; default 16")
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="open loop: publish (and POST, for the baseline) at this rate per second whether or not earlier "
        "ones arrived; default: the closed loop",
    )
    p.add_argument(
        "--outage", type=float, default=60, help="seconds the receiver answers 503 in phase 2; 0 skips it; default 60"
    )
    p.add_argument("--outage-rate", type=float, default=5, help="events published per second during the outage")
    p.add_argument(
        "--retry-max",
        type=float,
        default=10,
        help="longest wait between attempts in the gateway's schedule for the run (0, 0.5, 1, 2, 5 s, then this)",
    )
    p.add_argument("--scan", type=float, default=0.2, help="the gateway's PARTNERS_DISPATCH_SCAN_SECONDS; default 0.2")
    p.add_argument("--drain-timeout", type=float, default=300, help="seconds after recovery for every event to arrive")
    p.add_argument("--delivery-timeout", type=float, default=120, help="seconds one steady-phase event may take")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured events (and baseline POSTs) first; default 20")
    p.add_argument("--verify-every", type=int, default=10, help="verify 1 request's signature in this many")
    p.add_argument("--settle", type=float, default=3, help="seconds to wait for late duplicates at the end")
    p.add_argument(
        "--ordering-key", default=None, help="the subscription's ordering_key (e.g. referral_id); default none"
    )
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    p.add_argument("--keep-logs", action="store_true", help="keep the gateway's log folder")
    a = p.parse_args()
    if not (1 <= a.n <= 20000 and 1 <= a.concurrency <= 256 and 0 <= a.warmup <= 1000):
        p.error("need 1 <= n <= 20000, 1 <= concurrency <= 256 and 0 <= warmup <= 1000")
    if a.rate is not None and not 0 < a.rate <= 5000:
        p.error("--rate must be in (0, 5000]")
    if not (0 <= a.outage <= 3600 and 0 < a.outage_rate <= 1000 and 0.5 <= a.retry_max <= 600 and a.scan >= 0.01):
        p.error("need 0 <= outage <= 3600, 0 < outage-rate <= 1000, 0.5 <= retry-max <= 600, scan >= 0.01")
    return a


def retry_schedule(a: argparse.Namespace) -> list[float]:
    """Short steps, then ``--retry-max``, long enough in all that no delivery runs out of attempts
    (and fails) before the drain timeout: a failed delivery would wait for a manual replay."""
    steps = [min(s, a.retry_max) for s in (0.0, 0.5, 1.0, 2.0, 5.0)]
    while sum(steps) < a.outage + a.drain_timeout + 60:
        steps.append(a.retry_max)
    return steps


async def set_up(base: str, token: str, receiver: str, organization: str, ordering_key: str | None) -> dict[str, str]:
    """The referring clinic and its webhook subscription, over the admin API."""
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        r = await c.post(
            "/partners",
            json={
                "name": organization,
                "kind": "referring_clinic",
                "purpose_of_use": "TREAT",
                "organization": organization,
            },
        )
        r.raise_for_status()
        partner = r.json()["id"]
        channel = {"url": receiver} | ({"ordering_key": ordering_key} if ordering_key else {})
        r = await c.post(
            f"/partners/{partner}/subscriptions", json={"event_types": ["scheduling.referral.*"], "channel": channel}
        )
        r.raise_for_status()
        sub = r.json()["id"]
        r = await c.get(f"/subscriptions/{sub}/secret")
        r.raise_for_status()
        return {"partner": partner, "subscription": sub, "secret": r.json()["secrets"][0]}


async def gateway_log(db: str) -> dict[str, Any]:
    """The gateway's own delivery log, from its store: deliveries by status and attempts made."""
    client: AsyncMongoClient = AsyncMongoClient(MONGO_URL, serverSelectionTimeoutMS=5000, socketTimeoutMS=60000)
    try:
        by_status: dict[str, int] = {}
        attempts = 0
        async for d in client[db]["deliveries"].find({}, {"status": 1, "attempts": 1}):
            by_status[d["status"]] = by_status.get(d["status"], 0) + 1
            attempts += len(d.get("attempts") or [])
        return {"by_status": by_status, "attempts": attempts}
    finally:
        await client.close()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(a: argparse.Namespace, cluster: Cluster, short: str, token: str) -> dict[str, Any]:
    receiver = Receiver(HOST, a.verify_every)
    await receiver.start()
    try:
        organization = f"Bench Clinic {short}"
        made = await set_up(cluster.url("partners"), token, receiver.url, organization, a.ordering_key)
        say(f"partner {made['partner']} subscribed to scheduling.referral.* at {receiver.url}")
        async with phases.Publisher(cluster.namespace) as pub:
            receiver.sign_with(made["secret"])
            warm = await phases.through_gateway(
                receiver, pub, phases.referrals(short, "warm", a.warmup, organization), None, a.concurrency, 60
            )
            if a.warmup and not warm.arrived:
                raise RuntimeError("the gateway delivered none of the warm-up events (see its log)")

            base_secret = webhooks.new_secret()
            receiver.sign_with(base_secret)
            events = phases.referrals(short, "base", a.warmup + a.n, organization)
            await phases.baseline(receiver, events[: a.warmup], None, a.concurrency, base_secret, 30)
            say(f"baseline: {a.n} POSTs straight to the receiver")
            base = await phases.baseline(receiver, events[a.warmup :], a.rate, a.concurrency, base_secret, 30)

            receiver.sign_with(made["secret"])
            say(f"steady: {a.n} events through the gateway")
            events = phases.referrals(short, "steady", a.n, organization)
            steady = await phases.through_gateway(receiver, pub, events, a.rate, a.concurrency, a.delivery_timeout)
            g, b = steady.figures(), base.figures()
            say(f"steady: {g['deliveries_per_s']} deliveries/s, lag p50 {g['lag_ms']['p50']} ms")
            out: dict[str, Any] | None = None
            if a.outage > 0:
                count = max(1, round(a.outage * a.outage_rate))
                out = await phases.outage(receiver, pub, phases.referrals(short, "outage", count, organization), a)
        await asyncio.sleep(a.settle)  # a duplicate would come now, if ever
        ids = set(warm.sent) | set(steady.sent) | (out.pop("ids") if out else set())
        return {
            "steady": {
                "gateway": g,
                "baseline": b,
                "ratios": report.ratios(g, b),
                "offering": steady.offering,
            },
            "outage": out,
            "repeats": phases.repeats(receiver, ids),
            "signatures": {
                "every": receiver.verify_every,
                "verified": receiver.verified,
                "bad": receiver.bad_signatures,
                "unreadable": receiver.unreadable,
            },
            "receiver_url": receiver.url,
            "gateway_log": await gateway_log(f"caremesh_partners{cluster.db_suffix}"),
        }
    finally:
        await receiver.stop()


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # cleaned up as on Ctrl-C


def main() -> int:
    a = parse_args()
    signal.signal(signal.SIGTERM, _sigterm)
    run_id = uuid.uuid4().hex
    short = run_id[:8]
    namespace, db_suffix = f"bench-ptn-{run_id}", f"_benchptn_{short}"
    db = f"caremesh_partners{db_suffix}"
    secret = f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    schedule = retry_schedule(a)
    log_dir = Path(tempfile.mkdtemp(prefix=f"caremesh-bench-ptn-{short}-"))
    env = {
        "PARTNERS_JWT_SECRET": secret,
        "PARTNERS_AMQP_URL": AMQP_URL,
        "PARTNERS_MONGODB_URL": MONGO_URL,
        "PARTNERS_HTTP_HOST": HOST,
        # Svix's schedule waits 5 min after the second failure: the outage phase would measure that.
        "PARTNERS_RETRY_SCHEDULE_SECONDS": json.dumps(schedule),
        "PARTNERS_DISPATCH_SCAN_SECONDS": str(a.scan),
    }
    token = mint("bench-admin", ["admin"], secret)
    result: dict[str, Any] = {}
    process: dict[str, Any] = {}
    left: list[str] = []
    failure: BaseException | None = None
    cluster = Cluster(namespace=namespace, db_suffix=db_suffix, port_offset=PORT_OFFSET, log_dir=log_dir, extra_env=env)
    started = time.monotonic()
    try:
        with socket.socket() as probe:
            if probe.connect_ex((HOST, PORT)) == 0:
                raise RuntimeError(f"port {PORT} is already in use")
        cluster.start("partners")
        cluster.wait_ready("partners")
        say(f"gateway ready at {cluster.url('partners')} (namespace {namespace}, database {db})")
        try:
            result = asyncio.run(run(a, cluster, short, token))
        finally:
            if (proc := cluster.procs.get("partners")) is not None and proc.poll() is None:
                process = {"cpu_s": cpu_seconds(proc.pid), "peak_mib": peak_rss_mib(cluster)["partners"]["peak_mib"]}
    except BaseException as exc:  # noqa: BLE001 - reported after cleanup (incl. Ctrl-C)
        failure = exc
    finally:
        cluster.down()
        kill_leftovers(cluster)
        broker = sweep_broker(namespace)
        left += broker["left"]
        try:
            mongo: MongoClient = MongoClient(MONGO_URL, serverSelectionTimeoutMS=5000)
            with mongo:
                mongo.drop_database(db)
                if db in mongo.list_database_names():
                    left.append(db)
        except Exception as exc:  # noqa: BLE001 - reported
            say(f"could not drop {db}: {type(exc).__name__}: {exc}")
            left.append(db)
        say(
            f"cleanup: {broker['queues_deleted']} queue(s), {broker['exchanges_deleted']} exchange(s) deleted, "
            f"database {db} dropped; left: {left or 'nothing'}"
        )
        if failure is None and not a.keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            say(f"gateway log kept in {log_dir}")
    if failure is not None:
        if isinstance(failure, KeyboardInterrupt):
            return 130
        say(f"FAILED: {type(failure).__name__}: {failure}")
        return 1
    result = {
        "n": a.n,
        "concurrency": a.concurrency,
        "rate": a.rate,
        "gateway_url": cluster.url("partners"),
        "settings": {
            "retry_schedule_s": schedule,
            "retry_schedule": f"{', '.join(f'{x:g}' for x in schedule[:5])}, then {a.retry_max:g} s "
            f"({len(schedule)} attempts in all)",
            "dispatch_scan_s": a.scan,
            "ordering_key": a.ordering_key,
        },
        **result,
        "gateway_process": process,
        "total_s": round(time.monotonic() - started, 1),
        "left": left,
    }
    print(json.dumps(result, indent=2) if a.json else report.text(result))
    steady, out, dup, sig = result["steady"]["gateway"], result["outage"], result["repeats"], result["signatures"]
    wrong = (
        steady["missing"]
        or (out and out["missing"])
        or dup["duplicates_after_2xx"]
        or dup["events_under_several_ids"]
        or sig["bad"]
        or result["steady"]["baseline"]["missing"]
    )
    return 2 if wrong or left else 0


if __name__ == "__main__":
    sys.exit(main())
