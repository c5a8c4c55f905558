"""Mongo access through PyMongo's async API; works on MongoDB 7+ and FerretDB v1.

Each change of an aggregate, with the events it raised, is one single-document insert; see
``Repository``.

TLS: setting any of ``mongodb_tls_ca_file``, ``mongodb_tls_cert_file``, ``mongodb_tls_key_file``
connects over TLS (see ``tls_options``).
"""

import contextlib
import contextvars
import inspect
import os
import tempfile
import time as _time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

from bson.codec_options import TypeEncoder, TypeRegistry
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, CollectionInvalid, DuplicateKeyError

from caremesh_kit import context
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.envelope import stored_event
from caremesh_kit.errors import Conflict, NotFound, VersionConflict
from caremesh_kit.settings import ServiceSettings

A = TypeVar("A", bound=Aggregate)
Doc = dict[str, Any]  # a BSON document as PyMongo returns it
DUPLICATE_KEY = 11000

# Done commits are kept this long (the compare-and-set needs them), then pruned; a writer that
# held a loaded aggregate for half of it must load it again (see ``Repository.save``).
DEFAULT_RETENTION_SECONDS = 600.0


class _DateEncoder(TypeEncoder):
    """BSON has no plain date: store it as midnight UTC (models read it back as a date)."""

    python_type = date

    def transform_python(self, value: date) -> datetime:
        return datetime.combine(value, time())


@dataclass
class RoundTrips:
    """Store commands issued while one event is handled (the booking path's cost, per hop)."""

    store: int = 0


_round_trips: contextvars.ContextVar[RoundTrips | None] = contextvars.ContextVar("round_trips", default=None)


@contextlib.contextmanager
def counting_round_trips() -> Iterator[RoundTrips]:
    counter = RoundTrips()
    token = _round_trips.set(counter)
    try:
        yield counter
    finally:
        _round_trips.reset(token)


class _RoundTripListener(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if (counter := _round_trips.get()) is not None:
            counter.store += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def tls_options(ca_file: str = "", cert_file: str = "", key_file: str = "") -> tuple[dict[str, Any], Path | None]:
    """PyMongo's TLS options, and the temporary file they name if any (None: plain, no file set).

    PyMongo takes the client certificate and its key as one PEM: given apart, they are joined in a
    private (0600) temporary file, kept while the client may reconnect (a ``mongodb+srv`` client
    reads it again when it resolves its hosts) and removed by ``Store.close``.
    """
    if not (ca_file or cert_file or key_file):
        return {}, None
    if key_file and not cert_file:
        raise ValueError("mongodb_tls_key_file is set without mongodb_tls_cert_file")
    options: dict[str, Any] = {"tls": True}
    if ca_file:
        options["tlsCAFile"] = ca_file
    joined = None
    if cert_file and key_file:
        fd, name = tempfile.mkstemp(prefix="caremesh-mongodb-", suffix=".pem")
        joined = Path(name)
        with os.fdopen(fd, "wb") as pem:
            pem.write(Path(cert_file).read_bytes().rstrip(b"\n") + b"\n" + Path(key_file).read_bytes())
        options["tlsCertificateKeyFile"] = name
    elif cert_file:
        options["tlsCertificateKeyFile"] = cert_file  # the key is in the same PEM
    return options, joined


def _discard(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


class Store:
    def __init__(
        self, url: str, database: str, *, tls_ca_file: str = "", tls_cert_file: str = "", tls_key_file: str = ""
    ) -> None:
        tls, joined = tls_options(tls_ca_file, tls_cert_file, tls_key_file)
        # The joined PEM goes on close, or at exit if the store is never closed (a failed start).
        self._remove_pem = weakref.finalize(self, _discard, joined)
        self.client: AsyncMongoClient[Doc] = AsyncMongoClient(
            url,
            tz_aware=True,
            serverSelectionTimeoutMS=5000,
            appname="caremesh",
            type_registry=TypeRegistry([_DateEncoder()]),
            event_listeners=[_RoundTripListener()],
            **tls,
        )
        self.db: AsyncDatabase[Doc] = self.client[database]

    @classmethod
    def of(cls, settings: ServiceSettings, database: str) -> "Store":
        """The service's store, over TLS when its settings name a CA, certificate or key."""
        return cls(
            settings.mongodb_url,
            database,
            tls_ca_file=settings.mongodb_tls_ca_file,
            tls_cert_file=settings.mongodb_tls_cert_file,
            tls_key_file=settings.mongodb_tls_key_file,
        )

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        return True

    async def ensure_indexes(self, indexes: dict[str, Sequence[IndexModel]]) -> None:
        present = set(await self.db.list_collection_names())
        for collection, models in indexes.items():
            if collection not in present:
                # Created up front, so the store's tables (and their GIN indexes) exist before use.
                with contextlib.suppress(CollectionInvalid):
                    await self.db.create_collection(collection)
            if not models:
                continue
            # Only the missing ones: FerretDB v1 drops the connection when asked to
            # create a compound index that already exists.
            existing = {ix["name"] async for ix in await self.db[collection].list_indexes()}
            missing = [m for m in models if m.document["name"] not in existing]
            if missing:
                await self.db[collection].create_indexes(missing)

    async def close(self) -> None:
        await self.client.close()
        self._remove_pem()


class Repository(Generic[A]):
    """Loads and saves one aggregate type; no write is ever lost.

    Every change is committed by inserting one document into ``<collection>.commits`` whose
    ``_id`` is the aggregate id and its new version. The unique ``_id`` is the compare-and-set:
    of two writers that loaded the same version, exactly one insert succeeds. (A filtered
    update is not atomic on FerretDB v1, an insert is.) The commit holds the new state and the
    events it raised (the outbox), so state and events are one single-document write. The
    ``<collection>`` document is the current state, materialized from the commit right after
    it; if a crash left it behind, the relay rolls it forward from the pending commit, and so
    does a writer whose compare-and-set fails on it.

    Done commits are pruned after ``retention`` seconds, so the commit log stays small. The
    compare-and-set stays sound: a writer refuses to save an aggregate it loaded more than half
    the retention ago, and creating one first checks that no current-state document exists.
    """

    def __init__(
        self,
        store: Store,
        collection: str,
        model: type[A],
        service: str,
        on_saved: Callable[["Repository[Any]", Doc], None] | None = None,
        retention: float = DEFAULT_RETENTION_SECONDS,
    ) -> None:
        self.collection: AsyncCollection[Doc] = store.db[collection]
        self.commits: AsyncCollection[Doc] = store.db[f"{collection}.commits"]
        self.model = model
        self.service = service
        self.retention = retention
        self._on_saved = on_saved
        self._pruned_through: int | None = None  # the last done_bucket minute pruned

    indexes = (
        IndexModel([("aggregate_id", ASCENDING), ("version", DESCENDING)]),
        IndexModel([("pending", ASCENDING)]),
        IndexModel([("done_bucket", ASCENDING)]),
    )

    async def get(self, aggregate_id: str) -> A:
        found = await self.find(aggregate_id)
        if found is None:
            raise NotFound(f"{self.model.__name__} {aggregate_id} not found")
        return found

    async def find(self, aggregate_id: str) -> A | None:
        doc = await self.collection.find_one({"_id": aggregate_id})
        return None if doc is None else self.loaded(doc)

    def loaded(self, doc: Doc) -> A:
        """An aggregate from a current-state document (a ``find`` or a query), stamped with its load
        time, which ``save`` checks against the retention."""
        aggregate = self.model.from_document(doc)
        aggregate._loaded_at = _time.monotonic()
        return aggregate

    async def roll_forward(self, aggregate_id: str, version: int) -> None:
        """Materialize commits from ``version`` on that a crashed writer left behind."""
        newest = None
        while commit := await self.commits.find_one({"_id": commit_id(aggregate_id, version)}):
            newest, version = commit, version + 1
        if newest:
            await materialize(self.collection, newest)

    async def add(self, aggregate: A) -> A:
        """Create it; Conflict if it exists. Except in a request under an ``Idempotency-Key``,
        when it minted the id or is a rerun: the one found is what an earlier attempt of the same
        request made (under ids minted or derived from them), and is returned."""
        return await self._add(aggregate, earlier=context.minted_here(aggregate.id) or context.rerun())

    async def _add(self, aggregate: A, earlier: bool = False) -> A:
        # The commit of version 1 may have been pruned long ago: the current state is the proof.
        if await self.collection.find_one({"_id": aggregate.id}, {"_id": 1}) is not None:
            if earlier:
                return await self.get(aggregate.id)
            raise Conflict(f"{self.model.__name__} {aggregate.id} already exists")
        try:
            await self._commit(aggregate, 1)
        except VersionConflict as exc:
            # Another writer's commit won the race; its state may not be materialized yet.
            await self.roll_forward(aggregate.id, 1)
            if earlier:
                return await self.get(aggregate.id)
            raise Conflict(f"{self.model.__name__} {aggregate.id} already exists") from exc
        return aggregate

    async def made_earlier(self, aggregate_id: str) -> A | None:
        """In the rerun of a request under an ``Idempotency-Key``, the aggregate an earlier attempt
        made under this id (minted by ``context.new_id``), if any; otherwise None, without a read."""
        if not (context.rerun() and context.minted_here(aggregate_id)):
            return None
        return await self.find(aggregate_id)

    async def add_once(self, aggregate: A) -> bool:
        """Add unless it exists: for consumers, where a redelivery must change nothing."""
        try:
            await self._add(aggregate)
        except Conflict:
            return False
        return True

    async def add_new(self, aggregates: list[A]) -> list[A]:
        """Add aggregates the caller has just looked for and not found (that read stands for
        ``add``'s existence check), in one write for the commits and one for the states. The
        unique commit ``_id`` still decides between concurrent writers: for an aggregate another
        writer stored first, theirs is returned."""
        if not aggregates:
            return []
        now = datetime.now(UTC)
        commits: list[Doc] = [
            {
                "_id": commit_id(a.id, 1),
                "aggregate_id": a.id,
                "version": 1,
                "state": a.to_document() | {"version": 1},
                "outbox": [stored_event(e, service=self.service, subject=a.id) for e in a.take_events()],
                "pending": True,
                "committed_at": now,
            }
            for a in aggregates
        ]
        lost = {commits[i]["aggregate_id"] for i in await insert_new(self.commits, commits)}
        won = [c for c in commits if c["aggregate_id"] not in lost]
        await insert_new(self.collection, [c["state"] for c in won])  # one there already is as new or newer
        for commit in won:
            if self._on_saved is not None:
                self._on_saved(self, commit)
        if self._on_saved is None and won:
            await self.commits.update_many({"pending": True, "_id": {"$in": [c["_id"] for c in won]}}, {"$set": done()})
        stored = []
        for a in aggregates:
            if a.id in lost:
                await self.roll_forward(a.id, 1)  # the winner may not have materialized it yet
                stored.append(await self.get(a.id))
            else:
                a.version = 1
                stored.append(a)
        return stored

    async def save(self, aggregate: A) -> A:
        """Write back a loaded aggregate; fails with VersionConflict if it changed meanwhile."""
        loaded_at = aggregate._loaded_at
        if loaded_at is not None and _time.monotonic() - loaded_at > self.retention / 2:
            # The commit that would refuse this write may be pruned by now: load it again.
            raise VersionConflict(f"{self.model.__name__} {aggregate.id} was loaded too long ago")
        await self._commit(aggregate, aggregate.version + 1)
        return aggregate

    async def _commit(self, aggregate: A, version: int) -> None:
        events = [stored_event(e, service=self.service, subject=aggregate.id) for e in aggregate.take_events()]
        state = aggregate.to_document() | {"version": version}
        commit = {
            "_id": commit_id(aggregate.id, version),
            "aggregate_id": aggregate.id,
            "version": version,
            "state": state,
            "outbox": events,
            "pending": True,
            "committed_at": datetime.now(UTC),
        }
        try:
            await self.commits.insert_one(commit)
        except DuplicateKeyError as exc:
            if version > 1:
                await self.roll_forward(aggregate.id, version)  # so the retry loads what won
            raise VersionConflict(f"{self.model.__name__} {aggregate.id} changed concurrently") from exc
        aggregate.version = version
        await materialize(self.collection, commit)
        if self._on_saved is not None:
            self._on_saved(self, commit)  # the relay publishes the events and marks it done
        else:
            await self.commits.update_one({"_id": commit["_id"]}, {"$set": done()})

    async def mutate(
        self,
        aggregate_id: str,
        change: Callable[[A], object],
        attempts: int = 5,
        loaded: A | None = None,
        expected_version: int | None = None,
    ) -> A:
        """Load, apply ``change`` and save, retrying on a concurrent write (see ``apply``)."""
        aggregate, _ = await self.apply(aggregate_id, change, attempts, loaded, expected_version)
        return aggregate

    async def apply(
        self,
        aggregate_id: str,
        change: Callable[[A], Any],
        attempts: int = 5,
        loaded: A | None = None,
        expected_version: int | None = None,
    ) -> tuple[A, Any]:
        """``mutate``, also returning what ``change`` returned on the attempt that stood.

        ``change`` is a domain method call; when it returns False (nothing to do, as for a
        redelivered event) nothing is written. It may be a coroutine function, for a change that
        must read something first depending on the state it finds. ``loaded``: the aggregate as
        the caller has just read it, changed on the first attempt instead of reading it again.
        ``expected_version``: the version a client based its change on (``If-Match``); any other
        version, found or written concurrently, is a VersionConflict naming the current one, never
        a retry on top of a change the client has not seen.
        """
        for attempt in range(attempts):
            aggregate = loaded if attempt == 0 and loaded is not None else await self.get(aggregate_id)
            check_version(aggregate, expected_version)
            outcome = change(aggregate)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            if outcome is False:
                return aggregate, outcome
            try:
                return await self.save(aggregate), outcome
            except VersionConflict:
                if expected_version is not None or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    async def add_or_mutate(
        self, aggregate_id: str, new: Callable[[], A], change: Callable[[A], object], likely_new: bool = False
    ) -> tuple[A, bool]:
        """Apply ``change`` to the aggregate, creating it with ``new()`` first if it does not exist;
        and whether this call created it. Of two creators one adds; the other's change goes on top
        of it through ``mutate``. ``likely_new``: try adding before looking (saves a read)."""
        found = None if likely_new else await self.find(aggregate_id)
        if found is None:
            fresh = new()
            outcome = change(fresh)
            if inspect.isawaitable(outcome):
                await outcome
            try:
                return await self._add(fresh), True
            except Conflict:
                pass  # created meanwhile (and rolled forward by ``add``): change theirs
        return await self.mutate(aggregate_id, change, loaded=found), False

    async def prune(self, now: datetime | None = None) -> int:
        """Delete commits done more than the retention ago; returns how many.

        Each pass deletes whole ``done_bucket`` minutes by equality, which an index serves; a
        range on the time would make FerretDB read the whole log. The first pass in a process
        catches up once, by time, on whatever an earlier process left.
        """
        now = now or datetime.now(UTC)
        cutoff = bucket(now - timedelta(seconds=self.retention))
        deleted = 0
        if self._pruned_through is None:
            result = await self.commits.delete_many(
                {"pending": False, "committed_at": {"$lt": now - timedelta(seconds=self.retention)}}
            )
            deleted += result.deleted_count
            self._pruned_through = cutoff  # what is left was committed, so done, after it
        for minute in range(self._pruned_through + 1, cutoff + 1):
            deleted += (await self.commits.delete_many({"done_bucket": minute})).deleted_count
            self._pruned_through = minute
        return deleted


def check_version(aggregate: Aggregate, expected_version: int | None) -> None:
    """The client's ``version`` (None: any) must be the aggregate's: else 409 naming the current one."""
    if expected_version is not None and aggregate.version != expected_version:
        raise VersionConflict(
            f"{type(aggregate).__name__} {aggregate.id} is at version {aggregate.version}, not {expected_version}",
            field="version",
            current_version=aggregate.version,
        )


def bucket(at: datetime) -> int:
    """The minute a commit was marked done, as whole minutes since the epoch."""
    return int(at.timestamp() // 60)


def done(now: datetime | None = None) -> Doc:
    """The fields that mark a commit done: its events are out, and it is pruned by its minute."""
    return {"pending": False, "outbox": [], "done_bucket": bucket(now or datetime.now(UTC))}


async def insert_new(collection: AsyncCollection[Doc], docs: list[Doc]) -> set[int]:
    """Insert each document unless its ``_id`` exists, in one command; the positions of those that did."""
    if not docs:
        return set()
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if exc.details.get("writeConcernErrors") or any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return {e["index"] for e in errors}
    return set()


def commit_id(aggregate_id: str, version: int) -> str:
    return f"{aggregate_id}:{version:012d}"


async def materialize(collection: AsyncCollection[Doc], commit: Doc) -> None:
    """Make the current-state document at least as new as ``commit``; repeating it is harmless."""
    state = commit["state"]
    try:
        if commit["version"] == 1:
            # A first version only ever creates the document.
            await collection.insert_one(state)
        else:
            await collection.replace_one(
                {"_id": state["_id"], "version": {"$lt": commit["version"]}}, state, upsert=True
            )
    except DuplicateKeyError:
        pass  # already at this version or newer
