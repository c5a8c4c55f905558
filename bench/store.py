"""Benchmark: the kit's store operations on FerretDB v1 / PostgreSQL, with and without the GIN indexes.

Run with ``uv run python bench/store.py [--sizes 1000,10000,100000] [--quick] [--json]``; see
bench/README.md. It talks to notifications' FerretDB (127.0.0.1:27104, PostgreSQL database
``caremesh_notifications``) directly, in databases of its own, two per size:

- ``bench_store_<hex>_<size>_gin``: ``caremesh_kit.pgindex.Reconciler`` creates the GIN expression
  indexes (``_id`` on every table, and the declared index fields), as a service does;
- ``bench_store_<hex>_<size>_nogin``: the same rows and FerretDB indexes, no reconciler (the
  baseline: every filtered operation scans the table).

Each holds a state collection ``items`` (index on ``patient_id``) and its commit log
``items.commits`` (the kit's ``Repository.indexes``): ``size`` states and as many done commits, plus
``--pending`` pending ones. The largest GIN database is filled through FerretDB (``insert_many``);
the others get a copy of the same rows in PostgreSQL. It then times, one at a time, the operations
the kit's ``Repository`` and outbox relay issue:

insert commit, materialize (``{_id, version $lt}`` replace/upsert), relay mark done
(``{pending: True, _id $in}``), mark done (``{_id}`` update), ``find_one {_id}``, find by
``patient_id``, ``{_id, version $lt}`` read, the relay's ``{pending: True}`` scan, and the prune
(``{done_bucket: minute}`` delete of one expired minute's commits, as each steady-state pass does).

Each operation's samples are taken in ``--rounds`` rounds that visit every database in turn (so a
change in the machine's load falls on all of them alike), at most ``--samples`` samples and
``--op-seconds`` of wall time per operation and database. Every database is dropped at the end,
also after an error, Ctrl-C or SIGTERM. Exit codes: 0 done, 1 an error, 2 a database left behind,
130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import signal
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel, MongoClient

from caremesh_kit.pgindex import METADATA_TABLE, Reconciler
from caremesh_kit.store import Repository, bucket, commit_id

HOST = "127.0.0.1"
MONGO_URL = f"mongodb://{HOST}:27104/"  # notifications' FerretDB
PG_URL = f"postgresql://caremesh:caremesh@{HOST}:5433/caremesh_notifications"
COLL = "items"
RETENTION = timedelta(seconds=600)  # the kit's default
PRUNE_BATCH = 5  # expired commits each prune sample deletes

# (key, label, kind) in the order measured; kind is "lookup", "update" or "background" (for the summary)
OPS: list[tuple[str, str, str]] = [
    ("insert_commit", "insert commit", "update"),
    ("materialize", "materialize {_id, version $lt} upsert", "update"),
    ("relay_mark_done", "relay mark done {pending, _id $in}", "update"),
    ("mark_done", "mark done {_id} update", "update"),
    ("find_id", "find_one {_id}", "lookup"),
    ("find_patient", "find {patient_id}", "lookup"),
    ("find_id_version", "find_one {_id, version $lt}", "lookup"),
    ("relay_pending", "relay scan {pending: True}", "lookup"),
    ("prune", "prune delete {done_bucket: minute}", "background"),
]
LABELS = {k: label for k, label, _ in OPS}


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000,100000", help="documents per collection; default 1000,10000,100000")
    p.add_argument("--samples", type=int, default=200, help="samples per operation, database and size; default 200")
    p.add_argument(
        "--op-seconds",
        type=float,
        default=6.0,
        help="wall-time cap per operation, database and size (at least --min-samples are taken); default 6",
    )
    p.add_argument(
        "--min-samples",
        type=int,
        default=1,
        help="samples taken even past --op-seconds; default 1 (without GIN an operation at 100k takes ~100 ms)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="each operation's samples are taken in this many rounds over all the databases; default 4",
    )
    p.add_argument("--pending", type=int, default=10, help="pending commits among the done ones; default 10")
    p.add_argument("--batch", type=int, default=1000, help="insert_many batch size for the fill; default 1000")
    p.add_argument(
        "--no-analyze",
        action="store_true",
        help="skip ANALYZE of the tables after each fill (autovacuum would do it in time)",
    )
    p.add_argument(
        "--gin-first",
        action="store_true",
        help="create the GIN indexes before the fill, as a service's reconciler does at start, so the "
        "rows wait in GIN's pending list (flushed by autovacuum); default: built after the fill",
    )
    p.add_argument("--quick", action="store_true", help="50 samples and 2 s per operation (sizes unchanged)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    a = p.parse_args()
    try:
        a.sizes = sorted({int(s) for s in a.sizes.split(",") if s.strip()})
    except ValueError:
        p.error("--sizes: comma-separated integers")
    if not a.sizes or a.sizes[0] < 100 or a.sizes[-1] > 1_000_000:
        p.error("need sizes between 100 and 1,000,000")
    if a.quick:
        a.samples, a.op_seconds = min(a.samples, 50), min(a.op_seconds, 2.0)
    if not (
        1 <= a.min_samples <= a.samples <= 10_000
        and 0 < a.op_seconds <= 120
        and 0 <= a.pending <= 1000
        and 1 <= a.rounds <= 50
    ):
        p.error(
            "need 1 <= min-samples <= samples <= 10000, 0 < op-seconds <= 120, 0 <= pending <= 1000, 1 <= rounds <= 50"
        )
    return a


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def agg_id(i: int) -> str:
    return f"agg-{i:07d}"


def state_doc(i: int, version: int) -> dict[str, Any]:
    """A health-history-entry-sized document (~0.5 KB)."""
    return {
        "_id": agg_id(i),
        "version": version,
        "patient_id": f"pat-{i // 5:06d}",
        "kind": "condition",
        "status": "active",
        "code": {
            "system": "http://snomed.info/sct",
            "code": f"{100000 + i % 977}",
            "display": "Bench condition for the store benchmark",
        },
        "recorded_at": datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
        "note": "x" * 200,
        "source": {"bundle": f"bundle-{i // 50}", "resource": f"Condition/{i}"},
    }


def commit_doc(aggregate: str, version: int, state: dict[str, Any], pending: bool, at: datetime) -> dict[str, Any]:
    return {
        "_id": commit_id(aggregate, version),
        "aggregate_id": aggregate,
        "version": version,
        "state": state,
        "outbox": [{"type": "bench.changed", "subject": aggregate}] if pending else [],
        "pending": pending,
        "committed_at": at,
        **({} if pending else {"done_bucket": bucket(at)}),
    }


class Side:
    """One database (a PostgreSQL schema): its collections, its size, what it holds, and its timings."""

    def __init__(self, client: AsyncMongoClient, name: str, gin: bool, size: int) -> None:
        self.name, self.gin, self.size = name, gin, size
        self.db = client[name]
        self.items = self.db[COLL]
        self.commits = self.db[f"{COLL}.commits"]
        self.versions: list[int] = []  # current version of agg i
        self.serial = 0  # unique ids for the commits the operations add
        self.results: dict[str, dict[str, Any]] = {}
        self.samples: dict[str, list[float]] = {}
        self.spent: dict[str, float] = {}  # wall seconds per measured function

    @property
    def label(self) -> str:
        return f"{'GIN' if self.gin else 'no-GIN'} {self.size:,}"

    async def create(self) -> None:
        await self.db.create_collection(COLL)
        await self.db.create_collection(self.commits.name)
        await self.items.create_indexes([IndexModel([("patient_id", ASCENDING)])])
        await self.commits.create_indexes(list(Repository.indexes))

    async def fill(self, batch: int, pending: int, rng: random.Random, now: datetime) -> None:
        """Through FerretDB: ``size`` states and as many done commits, then ``pending`` pending ones."""
        for start in range(0, self.size, batch):
            states, commits = [], []
            for i in range(start, min(self.size, start + batch)):
                version = rng.choice((1, 1, 2, 3))
                state = state_doc(i, version)
                states.append(state)
                # Committed within the retention (before the run's start), so the prune leaves them.
                at = now - timedelta(seconds=rng.uniform(0, RETENTION.total_seconds() / 2))
                commits.append(commit_doc(agg_id(i), version, state, False, at))
                self.versions.append(version)
            await self.items.insert_many(states, ordered=False)
            await self.commits.insert_many(commits, ordered=False)
        if pending:
            await self.commits.insert_many(
                [
                    commit_doc(f"pending-{j}", 1, {"_id": f"pending-{j}", "version": 1}, True, now)
                    for j in range(pending)
                ]
            )

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def tables(conn: Any, schema: str) -> dict[str, str]:
    """FerretDB's table for each collection of a database (its metadata table maps them)."""
    rows = await conn.fetch(
        f"SELECT _jsonb->>'_id' AS coll, _jsonb->>'table' AS tbl FROM {_q(schema)}.{METADATA_TABLE}"
    )
    return {r["coll"]: r["tbl"] for r in rows}


async def copy_subset(conn: Any, source: str, target: Side) -> None:
    """Copy the source's first ``target.size`` aggregates (and the pending commits) into the target's
    tables in PostgreSQL: the same rows FerretDB wrote, without paying for the fill again."""
    src, dst = await tables(conn, source), await tables(conn, target.name)
    bound = agg_id(target.size)
    await conn.execute(
        f"INSERT INTO {_q(target.name)}.{_q(dst[COLL])} (_jsonb) SELECT _jsonb FROM "
        f"{_q(source)}.{_q(src[COLL])} WHERE _jsonb->>'_id' < $1",
        bound,
    )
    commits = f"{COLL}.commits"
    await conn.execute(
        f"INSERT INTO {_q(target.name)}.{_q(dst[commits])} (_jsonb) SELECT _jsonb FROM "
        f"{_q(source)}.{_q(src[commits])} WHERE _jsonb->>'aggregate_id' < $1 "
        f"OR _jsonb->>'aggregate_id' LIKE 'pending-%'",
        bound,
    )


async def analyze(conn: Any, schema: str) -> None:
    """ANALYZE the schema's tables, as autovacuum would after a bulk load (every side alike)."""
    for t in (await tables(conn, schema)).values():
        await conn.execute(f"ANALYZE {_q(schema)}.{_q(t)}")


async def gin_indexes(conn: Any, schema: str) -> list[str]:
    rows = await conn.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1", schema)
    return sorted(r["indexname"] for r in rows if "USING gin" in r["indexdef"])


class Bench:
    def __init__(self, a: argparse.Namespace, client: AsyncMongoClient, run: str) -> None:
        self.a = a
        self.rng = random.Random(a.seed)
        self.sides = [
            Side(client, f"bench_store_{run}_{n}_{'gin' if gin else 'nogin'}", gin, n)
            for n in a.sizes
            for gin in (True, False)
        ]
        self.fill_seconds = 0.0
        self.gin: dict[str, list[str]] = {}
        self.plans: dict[str, dict[str, str]] = {}
        # One clock for the run: the fill's commits are younger than the retention at ``started``, the
        # prune's cutoff is ``started - RETENTION`` however long the run takes.
        self.started = datetime.now(UTC)

    def side(self, size: int, gin: bool) -> Side:
        return next(s for s in self.sides if s.size == size and s.gin == gin)

    async def reconcile(self, side: Side) -> None:
        reconciler = Reconciler(PG_URL, side.name)
        reconciler.declare(
            {COLL: [IndexModel([("patient_id", ASCENDING)])], f"{COLL}.commits": list(Repository.indexes)}
        )
        await reconciler.run_once()
        if not reconciler.enabled:
            raise RuntimeError("the reconciler could not reach PostgreSQL at " + PG_URL)

    async def prepare(self) -> None:
        """Fill the largest GIN-side database through FerretDB, copy its rows into the others in
        PostgreSQL, then reconcile the GIN indexes on the GIN side (before the fill with
        ``--gin-first``) and ANALYZE everything."""
        import asyncpg

        a = self.a
        for side in self.sides:
            await side.create()
            if side.gin and a.gin_first:
                await self.reconcile(side)
        master = self.side(a.sizes[-1], True)
        t = time.perf_counter()
        await master.fill(a.batch, a.pending, self.rng, self.started)
        say(
            f"{master.name}: {master.size:,} states and {master.size + a.pending:,} commits inserted through "
            f"FerretDB in {time.perf_counter() - t:.1f} s"
        )
        conn = await asyncpg.connect(PG_URL, timeout=10)
        try:
            for side in self.sides:
                if side is not master:
                    await copy_subset(conn, master.name, side)
                side.versions = list(master.versions[: side.size])
            for side in self.sides:
                if side.gin and not a.gin_first:
                    await self.reconcile(side)
                if not a.no_analyze:
                    await analyze(conn, side.name)
                self.gin[side.name] = await gin_indexes(conn, side.name)
                if bool(self.gin[side.name]) != side.gin:
                    raise RuntimeError(
                        f"{side.name} has GIN indexes {self.gin[side.name]}, expected {'some' if side.gin else 'none'}"
                    )
                # Counted in PostgreSQL: a count through FerretDB v1 decodes every document.
                t_ = await tables(conn, side.name)
                states = await conn.fetchval(f"SELECT count(*) FROM {_q(side.name)}.{_q(t_[COLL])}")
                commits = await conn.fetchval(f"SELECT count(*) FROM {_q(side.name)}.{_q(t_[COLL + '.commits'])}")
                if (states, commits) != (side.size, side.size + a.pending):
                    raise RuntimeError(
                        f"{side.name}: {states} states and {commits} commits, expected "
                        f"{side.size} and {side.size + a.pending}"
                    )
        finally:
            await conn.close()
        self.fill_seconds = time.perf_counter() - t
        say(
            f"{len(self.sides)} databases ready in {self.fill_seconds:.1f} s; GIN indexes per GIN database: "
            f"{len(self.gin[master.name])}"
        )

    def operations(self, side: Side) -> list[tuple[Any, int]]:
        """The measured functions for one side, each returning {op key: elapsed seconds}, and how many
        operations one call times."""
        rng, pc, size = self.rng, time.perf_counter, side.size
        items, commits = side.items, side.commits

        async def chain() -> dict[str, float]:
            """A save, as Repository._commit and the relay do it: commit, materialize, mark done."""
            i = rng.randrange(size)
            version = side.versions[i] + 1
            state = state_doc(i, version)
            commit = commit_doc(agg_id(i), version, state, True, datetime.now(UTC))
            t0 = pc()
            await commits.insert_one(commit)
            t1 = pc()
            await items.replace_one({"_id": state["_id"], "version": {"$lt": version}}, state, upsert=True)
            t2 = pc()
            r = await commits.update_many(
                {"pending": True, "_id": {"$in": [commit["_id"]]}}, {"$set": {"pending": False, "outbox": []}}
            )
            t3 = pc()
            if r.modified_count != 1:
                raise RuntimeError(f"relay mark done modified {r.modified_count}")
            side.versions[i] = version
            return {"insert_commit": t1 - t0, "materialize": t2 - t1, "relay_mark_done": t3 - t2}

        async def mark_done() -> dict[str, float]:
            j = side.next_serial()
            doc = commit_doc(f"mark-{j}", 1, {"_id": f"mark-{j}", "version": 1}, True, datetime.now(UTC))
            await commits.insert_one(doc)  # not timed
            t0 = pc()
            r = await commits.update_one({"_id": doc["_id"]}, {"$set": {"pending": False, "outbox": []}})
            elapsed = pc() - t0
            if r.modified_count != 1:
                raise RuntimeError(f"mark done modified {r.modified_count}")
            return {"mark_done": elapsed}

        async def find_id() -> dict[str, float]:
            i = rng.randrange(size)
            t0 = pc()
            doc = await items.find_one({"_id": agg_id(i)})
            elapsed = pc() - t0
            if doc is None:
                raise RuntimeError(f"{agg_id(i)} not found")
            return {"find_id": elapsed}

        async def find_patient() -> dict[str, float]:
            p = f"pat-{rng.randrange(size // 5):06d}"
            t0 = pc()
            docs = await items.find({"patient_id": p}).to_list()
            elapsed = pc() - t0
            if len(docs) != 5:
                raise RuntimeError(f"patient {p}: {len(docs)} documents, not 5")
            return {"find_patient": elapsed}

        async def find_id_version() -> dict[str, float]:
            i = rng.randrange(size)
            t0 = pc()
            doc = await items.find_one({"_id": agg_id(i), "version": {"$lt": side.versions[i] + 1}})
            elapsed = pc() - t0
            if doc is None:
                raise RuntimeError(f"{agg_id(i)} not found by version")
            return {"find_id_version": elapsed}

        async def relay_pending() -> dict[str, float]:
            t0 = pc()
            docs = await commits.find({"pending": True}).to_list()
            elapsed = pc() - t0
            if len(docs) != self.a.pending:
                raise RuntimeError(f"{len(docs)} pending commits, not {self.a.pending}")
            return {"relay_pending": elapsed}

        async def prune() -> dict[str, float]:
            cutoff = self.started - RETENTION
            j = side.next_serial()
            old = cutoff - timedelta(minutes=5 + j)  # a minute of its own: what one steady-state pass deletes
            await commits.insert_many(
                [
                    commit_doc(f"old-{j}-{k}", 1, {"_id": f"old-{j}-{k}", "version": 1}, False, old)
                    for k in range(PRUNE_BATCH)
                ]
            )  # not timed
            t0 = pc()
            r = await commits.delete_many({"done_bucket": bucket(old)})  # as Repository.prune after its first pass
            elapsed = pc() - t0
            if r.deleted_count != PRUNE_BATCH:
                raise RuntimeError(f"prune deleted {r.deleted_count}, not {PRUNE_BATCH}")
            return {"prune": elapsed}

        return [
            (chain, 3),
            (mark_done, 1),
            (find_id, 1),
            (find_patient, 1),
            (find_id_version, 1),
            (relay_pending, 1),
            (prune, 1),
        ]

    async def measure(self) -> None:
        """Each operation in ``--rounds`` rounds, every round visiting every database in turn, so a
        change in the machine's load falls on every size and both sides alike."""
        a = self.a
        per_side = {s.name: self.operations(s) for s in self.sides}
        for index in range(len(per_side[self.sides[0].name])):
            t = time.perf_counter()
            name = per_side[self.sides[0].name][index][0].__name__
            for r in range(a.rounds):
                for side in self.sides:
                    one, steps = per_side[side.name][index]
                    await self._round(side, one, steps, r)
            say(
                f"  {name}: {time.perf_counter() - t:.1f} s ("
                + ", ".join(f"{s.label} n={len(s.samples.get(_first_key(name), []))}" for s in self.sides)
                + ")"
            )
        for side in self.sides:
            for key, ms in side.samples.items():
                side.results[key] = {
                    "n": len(ms),
                    "median_ms": statistics.median(ms),
                    "p99_ms": percentile(ms, 99),
                    "mean_ms": statistics.fmean(ms),
                }

    async def _round(self, side: Side, one: Any, steps: int, r: int) -> None:
        """Round ``r`` of one measured function on one side: up to its share of ``--samples`` within its
        share of ``--op-seconds`` (both per timed operation), and none once the side has
        ``--min-samples`` and has used its whole time. Round 0 starts with a warm-up call, kept as a
        sample only if it was slow anyway (then a warm cache makes no difference)."""
        a = self.a
        name = one.__name__
        budget = a.op_seconds * steps
        if r == 0:
            t0 = time.perf_counter()
            warm = await one()
            took = time.perf_counter() - t0
            side.spent[name] = took
            if took > a.op_seconds / 10:
                self._keep(side, warm)
        done = len(side.samples.get(_first_key(name), []))
        if done >= a.min_samples and side.spent[name] >= budget:
            return
        target = min(a.samples, math.ceil(a.samples * (r + 1) / a.rounds))
        deadline = time.monotonic() + budget / a.rounds
        while done < target and (done < a.min_samples or time.monotonic() < deadline):
            t0 = time.perf_counter()
            self._keep(side, await one())
            side.spent[name] += time.perf_counter() - t0
            done += 1

    @staticmethod
    def _keep(side: Side, timings: dict[str, float]) -> None:
        for key, seconds in timings.items():
            side.samples.setdefault(key, []).append(seconds * 1000)

    async def explain(self, side: Side) -> dict[str, str]:
        """Which PostgreSQL plan FerretDB runs for each filter (GIN index name or a scan)."""
        filters = {
            "find_id": (COLL, {"_id": agg_id(0)}),
            "find_patient": (COLL, {"patient_id": "pat-000000"}),
            "find_id_version": (COLL, {"_id": agg_id(0), "version": {"$lt": 2}}),
            "relay_pending": (f"{COLL}.commits", {"pending": True}),
            "prune": (f"{COLL}.commits", {"done_bucket": bucket(self.started - RETENTION - timedelta(minutes=6))}),
        }
        out = {}
        for key, (coll, flt) in filters.items():
            try:
                e = await side.db.command("explain", {"find": coll, "filter": flt})
                out[key] = _plan_summary(e.get("queryPlanner", {}))
            except Exception as exc:  # noqa: BLE001 - informational only
                out[key] = f"explain failed: {type(exc).__name__}"
        return out

    async def run(self) -> None:
        await self.prepare()
        await self.measure()
        for gin in (True, False):
            side = self.side(self.a.sizes[-1], gin)
            self.plans["gin" if gin else "nogin"] = await self.explain(side)

    def summary(self, cleanup: dict[str, Any]) -> dict[str, Any]:
        sizes = self.a.sizes
        lo, hi = sizes[0], sizes[-1]
        ops: dict[str, Any] = {}
        for key, label, kind in OPS:
            g = {n: self.side(n, True).results.get(key, {}) for n in sizes}
            b = {n: self.side(n, False).results.get(key, {}) for n in sizes}
            ops[key] = {
                "label": label,
                "kind": kind,
                "gin": {str(n): v for n, v in g.items() if v},
                "nogin": {str(n): v for n, v in b.items() if v},
                "nogin_over_gin": {str(n): _ratio(b[n].get("median_ms"), g[n].get("median_ms")) for n in sizes},
                "flatness_gin": _ratio(g[hi].get("median_ms"), g[lo].get("median_ms")),
                "flatness_nogin": _ratio(b[hi].get("median_ms"), b[lo].get("median_ms")),
                "plan_gin": self.plans.get("gin", {}).get(key),
                "plan_nogin": self.plans.get("nogin", {}).get(key),
            }
        flat = [ops[k]["flatness_gin"] for k, _, kind in OPS if kind != "background" and ops[k]["flatness_gin"]]
        return {
            "sizes": sizes,
            "samples": self.a.samples,
            "op_seconds": self.a.op_seconds,
            "rounds": self.a.rounds,
            "pending": self.a.pending,
            "analyzed": not self.a.no_analyze,
            "gin_first": self.a.gin_first,
            "databases": [s.name for s in self.sides],
            "prepare_seconds": self.fill_seconds,
            "gin_indexes": self.gin,
            "ops": ops,
            "flatness": {"from": lo, "to": hi, "worst_lookup_or_update_gin": max(flat, default=None), "target": 2.0},
            "cleanup": cleanup,
        }


def _first_key(name: str) -> str:
    return {"chain": "insert_commit"}.get(name, name)


def _ratio(x: float | None, y: float | None) -> float | None:
    return x / y if (x is not None and y) else None


def _plan_summary(planner: dict[str, Any]) -> str:
    """The scan nodes of a PostgreSQL JSON plan: 'Bitmap Index Scan on <index>' or 'Seq Scan'."""
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        t = node.get("Node Type", "")
        if "Scan" in t and t != "Bitmap Heap Scan":
            found.append(f"{t} on {node['Index Name']}" if node.get("Index Name") else t)
        for child in node.get("Plans", []) or []:
            walk(child)

    walk(planner.get("Plan", planner))
    return ", ".join(found) or "?"


def fmt(x: float | None, nd: int = 2, suffix: str = "") -> str:
    return "-" if x is None else f"{x:,.{nd}f}{suffix}"


def report(s: dict[str, Any]) -> str:
    sizes = s["sizes"]
    w = 48
    n_gin = max((len(v) for v in s["gin_indexes"].values()), default=0)
    lines = [
        "",
        f"Store benchmark: FerretDB v1 on PostgreSQL (notifications' FerretDB, 127.0.0.1:27104); up to "
        f"{s['samples']} samples / {s['op_seconds']} s per operation, database and size, in {s['rounds']} "
        f"rounds; {s['pending']} pending commits among the done ones",
        f"GIN: {n_gin} GIN expression indexes per database (caremesh_kit.pgindex.Reconciler); no-GIN: none. "
        "GIN indexes "
        f"{'created before the fill (rows in the pending list)' if s.get('gin_first') else 'built after the fill'}; "
        f"tables {'ANALYZEd' if s['analyzed'] else 'not analyzed'} after it.",
        "",
        "median (p99) ms per operation, n = samples:",
        "",
    ]
    head = f"{'operation':<{w}}{'':<7}" + "".join(f"{f'{n:,} docs':>28}" for n in sizes)
    lines += [head, "-" * len(head)]
    for op in s["ops"].values():
        for side, name in (("gin", "GIN"), ("nogin", "no-GIN")):
            cells = []
            for n in sizes:
                v = op[side].get(str(n))
                cells.append(
                    f"{fmt(v['median_ms']) + ' (' + fmt(v['p99_ms'], 1) + ') n=' + str(v['n']) if v else '-':>28}"
                )
            lines.append(f"{op['label'] if side == 'gin' else '':<{w}}{name:<7}" + "".join(cells))
    lines += [
        "",
        f"ratios (medians): speed-up = no-GIN / GIN at each size; flatness = {sizes[-1]:,} / {sizes[0]:,} "
        "docs (target <= 2x for lookups and updates)",
        "",
    ]
    head = (
        f"{'operation':<{w}}"
        + "".join(f"{f'speed-up {n:,}':>17}" for n in sizes)
        + f"{'flat GIN':>10}{'flat no-GIN':>13}{'  met?':>7}"
    )
    lines += [head, "-" * len(head)]
    for op in s["ops"].values():
        f = op["flatness_gin"]
        met = "-" if op["kind"] == "background" or f is None else ("yes" if f <= 2.0 else "NO")
        lines.append(
            f"{op['label']:<{w}}"
            + "".join(f"{fmt(op['nogin_over_gin'].get(str(n)), 1, 'x'):>17}" for n in sizes)
            + f"{fmt(f, 2, 'x'):>10}{fmt(op['flatness_nogin'], 1, 'x'):>13}{met:>7}"
        )
    worst = s["flatness"]["worst_lookup_or_update_gin"]
    lines += [
        "",
        f"worst lookup/update flatness with GIN: {fmt(worst, 2, 'x')} (target <= 2x: "
        f"{'met' if worst is not None and worst <= 2 else 'NOT met'})",
        "",
        f"PostgreSQL plans at {sizes[-1]:,} docs (FerretDB explain):",
    ]
    for op in s["ops"].values():
        if op["plan_gin"]:
            lines.append(f"  {op['label']:<{w - 2}} GIN: {op['plan_gin']}; no-GIN: {op['plan_nogin']}")
    c = s["cleanup"]
    lines += [
        "",
        f"cleanup: dropped {', '.join(c['dropped']) or 'nothing'}; left: {', '.join(c['left']) or 'nothing'}",
        "",
    ]
    return "\n".join(lines)


def drop(names: list[str]) -> dict[str, Any]:
    """Drop the run's databases. After an interruption a write still in flight in FerretDB may create
    a database again just after its drop, so this checks and drops again a few times."""
    out: dict[str, Any] = {"dropped": [], "left": list(names)}
    try:
        with MongoClient(MONGO_URL, serverSelectionTimeoutMS=5000, socketTimeoutMS=120_000) as mongo:
            for attempt in range(5):
                for name in out["left"]:
                    mongo.drop_database(name)
                if attempt:
                    time.sleep(1.0)
                present = set(mongo.list_database_names())
                out["left"] = [n for n in names if n in present]
                if not out["left"]:
                    time.sleep(0.5)  # once more, for a late write
                    present = set(mongo.list_database_names())
                    out["left"] = [n for n in names if n in present]
                    if not out["left"]:
                        break
    except Exception as exc:  # noqa: BLE001 - reported
        say(f"could not drop {names}: {type(exc).__name__}: {exc}")
    out["dropped"] = [n for n in names if n not in out["left"]]
    return out


async def amain(a: argparse.Namespace, run: str, holder: dict[str, Any]) -> None:
    client: AsyncMongoClient = AsyncMongoClient(
        MONGO_URL, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000, socketTimeoutMS=300_000
    )
    try:
        await client.admin.command("ping")
        bench = Bench(a, client, run)
        holder["bench"] = bench
        await bench.run()
    finally:
        await client.close()


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # so the databases are dropped as on Ctrl-C


def main() -> int:
    a = parse_args()
    signal.signal(signal.SIGTERM, _sigterm)
    run = uuid.uuid4().hex[:10]
    names = [f"bench_store_{run}_{n}_{side}" for n in a.sizes for side in ("gin", "nogin")]
    say(f"run {run}: databases bench_store_{run}_* on {MONGO_URL}; sizes {a.sizes}")
    holder: dict[str, Any] = {}
    failure: BaseException | None = None
    started = time.perf_counter()
    try:
        asyncio.run(amain(a, run, holder))
    except BaseException as exc:  # noqa: BLE001 - reported after cleanup (incl. Ctrl-C)
        failure = exc
    finally:
        cleanup = drop(names)
        say(
            f"cleanup: dropped {cleanup['dropped'] or 'nothing'}; left {cleanup['left'] or 'nothing'} "
            f"({time.perf_counter() - started:.0f} s in all)"
        )
    if failure is not None:
        if isinstance(failure, KeyboardInterrupt):
            say("interrupted")
            return 130
        say(f"FAILED: {type(failure).__name__}: {failure}")
        return 1
    s = holder["bench"].summary(cleanup)
    s["seconds"] = time.perf_counter() - started
    print(json.dumps(s, indent=2, default=str) if a.json else report(s))
    return 0 if not cleanup["left"] else 2


if __name__ == "__main__":
    sys.exit(main())
