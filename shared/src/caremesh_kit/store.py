"""Mongo access through PyMongo's async API; works on MongoDB 7+ and FerretDB v1.

Each change of an aggregate, with the events it raised, is one single-document insert; see
``Repository``.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from typing import Generic, TypeVar

from bson.codec_options import TypeEncoder, TypeRegistry
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from caremesh_kit.aggregate import Aggregate
from caremesh_kit.envelope import stored_event
from caremesh_kit.errors import Conflict, NotFound, VersionConflict

A = TypeVar("A", bound=Aggregate)


class _DateEncoder(TypeEncoder):
    """BSON has no plain date: store it as midnight UTC (models read it back as a date)."""

    python_type = date

    def transform_python(self, value: date) -> datetime:
        return datetime.combine(value, time())


class Store:
    def __init__(self, url: str, database: str) -> None:
        self.client: AsyncMongoClient = AsyncMongoClient(
            url, tz_aware=True, serverSelectionTimeoutMS=5000, appname="caremesh",
            type_registry=TypeRegistry([_DateEncoder()]),
        )
        self.db: AsyncDatabase = self.client[database]

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        return True

    async def ensure_indexes(self, indexes: dict[str, Sequence[IndexModel]]) -> None:
        for collection, models in indexes.items():
            # Only the missing ones: FerretDB v1 drops the connection when asked to
            # create a compound index that already exists.
            existing = {ix["name"] async for ix in await self.db[collection].list_indexes()}
            missing = [m for m in models if m.document["name"] not in existing]
            if missing:
                await self.db[collection].create_indexes(missing)

    async def close(self) -> None:
        await self.client.close()


class Repository(Generic[A]):
    """Loads and saves one aggregate type; no write is ever lost.

    Every change is committed by inserting one document into ``<collection>.commits`` whose
    ``_id`` is the aggregate id and its new version. The unique ``_id`` is the compare-and-set:
    of two writers that loaded the same version, exactly one insert succeeds. (A filtered
    update is not atomic on FerretDB v1, an insert is.) The commit holds the new state and the
    events it raised (the outbox), so state and events are one single-document write. The
    ``<collection>`` document is the current state, materialized from the latest commit; a
    read rolls it forward if a crash left it behind, and the relay does too.
    """

    def __init__(self, store: Store, collection: str, model: type[A], service: str,
                 on_saved: Callable[["Repository", str], None] | None = None) -> None:
        self.collection: AsyncCollection = store.db[collection]
        self.commits: AsyncCollection = store.db[f"{collection}.commits"]
        self.model = model
        self.service = service
        self._on_saved = on_saved or (lambda repo, commit_id: None)

    indexes = (
        IndexModel([("aggregate_id", ASCENDING), ("version", DESCENDING)]),
        IndexModel([("pending", ASCENDING)]),
    )

    async def get(self, aggregate_id: str) -> A:
        found = await self.find(aggregate_id)
        if found is None:
            raise NotFound(f"{self.model.__name__} {aggregate_id} not found")
        return found

    async def find(self, aggregate_id: str) -> A | None:
        doc = await self.collection.find_one({"_id": aggregate_id})
        # Roll forward over commits the current-state document missed (by _id: FerretDB
        # serves _id lookups from its primary key, other filters by scanning).
        newest = None
        version = doc["version"] if doc else 0
        while commit := await self.commits.find_one({"_id": commit_id(aggregate_id, version + 1)}):
            newest, version = commit, version + 1
        if newest:
            await materialize(self.collection, newest)
            doc = newest["state"]
        return self.model.from_document(doc) if doc else None  # type: ignore[return-value]

    async def add(self, aggregate: A) -> A:
        try:
            await self._commit(aggregate, 1)
        except VersionConflict as exc:
            raise Conflict(f"{self.model.__name__} {aggregate.id} already exists") from exc
        return aggregate

    async def add_once(self, aggregate: A) -> bool:
        """Add unless it exists: for consumers, where a redelivery must change nothing."""
        try:
            await self.add(aggregate)
        except Conflict:
            return False
        return True

    async def save(self, aggregate: A) -> A:
        """Write back a loaded aggregate; fails with VersionConflict if it changed meanwhile."""
        await self._commit(aggregate, aggregate.version + 1)
        return aggregate

    async def _commit(self, aggregate: A, version: int) -> None:
        events = [stored_event(e, service=self.service, subject=aggregate.id) for e in aggregate.take_events()]
        state = aggregate.to_document() | {"version": version}
        commit = {"_id": commit_id(aggregate.id, version), "aggregate_id": aggregate.id, "version": version,
                  "state": state, "outbox": events, "pending": True, "committed_at": datetime.now(UTC)}
        try:
            await self.commits.insert_one(commit)
        except DuplicateKeyError as exc:
            raise VersionConflict(f"{self.model.__name__} {aggregate.id} changed concurrently") from exc
        aggregate.version = version
        await materialize(self.collection, commit)
        if events:
            self._on_saved(self, commit["_id"])
        else:
            await self.commits.update_one({"_id": commit["_id"]}, {"$set": {"pending": False}})

    async def mutate(self, aggregate_id: str, change: Callable[[A], object], attempts: int = 5) -> A:
        """Load, apply ``change`` and save, retrying on a concurrent write.

        ``change`` is a domain method call; when it returns False (nothing to do, as for a
        redelivered event) nothing is written.
        """
        for attempt in range(attempts):
            aggregate = await self.get(aggregate_id)
            if change(aggregate) is False:
                return aggregate
            try:
                return await self.save(aggregate)
            except VersionConflict:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")


def commit_id(aggregate_id: str, version: int) -> str:
    return f"{aggregate_id}:{version:012d}"


async def materialize(collection: AsyncCollection, commit: dict) -> None:
    """Make the current-state document at least as new as ``commit``; repeating it is harmless."""
    state = commit["state"]
    try:
        if commit["version"] == 1:
            # A first version only ever creates the document. An insert is served by the primary
            # key, where FerretDB v1 scans the whole collection for a filtered upsert.
            await collection.insert_one(state)
        else:
            await collection.replace_one({"_id": state["_id"], "version": {"$lt": commit["version"]}}, state,
                                         upsert=True)
    except DuplicateKeyError:
        pass  # already at this version or newer
