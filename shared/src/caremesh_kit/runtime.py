"""The pieces every service process runs, started and stopped in one place.

A service's composition root builds a ``Runtime`` from its settings, then hands it its
subscriptions, repositories (collections with an outbox), indexes and HTTP routers.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI
from pymongo import IndexModel

from caremesh_kit import audit, http, idempotency, logs, pgindex
from caremesh_kit.bus import Bus, Subscription
from caremesh_kit.clock import Clock, system_clock
from caremesh_kit.outbox import OutboxRelay
from caremesh_kit.periodic import every
from caremesh_kit.policy import Policy
from caremesh_kit.settings import ServiceSettings
from caremesh_kit.store import A, Repository, Store

log = logs.get("caremesh.runtime")


class Runtime:
    def __init__(self, service: str, settings: ServiceSettings, clock: Clock = system_clock) -> None:
        self.service = service
        self.settings = settings
        self.clock = clock  # the service's one clock, handed to its use cases
        database = settings.mongodb_db or f"caremesh_{service}"
        self.store = Store.of(settings, database)
        # FerretDB's PostgreSQL schema is the Mongo database's name.
        self.gin = pgindex.Reconciler(
            settings.ferretdb_postgres_url.replace("{service}", service), database, settings.index_reconcile_seconds
        )
        self.bus = Bus(service, settings)
        self.relay = OutboxRelay(self.bus, settings.outbox_scan_seconds)
        self.indexes: dict[str, Sequence[IndexModel]] = {"audit": audit.AuditTrail.INDEXES, **idempotency.INDEXES}
        self.audit = audit.AuditTrail(self.store, service, clock)
        self.background: list[Callable[[], Any]] = []
        # Run on stop, after the background jobs are cancelled (e.g. closing HTTP clients).
        self.on_stop: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task[Any]] = []
        retention = settings.idempotency_retention_seconds
        self.sweep(
            min(retention / 24, 3600.0),
            lambda: idempotency.sweep(self.store.db, retention),
            "idempotency keys expired",
        )

    def repository(self, collection: str, model: type[A], indexes: Sequence[IndexModel] = ()) -> Repository[A]:
        """A repository whose outbox the relay drains."""
        repo = Repository(
            self.store,
            collection,
            model,
            self.service,
            on_saved=self.relay.committed,
            retention=self.settings.commit_retention_seconds,
        )
        self.relay.repositories.append(repo)
        self.indexes[collection] = list(indexes)
        self.indexes[repo.commits.name] = list(Repository[Any].indexes)
        return repo

    def subscribe(self, subscriptions: list[Subscription]) -> None:
        self.bus.subscribe(subscriptions)

    def sweep(self, seconds: float, job: Callable[[], Any], did: str) -> None:
        """Run ``job`` every ``seconds`` while the service runs (``periodic.every``: a failed round
        is logged and the next one tries again)."""
        self.background.append(lambda: every(seconds, job, did))

    async def start(self) -> None:
        await self.store.ensure_indexes(self.indexes)
        if await pgindex.is_ferretdb(self.store.client):
            self.gin.declare(self.indexes)
            await self.gin.run_once()
        else:
            self.gin.enabled = False
        await self.bus.start()
        self.relay.start()
        jobs = [*self.background, *([self.gin.keep] if self.gin.enabled else [])]
        self._tasks = [asyncio.create_task(job()) for job in jobs]
        logs.info(log, "service started", namespace=self.settings.bus_namespace)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for hook in self.on_stop:
            await hook()
        await self.relay.stop()
        await self.bus.stop()  # waits for in-flight messages up to the graceful timeout
        await self.store.close()
        logs.info(log, "service stopped")

    async def _store_ready(self) -> bool:
        return await self.store.ping()

    def http_app(
        self, routers: list[APIRouter], usecases: object, subscriptions: list[Subscription], policy: Policy
    ) -> FastAPI:
        """The service's app: its routes reach ``usecases`` through ``caremesh_kit.http.container``,
        ``subscriptions`` (the service's explicit event list) are consumed while it runs, and
        ``policy`` says who may call each route."""
        self.subscribe(subscriptions)

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        app = http.create_app(
            service=self.service,
            settings=self.settings,
            routers=[*routers, audit.router],
            readiness={"broker": self.bus.ping, "store": self._store_ready},
            policy=policy,
            inner_middlewares=[
                idempotency.middleware(self.store, http.problem, self.settings.idempotency_lease_seconds)
            ],
            lifespan=lifespan,
        )
        app.state.runtime = self
        app.state.usecases = usecases
        app.state.audit = self.audit
        return app


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run one service process; SIGTERM/SIGINT drain in-flight work before exit."""
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.graceful_timeout_seconds),
    )
    # uvicorn traps SIGTERM/SIGINT and runs the lifespan shutdown, which drains the bus.
    asyncio.run(uvicorn.Server(config).serve())


S = TypeVar("S", bound=ServiceSettings)


def main(service: str, settings: S | Callable[[], S], build: Callable[[S], FastAPI]) -> None:
    """Check the settings (production mode: ``caremesh_kit.security``), then serve. Given the
    settings class rather than an instance, a setting that fails validation is reported as one
    line naming it, without its value (pydantic's message would print a rejected secret)."""
    from caremesh_kit import security  # here: only a process that serves needs it

    if not isinstance(settings, ServiceSettings):
        settings = security.load_or_exit(service, settings)
    logs.configure(service, settings.log_level)
    security.check_or_exit(service, settings)
    serve(build(settings), settings)
