"""Benchmark: FHIR Bundle import into records, in resources per second.

Run with ``uv run python bench/fhir_import.py [--copies 3] [--concurrency 2] [--json]``; see
bench/README.md. It starts records alone as its own process (namespace ``bench-fhir-<uuid>``, port
8212), imports copies of the six Synthea fixtures (each copy a new patient) three ways, and removes
everything it created afterwards:

- ``POST /fhir``, first import: every bundle into an empty store, ``--concurrency`` at a time;
- ``POST /fhir`` again with the same bundles: the re-import, which writes nothing;
- ``POST /imports``, the same number of bundles in one bulk request into another empty store (a
  second records process and database), timed until ``GET /imports/{id}`` says done.

Resources per second count every entry of the bundles (skipped types too, as they are read and
reported); records per second count what was written (patients, history entries, encounters).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from booking.cleanup import kill_leftovers, sweep_broker
from booking.common import AMQP_URL, HOST, mongo_url, say
from caremesh_kit.auth import mint
from caremesh_kit.devcluster import Cluster
from caremesh_kit.fixtures import fixtures_dir
from pymongo import MongoClient

PORT_OFFSET = 210  # records on 8212: clear of the booking bench (8201-8204) and e2e (8301-8304)
PORT = 8002 + PORT_OFFSET
FIXTURES = fixtures_dir() / "fhir" / "synthea"
NAMES = [f"patient-0{i}.json" for i in range(1, 7)]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--copies", type=int, default=3, help="copies of the six fixtures per phase; default 3")
    p.add_argument("--concurrency", type=int, default=2, help="POST /fhir requests in flight; default 2")
    p.add_argument("--timeout", type=float, default=900, help="seconds each phase may take")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    a = p.parse_args()
    if not (1 <= a.copies <= 200 and 1 <= a.concurrency <= 32):
        p.error("need 1 <= copies <= 200 and 1 <= concurrency <= 32")
    return a


def copies(originals: dict[str, str], n: int, tag: str) -> list[dict[str, Any]]:
    """``n`` copies of each fixture, each a patient of its own: the patient's id and identifier
    values (and so every reference to it) replaced, and the family name made distinct."""
    out = []
    for k in range(n):
        for text in originals.values():
            patient = _patient(json.loads(text))
            for old in {patient["id"], *(i["value"] for i in patient.get("identifier", []))}:
                text = text.replace(old, str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}/{k}/{old}")))
            copy = json.loads(text)
            p = _patient(copy)
            p["name"][0]["family"] = f"{p['name'][0]['family']}-{tag}{k}"
            out.append(copy)
    return out


def _patient(raw: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in raw["entry"] if e["resource"]["resourceType"] == "Patient")


async def post_all(client: httpx.AsyncClient, bundles: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    bodies = [json.dumps(b).encode() for b in bundles]
    it = iter(bodies)
    written = failed = 0

    async def worker() -> None:
        nonlocal written, failed
        for body in it:
            r = await client.post("/fhir", content=body, headers={"Content-Type": "application/fhir+json"})
            if r.status_code != 200:
                failed += 1
                say(f"POST /fhir answered {r.status_code}")
                continue
            written += r.json()["totals"]["imported"]

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(bodies)))))
    return {"seconds": time.perf_counter() - started, "written": written, "failed": failed}


async def bulk(client: httpx.AsyncClient, bundles: list[dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    r = await client.post("/imports", json=bundles)
    r.raise_for_status()
    job = r.json()["id"]
    while True:
        s = (await client.get(f"/imports/{job}", params={"limit": 0})).json()
        if s["status"] == "completed":
            break
        await asyncio.sleep(0.5)
    return {"seconds": time.perf_counter() - started, "written": s["totals"]["imported"],
            "failed": len(s["failed_bundles"])}


async def sync_phases(a: argparse.Namespace, client: httpx.AsyncClient, bundles: list[dict[str, Any]]
                      ) -> dict[str, Any]:
    say(f"first import: {len(bundles)} bundles, concurrency {a.concurrency}")
    first = await asyncio.wait_for(post_all(client, bundles, a.concurrency), a.timeout)
    say("re-import of the same bundles")
    again = await asyncio.wait_for(post_all(client, bundles, a.concurrency), a.timeout)
    return {"first import (POST /fhir)": first, "re-import (POST /fhir)": again}


async def bulk_phase(a: argparse.Namespace, client: httpx.AsyncClient, bundles: list[dict[str, Any]]
                     ) -> dict[str, Any]:
    say(f"bulk import: {len(bundles)} bundles in one POST /imports")
    return {"bulk import (POST /imports)": await asyncio.wait_for(bulk(client, bundles), a.timeout)}


async def measure(a: argparse.Namespace, phase: Any, token: str, originals: dict[str, str], tag: str
                  ) -> dict[str, Any]:
    bundles = copies(originals, a.copies, tag)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{PORT}", timeout=300,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        say("warm-up: one bundle, not measured")
        await post_all(client, copies({NAMES[0]: originals[NAMES[0]]}, 1, f"w{tag}"), 1)
        phases = await phase(a, client, bundles)
    resources = sum(len(b["entry"]) for b in bundles)
    for p in phases.values():
        p["resources"] = resources
        p["resources_per_s"] = resources / p["seconds"]
        p["records_per_s"] = p["written"] / p["seconds"]
    return phases


def report(a: argparse.Namespace, phases: dict[str, Any]) -> str:
    w = 30
    lines = ["", f"FHIR import benchmark: {a.copies} copies x 6 Synthea bundles per phase, "
                 f"{next(iter(phases.values()))['resources']} resources; POST /fhir concurrency {a.concurrency}", "",
             f"{'':<{w}}{'seconds':>10}{'resources/s':>14}{'written':>10}{'records/s':>12}{'failed':>8}"]
    for name, p in phases.items():
        lines.append(f"{name:<{w}}{p['seconds']:>10.1f}{p['resources_per_s']:>14.1f}{p['written']:>10}"
                     f"{p['records_per_s']:>12.1f}{p['failed']:>8}")
    lines += ["", "resources/s: every entry of the bundles (skipped types included); records/s: what was written",
              "(patients, history entries, encounters). The re-import writes nothing: all already imported.", ""]
    return "\n".join(lines)


def main() -> int:
    a = parse_args()
    missing = [n for n in NAMES if not (FIXTURES / n).is_file()]
    if missing:
        say(f"FAILED: Synthea fixtures missing from {FIXTURES}: {', '.join(missing)}")
        return 1
    originals = {n: (FIXTURES / n).read_text() for n in NAMES}
    run_id = uuid.uuid4().hex
    namespace, db_suffix = f"bench-fhir-{run_id}", f"_benchfhir_{run_id[:8]}"
    secret = f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    log_dir = Path(tempfile.mkdtemp(prefix=f"caremesh-bench-fhir-{run_id[:8]}-"))
    env = {"RECORDS_JWT_SECRET": secret, "RECORDS_AMQP_URL": AMQP_URL, "RECORDS_MONGODB_URL": mongo_url("records"),
           "RECORDS_HTTP_HOST": HOST}
    token = mint("bench", ["coordinator"], secret)
    phases: dict[str, Any] = {}
    databases: list[str] = []
    failure: BaseException | None = None
    try:
        # Each way into an empty store of its own, so neither pays for the other's data.
        for n, phase in enumerate((sync_phases, bulk_phase)):
            with socket.socket() as probe:
                if probe.connect_ex((HOST, PORT)) == 0:
                    raise RuntimeError(f"port {PORT} is already in use")
            cluster = Cluster(namespace=namespace, db_suffix=f"{db_suffix}_{n}", port_offset=PORT_OFFSET,
                              log_dir=log_dir, extra_env=env)
            databases.append(f"caremesh_records{db_suffix}_{n}")
            try:
                cluster.start("records")
                cluster.wait_ready("records")
                say(f"records ready at {cluster.url('records')} (namespace {namespace}, database {databases[-1]})")
                phases |= asyncio.run(measure(a, phase, token, originals, f"{n}{run_id[:6]}"))
            finally:
                cluster.down()
                kill_leftovers(cluster)
    except BaseException as exc:  # noqa: BLE001 - reported after cleanup (incl. Ctrl-C)
        failure = exc
    finally:
        broker = sweep_broker(namespace)
        with MongoClient(mongo_url("records"), serverSelectionTimeoutMS=5000) as mongo:
            for db in databases:
                mongo.drop_database(db)
        say(f"cleanup: {broker['queues_deleted']} queue(s), {broker['exchanges_deleted']} exchange(s) deleted, "
            f"database(s) {', '.join(databases) or 'none'} dropped; left: {broker['left'] or 'nothing'}")
        if failure is None:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            say(f"service log kept in {log_dir}")
    if failure is not None:
        if isinstance(failure, KeyboardInterrupt):
            return 130
        say(f"FAILED: {type(failure).__name__}: {failure}")
        return 1
    print(json.dumps({"copies": a.copies, "concurrency": a.concurrency, "phases": phases}, indent=2) if a.json
          else report(a, phases))
    return 2 if any(p["failed"] for p in phases.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
