"""The store's upkeep on a real FerretDB on PostgreSQL: GIN indexes reconciled, the commit log
pruned without weakening the compare-and-set, round trips counted."""

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from pymongo import ASCENDING, IndexModel

from caremesh_kit import pgindex
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict, VersionConflict
from caremesh_kit.settings import ServiceSettings
from caremesh_kit.store import Repository, Store, counting_round_trips
from caremesh_testing import service_settings

STORE = "mongodb://127.0.0.1:27103/"
POSTGRES = "postgresql://caremesh:caremesh@127.0.0.1:5433/caremesh_insurance"
INDEXES = {"things": [IndexModel([("patient_id", ASCENDING)])], "things.commits": list(Repository.indexes)}


class Thing(Aggregate):
    patient_id: str = "p"
    value: int = 0


@pytest.fixture
async def store(namespace):
    settings = service_settings(ServiceSettings, namespace, mongodb_url=STORE)
    s = Store(STORE, settings.mongodb_db)
    await s.client.drop_database(settings.mongodb_db)
    yield s
    await s.client.drop_database(settings.mongodb_db)
    await s.close()


async def gin_indexes(schema: str) -> set[str]:
    """'<collection>.<field>' for every GIN expression index in the schema."""
    conn = await asyncpg.connect(POSTGRES)
    try:
        tables = {
            r["tbl"]: r["coll"]
            for r in await conn.fetch(
                f"SELECT _jsonb->>'table' AS tbl, _jsonb->>'_id' AS coll FROM \"{schema}\"._ferretdb_database_metadata"
            )
        }
        rows = await conn.fetch(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE 'cm_gin_%'", schema
        )
        return {f"{tables[r['tablename']]}.{r['indexdef'].split(chr(39))[1]}" for r in rows}
    finally:
        await conn.close()


async def uses_index(schema: str, collection: str, field: str, value: str) -> bool:
    """Whether PostgreSQL serves FerretDB's own filter expression from an index."""
    conn = await asyncpg.connect(POSTGRES)
    try:
        table = await conn.fetchval(
            f"SELECT _jsonb->>'table' FROM \"{schema}\"._ferretdb_database_metadata WHERE _jsonb->>'_id' = $1",
            collection,
        )
        await conn.execute("SET enable_seqscan = off")  # the table is tiny; ask whether an index can serve it
        plan = await conn.fetch(
            f'EXPLAIN SELECT _jsonb FROM "{schema}"."{table}" WHERE _jsonb->$1 @> $2::jsonb', field, f'"{value}"'
        )
        return any("Index" in r[0] for r in plan)
    finally:
        await conn.close()


async def test_gin_indexes_are_reconciled_on_a_fresh_store_and_after_a_drop(store):
    schema = store.db.name
    await store.ensure_indexes(INDEXES)
    gin = pgindex.Reconciler(POSTGRES, schema)
    gin.declare(INDEXES)
    assert not await uses_index(schema, "things", "patient_id", "p")  # FerretDB's own indexes cannot
    assert await gin.run_once() > 0
    have = await gin_indexes(schema)
    assert {
        "things._id",
        "things.patient_id",
        "things.commits._id",
        "things.commits.pending",
        "things.commits.aggregate_id",
        "things.commits.version",
    } <= have
    assert await uses_index(schema, "things", "patient_id", "p")
    assert await gin.run_once() == 0  # nothing left to do

    # A dropped and re-created collection comes back without them: the next round restores them.
    await store.db.drop_collection("things")
    await store.db["things"].insert_one({"_id": "t1", "patient_id": "p"})
    assert "things.patient_id" not in await gin_indexes(schema)
    assert await gin.run_once() == 2
    assert {"things._id", "things.patient_id"} <= await gin_indexes(schema)


async def test_the_reconciler_does_nothing_without_postgresql(store):
    gin = pgindex.Reconciler("postgresql://nobody@127.0.0.1:1/none", store.db.name)
    gin.declare(INDEXES)
    assert await gin.run_once() == 0
    assert not gin.enabled


async def test_pruned_commits_never_weaken_the_compare_and_set(store):
    repo = Repository(store, "things", Thing, "insurance", retention=60)
    await repo.add(Thing(id="t1"))
    stale = await repo.get("t1")
    fresh = await repo.get("t1")
    fresh.value = 1
    await repo.save(fresh)  # version 2

    # Only done commits older than the retention go; pending ones stay whatever their age.
    await store.db["things.commits"].insert_one(
        {
            "_id": "other:000000000001",
            "aggregate_id": "other",
            "version": 1,
            "pending": True,
            "committed_at": datetime.now(UTC) - timedelta(hours=1),
        }
    )
    assert await repo.prune(datetime.now(UTC)) == 0  # both of t1's are young
    assert await repo.prune(datetime.now(UTC) + timedelta(seconds=61)) == 2
    assert await store.db["things.commits"].count_documents({}) == 1

    # The aggregate's commits are gone, yet creating it again is still refused...
    with pytest.raises(Conflict):
        await repo.add(Thing(id="t1"))
    assert not await repo.add_once(Thing(id="t1"))
    # ...and a writer that loaded it before the pruned change, and waited that long, must reload.
    stale._loaded_at -= 31
    stale.value = 99
    with pytest.raises(VersionConflict):
        await repo.save(stale)
    assert (await repo.get("t1")).value == 1


async def test_a_conflicting_writer_rolls_forward_a_commit_left_unmaterialized(store):
    repo = Repository(store, "things", Thing, "insurance")
    await repo.add(Thing(id="t2"))
    loaded = await repo.get("t2")
    # A writer that crashed between its commit and the current-state write:
    state = loaded.to_document() | {"version": 2, "value": 7}
    await store.db["things.commits"].insert_one(
        {
            "_id": "t2:000000000002",
            "aggregate_id": "t2",
            "version": 2,
            "state": state,
            "outbox": [],
            "pending": True,
            "committed_at": datetime.now(UTC),
        }
    )
    assert (await repo.get("t2")).value == 0
    loaded.value = 1
    with pytest.raises(VersionConflict):
        await repo.save(loaded)
    assert (await repo.get("t2")).value == 7  # the retry now loads what won
    assert (await repo.mutate("t2", lambda t: setattr(t, "value", t.value + 1))).value == 8


async def test_round_trips_are_counted_per_context(store):
    repo = Repository(store, "things", Thing, "insurance")
    with counting_round_trips() as outer:
        await repo.add(Thing(id="t3"))  # existence check, commit, state, done
        with counting_round_trips() as inner:
            await repo.get("t3")

    async def elsewhere():
        await repo.get("t3")

    with counting_round_trips() as other:
        await asyncio.gather(elsewhere(), elsewhere())
    assert (outer.store, inner.store, other.store) == (4, 1, 2)


def index_scans(plan: dict) -> list[str]:
    """Index names in a PostgreSQL plan, as FerretDB's explain returns it."""
    found = [plan["Index Name"]] if "Index Name" in plan else []
    return found + [name for child in plan.get("Plans", []) for name in index_scans(child)]


async def test_filters_on_a_field_and_on_a_dotted_path_are_served_by_the_indexes(store):
    indexes = {"coverages": [IndexModel([("terms.patient_id", ASCENDING)]), IndexModel([("status", ASCENDING)])]}
    await store.ensure_indexes(indexes)
    await store.db["coverages"].insert_many(
        [{"_id": f"c{i}", "status": f"s{i % 50}", "terms": {"patient_id": f"p{i}"}} for i in range(2000)]
    )

    async def scans(flt: dict) -> list[str]:
        explained = await store.db.command("explain", {"find": "coverages", "filter": flt})
        return index_scans(explained["queryPlanner"]["Plan"])

    assert await scans({"terms.patient_id": "p7"}) == []  # FerretDB's own indexes cannot serve it
    gin = pgindex.Reconciler(POSTGRES, store.db.name)
    gin.declare(indexes)
    await gin.run_once()
    for flt in ({"terms.patient_id": "p7"}, {"status": "s7"}, {"_id": "c7"}):
        assert [n for n in await scans(flt) if n.startswith("cm_gin_")], flt
    assert [d["_id"] async for d in store.db["coverages"].find({"terms.patient_id": "p7"})] == ["c7"]


async def test_a_change_may_read_before_it_decides(store):
    repo = Repository(store, "things", Thing, "insurance")
    await repo.add(Thing(id="t4"))
    seen: list[int] = []

    async def change(t: Thing) -> bool:
        seen.append(t.version)
        if len(seen) == 1:  # another writer gets in while this one reads
            await repo.mutate("t4", lambda other: setattr(other, "value", 5))
        t.value += 1
        return True

    assert (await repo.mutate("t4", change)).value == 6
    assert seen == [1, 2]  # the first attempt lost the compare-and-set and was retried
    assert (await repo.mutate("t4", lambda t: False)).version == 3


async def test_mutate_against_a_clients_version_refuses_any_other_and_never_retries_over_it(store):
    repo = Repository(store, "things", Thing, "tests")
    await repo.add(Thing(id="t1"))

    def bump(t: Thing) -> None:
        t.value += 1

    assert (await repo.mutate("t1", bump, expected_version=1)).version == 2
    with pytest.raises(VersionConflict) as stale:
        await repo.mutate("t1", bump, expected_version=1)  # the client saw version 1; it is at 2
    assert stale.value.extra == {"field": "version", "current_version": 2}
    assert (await repo.get("t1")).value == 1

    # A concurrent write between the client's read and its save: a conflict, not a retry on top.
    first = await repo.get("t1")
    await repo.mutate("t1", bump)

    async def raced(t: Thing) -> None:
        t.value += 10

    with pytest.raises(VersionConflict):
        await repo.mutate("t1", raced, loaded=first, expected_version=2)
    assert (await repo.get("t1")).value == 2
    # Without a client's version the same race is retried on the latest state.
    assert (await repo.mutate("t1", raced, loaded=first)).value == 12


async def test_add_or_mutate_creates_once_and_applies_every_change(store):
    repo = Repository(store, "things", Thing, "tests")

    def bump(t: Thing) -> None:
        t.value += 1

    outcomes = await asyncio.gather(*(repo.add_or_mutate("t2", lambda: Thing(id="t2"), bump) for _ in range(4)))
    assert sorted(created for _, created in outcomes) == [False, False, False, True]
    assert (await repo.get("t2")).value == 4  # no change lost to the race between the creators
