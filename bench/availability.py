"""Benchmark: availability search latency on a calendar of 200 practitioners over 90 days.

Run with ``uv run python bench/availability.py [--practitioners 200] [--days 90] [--searches 300]``;
see bench/README.md. It starts its own scheduling process (port 8221, namespace
``bench-avail-<uuid>``, database ``caremesh_scheduling_bench_avail_<short>``), builds the calendar
over HTTP, books part of it, publishes coverages for some patients on the broker, then times
``GET /availability`` from the client for a mix of searches and prints p50/p99. Everything it
created is removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from booking.common import AMQP_URL as AMQP
from booking.common import HOST, mongo_url, say
from booking.report import percentile
from pymongo import MongoClient

from caremesh_contracts import CoverageChanged, CoverageRegistered
from caremesh_kit.auth import mint
from caremesh_kit.devcluster import SERVICES, Cluster
from caremesh_scheduling.domain import TemplateSpec
from caremesh_scheduling.domain.slots import day_slots
from caremesh_testing import delete_namespace, publish_event

PORT_OFFSET = 220  # scheduling on 8221: e2e uses 8301-8304, the booking benchmark 8201-8204
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Phoenix", "Australia/Sydney"]
SERVICES_OFFERED = [("99213", "Office visit", 30), ("99212", "Short visit", 15), ("99215", "Long visit", 60)]
KINDS = [
    "first page, all practitioners, 14 days",
    "next page (cursor)",
    "one practitioner, 90 days",
    "location, mornings, 30 days",
    "patient with coverage, 14 days",
    "patient covered from day 75, 90 days",
]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--practitioners", type=int, default=200)
    p.add_argument("--days", type=int, default=90, help="the calendar's horizon, and the longest search")
    p.add_argument("--locations", type=int, default=10)
    p.add_argument("--bookings", type=int, default=600, help="appointments booked before measuring")
    p.add_argument("--searches", type=int, default=300, help="measured searches (a mix of the kinds)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=1, help="searches in flight")
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--keep-logs", action="store_true")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    a = p.parse_args()
    if not 1 <= a.concurrency <= 64:
        p.error("need 1 <= concurrency <= 64")
    if not (1 <= a.practitioners <= 2000 and 1 <= a.days <= 92 and 1 <= a.locations <= a.practitioners):
        p.error("need 1 <= practitioners <= 2000, 1 <= days <= 92, 1 <= locations <= practitioners")
    return a


class Bench:
    def __init__(self, a: argparse.Namespace, cluster: Cluster, secret: str) -> None:
        self.a, self.cluster = a, cluster
        self.url = cluster.url("scheduling")
        self.rng = random.Random(a.seed)
        self.token = mint("bench-coordinator", ["coordinator"], secret, ttl=timedelta(hours=2))
        self.today = datetime.now(UTC).date()
        self.locations: list[dict] = []
        self.services: list[dict] = []
        self.practitioners: list[tuple[str, dict, TemplateSpec]] = []  # id, location, template
        self.covered: list[str] = []
        self.late_covered: list[str] = []

    async def post(self, client: httpx.AsyncClient, path: str, body: dict, ok=(201,)) -> dict:
        r = await client.post(self.url + path, json=body)
        if r.status_code not in ok:
            raise RuntimeError(f"POST {path} -> {r.status_code}: {r.text[:300]}")
        return r.json()

    async def build(self, client: httpx.AsyncClient) -> None:
        a, rng = self.a, self.rng
        per_location = -(-a.practitioners // a.locations)
        for i in range(a.locations):
            self.locations.append(
                await self.post(
                    client,
                    "/locations",
                    {
                        "name": f"Clinic {i}",
                        "time_zone": ZONES[i % len(ZONES)],
                        "rooms": [{"id": f"R{r}"} for r in range(per_location)],
                    },
                )
            )
        for code, name, minutes in SERVICES_OFFERED:
            self.services.append(
                await self.post(client, "/service-types", {"code": code, "name": name, "duration_minutes": minutes})
            )
        sem = asyncio.Semaphore(8)

        async def practitioner(i: int) -> None:
            loc = self.locations[i % a.locations]
            offered = [self.services[0]["id"]] + [s["id"] for s in self.services[1:] if rng.random() < 0.5]
            holidays = [{"start_date": str(self.today + timedelta(days=d)), "reason": "holiday"} for d in (20, 55)]
            leave = (
                [
                    {
                        "start_date": str(self.today + timedelta(days=30)),
                        "end_date": str(self.today + timedelta(days=36)),
                        "reason": "leave",
                    }
                ]
                if rng.random() < 0.1
                else []
            )
            part = [
                {
                    "start_date": str(self.today + timedelta(days=rng.randrange(a.days))),
                    "start_time": "13:00",
                    "end_time": "15:00",
                    "reason": "training",
                }
            ]
            body = {
                "service_type_ids": offered,
                "exceptions": holidays + leave + part,
                "buffer_after_minutes": rng.choice([0, 5, 10]),
                "slot_interval_minutes": rng.choice([None, 15]),
                "weekly": [
                    {"day": d, "start": s, "end": e, "room": f"R{i // a.locations}"}
                    for d in ("mon", "tue", "wed", "thu", "fri")
                    for s, e in (("08:00", "12:00"), ("13:00", "17:00"))
                ],
            }
            async with sem:
                pr = await self.post(client, "/practitioners", {"name": f"Dr. Bench {i}"})
                r = await client.put(f"{self.url}/practitioners/{pr['id']}/templates/{loc['id']}", json=body)
                if r.status_code != 201:
                    raise RuntimeError(f"PUT template -> {r.status_code}: {r.text[:300]}")
            spec = TemplateSpec.model_validate({k: v for k, v in r.json().items() if k in TemplateSpec.model_fields})
            self.practitioners.append((pr["id"], loc, spec))

        await asyncio.gather(*(practitioner(i) for i in range(a.practitioners)))

    def derived_slots(self) -> int:
        """How many slots the calendar holds over the horizon (derived here with the same code)."""
        durations = {s["id"]: s["duration_minutes"] for s in self.services}
        total = 0
        for _, loc, spec in self.practitioners:
            tz = ZoneInfo(loc["time_zone"])
            for d in range(self.a.days):
                for sid in spec.service_type_ids:
                    total += sum(1 for _ in day_slots(spec, tz, self.today + timedelta(days=d), durations[sid]))
        return total

    async def book(self, client: httpx.AsyncClient) -> tuple[int, int]:
        a, rng, sem = self.a, self.rng, asyncio.Semaphore(8)
        done = refused = 0

        async def one(i: int) -> None:
            nonlocal done, refused
            pid, _, _ = rng.choice(self.practitioners)
            day = self.today + timedelta(days=1 + int(rng.triangular(0, a.days - 2, 0)))  # more bookings soon
            async with sem:
                r = await client.get(
                    self.url + "/availability",
                    params={  # the day, or the next one open
                        "practitioner_id": pid,
                        "from": str(day),
                        "to": str(day + timedelta(days=6)),
                        "limit": 40,
                    },
                )
                items = r.json()["items"]
                if not items:
                    return
                r = await client.post(
                    self.url + "/appointments",
                    json={
                        "patient_id": f"bench-patient-{i % (a.bookings // 2 or 1)}",
                        "slot_id": rng.choice(items)["slot_id"],
                    },
                )
            done, refused = done + (r.status_code == 201), refused + (r.status_code == 409)

        await asyncio.gather(*(one(i) for i in range(a.bookings)))
        return done, refused

    async def coverages(self) -> None:
        """Coverage reaches scheduling only as insurance's events: publish them as insurance would."""
        ns = self.cluster.namespace
        for i in range(20):
            pid = f"bench-covered-{i}"
            await publish_event(
                AMQP,
                ns,
                CoverageRegistered(
                    coverage_id=f"cov-{i}", patient_id=pid, payer="Bench", period_start=self.today - timedelta(days=30)
                ),
            )
            await publish_event(
                AMQP,
                ns,
                CoverageChanged(
                    coverage_id=f"cov-{i}",
                    patient_id=pid,
                    coverage_version=2,
                    plan_id="bench",
                    status="active",
                    period_start=self.today - timedelta(days=30),
                    service_codes=["99213", "99215"],
                    prior_authorization_codes=[],
                ),
            )
            self.covered.append(pid)
            late = f"bench-late-{i}"
            await publish_event(
                AMQP,
                ns,
                CoverageRegistered(
                    coverage_id=f"late-{i}",
                    patient_id=late,
                    payer="Bench",
                    period_start=self.today + timedelta(days=75),
                ),
            )
            self.late_covered.append(late)

    def query(self, kind: int) -> dict:
        rng, today = self.rng, self.today
        service = rng.choice(self.services)["id"]
        if kind in (0, 1):
            return {"service_type_id": service, "from": str(today), "to": str(today + timedelta(days=13))}
        if kind == 2:
            return {
                "practitioner_id": rng.choice(self.practitioners)[0],
                "from": str(today),
                "to": str(today + timedelta(days=self.a.days - 1)),
                "limit": 50,
            }
        if kind == 3:
            return {
                "location_id": rng.choice(self.locations)["id"],
                "service_type_id": self.services[0]["id"],
                "time_from": "08:00",
                "time_to": "10:00",
                "from": str(today),
                "to": str(today + timedelta(days=29)),
            }
        if kind == 4:
            return {
                "patient_id": rng.choice(self.covered),
                "service_type_id": self.services[0]["id"],
                "from": str(today),
                "to": str(today + timedelta(days=13)),
            }
        return {
            "patient_id": rng.choice(self.late_covered),
            "service_type_id": self.services[0]["id"],
            "from": str(today),
            "to": str(today + timedelta(days=self.a.days - 1)),
        }

    async def measure(self, client: httpx.AsyncClient, n: int) -> dict[int, list[float]]:
        times: dict[int, list[float]] = defaultdict(list)
        jobs = [i % len(KINDS) for i in range(n)]
        self.rng.shuffle(jobs)
        it = iter(jobs)

        async def worker() -> None:
            for kind in it:
                params = self.query(kind)
                if kind == 1:  # the page after a first page
                    first = await client.get(self.url + "/availability", params=params)
                    params |= {"cursor": first.json()["next_cursor"]}
                t0 = time.perf_counter()
                r = await client.get(self.url + "/availability", params=params)
                elapsed = time.perf_counter() - t0
                if r.status_code != 200 or (kind != 5 and not r.json()["items"]):
                    raise RuntimeError(f"search {KINDS[kind]} -> {r.status_code}: {r.text[:300]}")
                times[kind].append(elapsed * 1000)

        await asyncio.gather(*(worker() for _ in range(self.a.concurrency)))
        return times

    async def run(self) -> dict:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {self.token}"}, timeout=60) as client:
            t = time.perf_counter()
            await self.build(client)
            say(
                f"calendar: {len(self.practitioners)} practitioners, {len(self.locations)} locations in "
                f"{len({loc['time_zone'] for loc in self.locations})} zones, in {time.perf_counter() - t:.1f}s"
            )
            slots = self.derived_slots()
            say(f"{slots} slots over {self.a.days} days; booking {self.a.bookings}")
            t = time.perf_counter()
            booked, refused = await self.book(client)
            say(f"booked {booked} ({refused} refused as taken) in {time.perf_counter() - t:.1f}s")
            await self.coverages()
            await asyncio.sleep(2)  # let scheduling consume the coverage events
            await self.measure(client, self.a.warmup)
            say(f"measuring {self.a.searches} searches at concurrency {self.a.concurrency}")
            t = time.perf_counter()
            times = await self.measure(client, self.a.searches)
            wall = time.perf_counter() - t
        return {"slots": slots, "booked": booked, "times": times, "wall": wall}


def report(a: argparse.Namespace, result: dict) -> str:
    every = [x for v in result["times"].values() for x in v]
    lines = [
        f"availability search: {a.practitioners} practitioners, {a.days} days, {result['slots']} derived slots, "
        f"{result['booked']} booked; {len(every)} searches at concurrency {a.concurrency}",
        f"  {'all searches':<44} p50 {percentile(every, 50):7.1f} ms   p99 {percentile(every, 99):7.1f} ms   "
        f"({len(every) / result['wall']:.1f} searches/s)",
    ]
    for k, name in enumerate(KINDS):
        v = result["times"].get(k, [])
        if v:
            lines.append(
                f"  {name:<44} p50 {percentile(v, 50):7.1f} ms   p99 {percentile(v, 99):7.1f} ms   (n={len(v)})"
            )
    return "\n".join(lines)


def json_report(a: argparse.Namespace, result: dict) -> str:
    every = [x for v in result["times"].values() for x in v]

    def figures(v: list[float]) -> dict:
        return {"n": len(v), "p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99), "max_ms": max(v, default=None)}

    return json.dumps(
        {
            "practitioners": a.practitioners,
            "days": a.days,
            "locations": a.locations,
            "concurrency": a.concurrency,
            "slots": result["slots"],
            "booked": result["booked"],
            "searches_per_s": len(every) / result["wall"],
            "all": figures(every),
            "kinds": {name: figures(result["times"].get(k, [])) for k, name in enumerate(KINDS)},
        },
        indent=2,
    )


def main() -> int:
    a = parse_args()
    run_id = uuid.uuid4().hex
    short = run_id[:8]
    log_dir = Path(tempfile.mkdtemp(prefix=f"caremesh-bench-avail-{short}-"))
    secret = f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    cluster = Cluster(
        namespace=f"bench-avail-{run_id}",
        db_suffix=f"_bench_avail_{short}",
        port_offset=PORT_OFFSET,
        log_dir=log_dir,
        extra_env={
            "SCHEDULING_JWT_SECRET": secret,
            "SCHEDULING_HTTP_HOST": HOST,
            "SCHEDULING_AMQP_URL": AMQP,
            "SCHEDULING_MONGODB_URL": mongo_url("scheduling"),
        },
    )
    port = SERVICES["scheduling"] + PORT_OFFSET
    with socket.socket() as probe:
        if probe.connect_ex((HOST, port)) == 0:
            say(f"port {port} is in use")
            return 1
    result, failure = None, None
    try:
        cluster.start("scheduling")
        cluster.wait_ready("scheduling")
        say(f"scheduling ready at {cluster.url('scheduling')} (namespace {cluster.namespace})")
        result = asyncio.run(Bench(a, cluster, secret).run())
    except BaseException as exc:  # noqa: BLE001 - reported after cleanup (incl. Ctrl-C)
        failure = exc
    finally:
        cluster.down()
        asyncio.run(delete_namespace(cluster.namespace))
        with MongoClient(mongo_url("scheduling"), serverSelectionTimeoutMS=5000) as mongo:
            mongo.drop_database(f"caremesh_scheduling{cluster.db_suffix}")
        say(f"cleanup: process stopped, namespace and database caremesh_scheduling{cluster.db_suffix} removed")
        if failure is None and not a.keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            say(f"service log kept in {log_dir}")
    if failure is not None:
        say(f"FAILED: {type(failure).__name__}: {failure}")
        return 130 if isinstance(failure, KeyboardInterrupt) else 1
    print(json_report(a, result) if a.json else report(a, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
