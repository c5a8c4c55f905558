"""Mongo access through PyMongo's async API; works on MongoDB 7+ and FerretDB v1.

Each write of an aggregate is one single-document update that also appends the events it
raised to the document's ``outbox`` array; the relay publishes and removes them.
"""

from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from typing import Generic, TypeVar

from bson.codec_options import TypeEncoder, TypeRegistry
from pymongo import AsyncMongoClient, IndexModel
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
            if models:
                await self.db[collection].create_indexes(list(models))

    async def close(self) -> None:
        await self.client.close()


class Repository(Generic[A]):
    """Loads and saves one aggregate type with compare-and-set on ``version``."""

    def __init__(self, store: Store, collection: str, model: type[A], service: str,
                 on_saved: Callable[[], None] | None = None) -> None:
        self.collection: AsyncCollection = store.db[collection]
        self.model = model
        self.service = service
        self._on_saved = on_saved or (lambda: None)

    async def get(self, aggregate_id: str) -> A:
        found = await self.find(aggregate_id)
        if found is None:
            raise NotFound(f"{self.model.__name__} {aggregate_id} not found")
        return found

    async def find(self, aggregate_id: str) -> A | None:
        doc = await self.collection.find_one({"_id": aggregate_id}, {"outbox": 0})
        return self.model.from_document(doc) if doc else None  # type: ignore[return-value]

    async def add(self, aggregate: A) -> A:
        events = [stored_event(e, service=self.service, subject=aggregate.id) for e in aggregate.take_events()]
        doc = aggregate.to_document() | {"version": 1, "outbox": events}
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise Conflict(f"{self.model.__name__} {aggregate.id} already exists") from exc
        aggregate.version = 1
        self._on_saved()
        return aggregate

    async def save(self, aggregate: A) -> A:
        """Write back a loaded aggregate; fails with VersionConflict if it changed meanwhile."""
        events = [stored_event(e, service=self.service, subject=aggregate.id) for e in aggregate.take_events()]
        fields = aggregate.to_document()
        fields.pop("_id")
        update: dict = {"$set": fields | {"version": aggregate.version + 1}}
        if events:
            update["$push"] = {"outbox": {"$each": events}}
        result = await self.collection.update_one({"_id": aggregate.id, "version": aggregate.version}, update)
        if result.matched_count != 1:
            raise VersionConflict(f"{self.model.__name__} {aggregate.id} changed concurrently")
        aggregate.version += 1
        if events:
            self._on_saved()
        return aggregate

    async def mutate(self, aggregate_id: str, change: Callable[[A], object], attempts: int = 5) -> A:
        """Load, apply ``change`` (a domain method call) and save, retrying on a concurrent write."""
        for attempt in range(attempts):
            aggregate = await self.get(aggregate_id)
            change(aggregate)
            try:
                return await self.save(aggregate)
            except VersionConflict:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")
