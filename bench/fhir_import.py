"""Benchmark: FHIR Bundle import into records, in resources per second.

Run with ``uv run python bench/fhir_import.py [--copies 3] [--concurrency 2] [--json]``; see
bench/README.md. It starts records alone as its own process (namespace ``bench-fhir-<uuid>``, port
8212), imports copies of the six Synthea fixtures (each copy a new patient) three ways, and removes
everything it created afterwards:

- ``POST /fhir``, first import: every bundle into an empty store, ``--concurrency`` at a time;
- ``POST /fhir`` again with the same bundles: the re-import, which writes nothing;
- ``POST /imports``, the same number of bundles in one bulk request into another empty store (a
  second records process and database), timed until ``GET /imports/{id}`` says done (``--no-bulk``
  skips it);
- ``POST /fhir`` into a filled store (``--fill N``, a third records process and database): after the
  warm-up bundle, what it wrote is copied (as other patients) until ``health_history`` holds about
  ``N`` entries and every other collection it wrote grows in proportion; then fresh bundles are
  imported as in the first import. The report gives empty and filled resources/s and their ratio.

Resources per second count every entry of the bundles (skipped types too, as they are read and
reported); records per second count what was written (patients, history entries, encounters).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
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
from booking.common import AMQP_URL, HOST, async_mongo, mongo_url, say
from bson import ObjectId
from pymongo import MongoClient

from caremesh_kit.auth import mint
from caremesh_kit.devcluster import Cluster
from caremesh_testing.fixtures import fixtures_dir

PORT_OFFSET = 210  # records on 8212: clear of the booking bench (8201-8204) and e2e (8301-8304)
PORT = 8002 + PORT_OFFSET
FIXTURES = fixtures_dir() / "fhir" / "synthea"
NAMES = [f"patient-0{i}.json" for i in range(1, 7)]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--copies", type=int, default=3, help="copies of the six fixtures per phase; default 3")
    p.add_argument("--concurrency", type=int, default=2, help="POST /fhir requests in flight; default 2")
    p.add_argument("--timeout", type=float, default=900, help="seconds each phase may take")
    p.add_argument(
        "--fill",
        type=int,
        default=10000,
        help="health history entries (about) pre-inserted for the filled-store pass, the other "
        "collections in proportion; 0 skips the pass; default 10000",
    )
    p.add_argument(
        "--fill-commits",
        action="store_true",
        help="also fill the commit logs (by default they are not: done commits are pruned after 10 min)",
    )
    p.add_argument("--no-bulk", action="store_true", help="skip the bulk import (POST /imports) pass")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    a = p.parse_args()
    if not (1 <= a.copies <= 200 and 1 <= a.concurrency <= 32 and 0 <= a.fill <= 2_000_000):
        p.error("need 1 <= copies <= 200, 1 <= concurrency <= 32 and 0 <= fill <= 2000000")
    return a


FIRST, FILLED = "first import (POST /fhir)", "first import, filled store (POST /fhir)"
PG_URL = "postgresql://caremesh:caremesh@127.0.0.1:5433/caremesh_records"  # FerretDB's: database = schema


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
    return {
        "seconds": time.perf_counter() - started,
        "written": s["totals"]["imported"],
        "failed": len(s["failed_bundles"]),
    }


async def sync_phases(
    a: argparse.Namespace, client: httpx.AsyncClient, bundles: list[dict[str, Any]]
) -> dict[str, Any]:
    say(f"first import: {len(bundles)} bundles, concurrency {a.concurrency}")
    first = await asyncio.wait_for(post_all(client, bundles, a.concurrency), a.timeout)
    say("re-import of the same bundles")
    again = await asyncio.wait_for(post_all(client, bundles, a.concurrency), a.timeout)
    return {"first import (POST /fhir)": first, "re-import (POST /fhir)": again}


async def bulk_phase(a: argparse.Namespace, client: httpx.AsyncClient, bundles: list[dict[str, Any]]) -> dict[str, Any]:
    say(f"bulk import: {len(bundles)} bundles in one POST /imports")
    return {"bulk import (POST /imports)": await asyncio.wait_for(bulk(client, bundles), a.timeout)}


async def filled_phase(
    a: argparse.Namespace, client: httpx.AsyncClient, bundles: list[dict[str, Any]]
) -> dict[str, Any]:
    say(f"first import into the filled store: {len(bundles)} bundles, concurrency {a.concurrency}")
    return {FILLED: await asyncio.wait_for(post_all(client, bundles, a.concurrency), a.timeout)}


async def fill_store(a: argparse.Namespace, database: str, warmup: dict[str, Any]) -> dict[str, Any]:
    """Copy what the warm-up bundle wrote, as other patients, until ``health_history`` holds about
    ``a.fill`` entries; every other collection it wrote (not the commit logs, unless
    ``--fill-commits``) grows in proportion. Then ANALYZE the tables, as autovacuum would."""
    started = time.perf_counter()
    mongo = async_mongo("records", 300_000)
    try:
        db = mongo[database]
        patient = _patient(warmup)
        markers = {patient["id"], *(i["value"] for i in patient.get("identifier", []))}
        markers |= {d["_id"] async for d in db["patients"].find({}, {"_id": 1}) if isinstance(d["_id"], str)}
        pattern = re.compile("|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True)))
        names = [
            n
            for n in await db.list_collection_names()
            if not n.startswith("system.") and (a.fill_commits or not n.endswith(".commits"))
        ]
        originals = {n: await db[n].find({}).to_list() for n in names}
        per_copy = len(originals.get("health_history", []))
        if not per_copy:
            raise RuntimeError("the warm-up bundle wrote no health history entries to copy")
        rounds = math.ceil(a.fill / per_copy)
        say(
            f"filling {database}: {rounds} copies of the warm-up patient's {sum(map(len, originals.values()))} "
            f"documents in {len(names)} collections ({', '.join(sorted(names))})"
        )
        counts: dict[str, int] = {}
        for name, docs in originals.items():
            if not docs:
                continue
            batch: list[dict[str, Any]] = []
            for k in range(rounds):
                for doc in docs:
                    batch.append(_copy(doc, pattern, f"-f{k}"))
                    if len(batch) >= 1000:
                        await db[name].insert_many(batch, ordered=False)
                        batch = []
            if batch:
                await db[name].insert_many(batch, ordered=False)
            counts[name] = rounds * len(docs)
    finally:
        await mongo.close()
    analyzed = await _analyze(database)
    out = {
        "history_entries": rounds * per_copy,
        "documents": sum(counts.values()),
        "by_collection": counts,
        "copies": rounds,
        "commit_logs_filled": a.fill_commits,
        "analyzed": analyzed,
        "seconds": time.perf_counter() - started,
    }
    say(f"filled: {out['documents']} documents in {out['seconds']:.1f} s")
    return out


def _copy(value: Any, pattern: re.Pattern[str], suffix: str, top: bool = True) -> Any:
    """A copy with every marker (the patient's ids and identifiers) suffixed, and a new ``_id``."""
    if isinstance(value, str):
        return pattern.sub(lambda m: m.group(0) + suffix, value)
    if isinstance(value, list):
        return [_copy(v, pattern, suffix, False) for v in value]
    if isinstance(value, dict):
        out = {k: _copy(v, pattern, suffix, False) for k, v in value.items()}
        if top:
            old = value.get("_id")
            new = out.get("_id")
            if isinstance(old, str):
                out["_id"] = new if new != old else old + suffix
            else:
                out["_id"] = ObjectId()
        return out
    return value


async def _analyze(schema: str) -> bool:
    """ANALYZE the store's tables after the bulk fill (FerretDB on PostgreSQL only)."""
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_URL, timeout=5)
    except Exception as exc:  # noqa: BLE001 - not on PostgreSQL: nothing to analyze
        say(f"no ANALYZE ({type(exc).__name__})")
        return False
    try:
        q = '"' + schema.replace('"', '""') + '"'
        for r in await conn.fetch(f"SELECT _jsonb->>'table' AS tbl FROM {q}._ferretdb_database_metadata"):
            await conn.execute(f'ANALYZE {q}."{r["tbl"]}"')
        return True
    finally:
        await conn.close()


async def measure(
    a: argparse.Namespace, phase: Any, token: str, originals: dict[str, str], tag: str, database: str
) -> dict[str, Any]:
    bundles = copies(originals, a.copies, tag)
    async with httpx.AsyncClient(
        base_url=f"http://{HOST}:{PORT}", timeout=300, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        say("warm-up: one bundle, not measured")
        warmup = copies({NAMES[0]: originals[NAMES[0]]}, 1, f"w{tag}")
        await post_all(client, warmup, 1)
        fill = None
        if phase is filled_phase:
            fill = await fill_store(a, database, warmup[0])
        phases = await phase(a, client, bundles)
    if fill is not None:
        phases[FILLED]["fill"] = fill
    resources = sum(len(b["entry"]) for b in bundles)
    for p in phases.values():
        p["resources"] = resources
        p["resources_per_s"] = resources / p["seconds"]
        p["records_per_s"] = p["written"] / p["seconds"]
    return phases


def comparison(phases: dict[str, Any]) -> dict[str, Any] | None:
    """Resources/s of the first import into the empty and into the filled store, and filled / empty."""
    if FIRST not in phases or FILLED not in phases:
        return None
    empty, filled = phases[FIRST]["resources_per_s"], phases[FILLED]["resources_per_s"]
    return {
        "empty_resources_per_s": empty,
        "filled_resources_per_s": filled,
        "filled_over_empty": filled / empty if empty else None,
        "fill_history_entries": phases[FILLED]["fill"]["history_entries"],
        "fill_documents": phases[FILLED]["fill"]["documents"],
    }


def report(a: argparse.Namespace, phases: dict[str, Any]) -> str:
    w = 42
    lines = [
        "",
        f"FHIR import benchmark: {a.copies} copies x 6 Synthea bundles per phase, "
        f"{next(iter(phases.values()))['resources']} resources; POST /fhir concurrency {a.concurrency}",
        "",
        f"{'':<{w}}{'seconds':>10}{'resources/s':>14}{'written':>10}{'records/s':>12}{'failed':>8}",
    ]
    for name, p in phases.items():
        lines.append(
            f"{name:<{w}}{p['seconds']:>10.1f}{p['resources_per_s']:>14.1f}{p['written']:>10}"
            f"{p['records_per_s']:>12.1f}{p['failed']:>8}"
        )
    lines += [
        "",
        "resources/s: every entry of the bundles (skipped types included); records/s: what was written",
        "(patients, history entries, encounters). The re-import writes nothing: all already imported.",
    ]
    if c := comparison(phases):
        f = phases[FILLED]["fill"]
        lines += [
            "",
            f"empty vs filled store: {c['empty_resources_per_s']:.1f} vs {c['filled_resources_per_s']:.1f} "
            f"resources/s, filled / empty = {c['filled_over_empty']:.2f}x",
            f"  filled with {f['documents']:,} documents ({f['history_entries']:,} history entries, "
            f"{f['copies']} copies of the warm-up patient; "
            f"commit logs {'filled' if f['commit_logs_filled'] else 'not filled'}"
            f"{', tables ANALYZEd' if f['analyzed'] else ''}) in {f['seconds']:.1f} s",
        ]
    lines.append("")
    return "\n".join(lines)


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # cleaned up as on Ctrl-C


def main() -> int:
    a = parse_args()
    signal.signal(signal.SIGTERM, _sigterm)
    missing = [n for n in NAMES if not (FIXTURES / n).is_file()]
    if missing:
        say(f"FAILED: Synthea fixtures missing from {FIXTURES}: {', '.join(missing)}")
        return 1
    originals = {n: (FIXTURES / n).read_text() for n in NAMES}
    run_id = uuid.uuid4().hex
    namespace, db_suffix = f"bench-fhir-{run_id}", f"_benchfhir_{run_id[:8]}"
    secret = f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    log_dir = Path(tempfile.mkdtemp(prefix=f"caremesh-bench-fhir-{run_id[:8]}-"))
    env = {
        "RECORDS_JWT_SECRET": secret,
        "RECORDS_AMQP_URL": AMQP_URL,
        "RECORDS_MONGODB_URL": mongo_url("records"),
        "RECORDS_HTTP_HOST": HOST,
    }
    token = mint("bench", ["coordinator"], secret)
    phases: dict[str, Any] = {}
    databases: list[str] = []
    failure: BaseException | None = None
    try:
        # Each way into an empty store of its own, so neither pays for the other's data.
        passes = [sync_phases, *([] if a.no_bulk else [bulk_phase]), *([filled_phase] if a.fill else [])]
        for n, phase in enumerate(passes):
            with socket.socket() as probe:
                if probe.connect_ex((HOST, PORT)) == 0:
                    raise RuntimeError(f"port {PORT} is already in use")
            cluster = Cluster(
                namespace=namespace,
                db_suffix=f"{db_suffix}_{n}",
                port_offset=PORT_OFFSET,
                log_dir=log_dir,
                extra_env=env,
            )
            databases.append(f"caremesh_records{db_suffix}_{n}")
            try:
                cluster.start("records")
                cluster.wait_ready("records")
                say(f"records ready at {cluster.url('records')} (namespace {namespace}, database {databases[-1]})")
                phases |= asyncio.run(measure(a, phase, token, originals, f"{n}{run_id[:6]}", databases[-1]))
            finally:
                cluster.down()
                kill_leftovers(cluster)
    except BaseException as exc:  # noqa: BLE001 - reported after cleanup (incl. Ctrl-C)
        failure = exc
    finally:
        broker = sweep_broker(namespace)
        left = list(broker["left"])
        try:
            with MongoClient(mongo_url("records"), serverSelectionTimeoutMS=5000, socketTimeoutMS=120_000) as mongo:
                for db in databases:
                    mongo.drop_database(db)
                left += [db for db in databases if db in set(mongo.list_database_names())]
        except Exception as exc:  # noqa: BLE001 - reported
            say(f"could not drop the databases: {type(exc).__name__}: {exc}")
            left += databases
        say(
            f"cleanup: {broker['queues_deleted']} queue(s), {broker['exchanges_deleted']} exchange(s) deleted, "
            f"database(s) {', '.join(databases) or 'none'} dropped; left: {left or 'nothing'}"
        )
        if failure is None:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            say(f"service log kept in {log_dir}")
    if failure is not None:
        if isinstance(failure, KeyboardInterrupt):
            return 130
        say(f"FAILED: {type(failure).__name__}: {failure}")
        return 1
    print(
        json.dumps(
            {
                "copies": a.copies,
                "concurrency": a.concurrency,
                "fill": a.fill,
                "phases": phases,
                "empty_vs_filled": comparison(phases),
                "databases_dropped": databases,
                "left": left,
            },
            indent=2,
            default=str,
        )
        if a.json
        else report(a, phases)
    )
    return 2 if left or any(p["failed"] for p in phases.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
