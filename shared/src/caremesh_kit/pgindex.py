"""GIN expression indexes that make FerretDB v1 on PostgreSQL serve filters from an index.

FerretDB v1 sends an equality filter on a top-level field as ``_jsonb->$1 @> $2``, and one on a
dotted path (with ``--test-enable-nested-pushdown``, which ``scripts/infra`` sets) as
``_jsonb#>$1 @> $2``; it filters the result again itself, so this only narrows what it reads. Its own
indexes are btree indexes on other expressions, which PostgreSQL cannot use for that, so every
filtered read or update, even by ``_id``, scans the table and slows as it fills. A GIN index on
``(_jsonb->'field')`` serves the containment test. FerretDB neither lists nor drops such indexes,
and a collection dropped and created again comes back without them, so they are reconciled:
at start and every ``interval`` seconds, for ``_id`` on every table of the service's database
and for each field of every index the service declares.

On MongoDB (or when PostgreSQL cannot be reached) this does nothing.
"""

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import IndexModel

from caremesh_kit import logs

log = logs.get("caremesh.pgindex")

METADATA_TABLE = "_ferretdb_database_metadata"


def declared_fields(indexes: Mapping[str, Sequence[IndexModel]]) -> dict[str, set[str]]:
    """The fields (top-level or dotted paths) of every declared index, by collection."""
    fields: dict[str, set[str]] = {}
    for collection, models in indexes.items():
        for model in models:
            fields.setdefault(collection, set()).update(model.document["key"])
    return fields


def expression(field: str) -> str:
    """The expression FerretDB filters ``field`` by: ``->`` for a top-level field, ``#>`` for a path."""
    if "." not in field:
        return f"(_jsonb->{_literal(field)})"
    return f"(_jsonb#>{_literal('{' + ','.join(field.split('.')) + '}')}::text[])"


def index_name(table: str, field: str) -> str:
    # Index names share the schema's namespace with tables and stay under 63 bytes.
    digest = hashlib.sha1(f"{table}\0{field}".encode()).hexdigest()[:10]
    return f"cm_gin_{table[:40]}_{digest}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def wanted(conn: Any, schema: str, fields: Mapping[str, set[str]]) -> list[tuple[str, str, str]]:
    """(table, field, index name) for every GIN index the schema should have and lacks."""
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{_ident(schema)}.{METADATA_TABLE}"):
        return []
    rows = await conn.fetch(
        f"SELECT _jsonb->>'_id' AS collection, _jsonb->>'table' AS tbl FROM {_ident(schema)}.{METADATA_TABLE}"
    )
    have = {r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = $1", schema)}
    missing = []
    for row in rows:
        for field in sorted({"_id", *fields.get(row["collection"], ())}):
            name = index_name(row["tbl"], field)
            if name not in have:
                missing.append((row["tbl"], field, name))
    return missing


async def reconcile(conn: Any, schema: str, fields: Mapping[str, set[str]]) -> int:
    """Create the missing GIN indexes; returns how many were created. Safe to run concurrently."""
    import asyncpg  # only where FerretDB runs on PostgreSQL

    created = 0
    for table, field, name in await wanted(conn, schema, fields):
        sql = (
            f"CREATE INDEX IF NOT EXISTS {_ident(name)} ON {_ident(schema)}.{_ident(table)} "
            f"USING gin ({expression(field)})"
        )
        try:
            await conn.execute(sql)
            created += 1
        except (asyncpg.UniqueViolationError, asyncpg.UndefinedTableError, asyncpg.DuplicateTableError):
            pass  # another replica made it first, or the collection was dropped meanwhile
    return created


class Reconciler:
    """Keeps one service database's GIN indexes; a no-op unless the store is FerretDB on PostgreSQL."""

    def __init__(self, postgres_url: str, schema: str, interval: float = 15.0) -> None:
        self.postgres_url = postgres_url
        self.schema = schema
        self.interval = interval
        self.fields: dict[str, set[str]] = {}
        self.enabled = bool(postgres_url)

    def declare(self, indexes: Mapping[str, Sequence[IndexModel]]) -> None:
        for collection, fields in declared_fields(indexes).items():
            self.fields.setdefault(collection, set()).update(fields)

    async def run_once(self) -> int:
        if not self.enabled:
            return 0
        import asyncpg

        try:
            conn = await asyncpg.connect(self.postgres_url, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            self.enabled = False  # not on PostgreSQL here; FerretDB still works, only slower
            logs.info(log, "no PostgreSQL under the store; GIN indexes not managed", error=type(exc).__name__)
            return 0
        try:
            return await reconcile(conn, self.schema, self.fields)
        finally:
            await conn.close()

    async def keep(self) -> None:
        """Background loop: collections created (or created again) later get their indexes too."""
        from caremesh_kit.periodic import every

        await every(self.interval, self.run_once, "GIN indexes created")


async def is_ferretdb(client: Any) -> bool:
    info = await client.admin.command("buildInfo")
    return "ferretdbVersion" in info or "ferretdbFeatures" in info
