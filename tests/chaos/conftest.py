"""The four services as processes, on the infrastructure that ``scripts/infra`` runs, for the faults."""

import uuid
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from caremesh_kit.devcluster import SERVICES, Cluster
from caremesh_testing import delete_namespace

from .checker import Row, table
from .faults import READY_SECONDS, STORES, restore

ROOT = Path(__file__).resolve().parents[2]
ROWS: list[Row] = []  # one per scenario run, printed at the end of the session


@pytest.fixture(scope="module")
async def chaos():
    key = uuid.uuid4().hex[:8]
    cluster = Cluster(
        namespace=f"chaos-{key}",
        db_suffix=f"_chaos_{key}",
        port_offset=500,
        log_dir=ROOT / ".local" / "chaos-logs" / key,
    )
    try:
        for s in SERVICES:
            cluster.start(s)
        for s in SERVICES:
            cluster.wait_ready(s, timeout=READY_SECONDS)  # Cluster.up's 60 s is short on a busy machine
        yield cluster
    finally:
        cluster.down()
        restore()
        await delete_namespace(cluster.namespace)
        for s, port in STORES.items():
            client = AsyncMongoClient(f"mongodb://127.0.0.1:{port}/")
            await client.drop_database(f"caremesh_{s}{cluster.db_suffix}")
            await client.close()


def ensure_up(cluster: Cluster) -> None:
    """A service that a failed scenario left down runs again before the next one."""
    for s in SERVICES:
        if cluster.procs[s].poll() is not None:
            cluster.start(s)
            cluster.wait_ready(s, timeout=READY_SECONDS)


def pytest_terminal_summary(terminalreporter):
    if ROWS:
        terminalreporter.section("chaos")
        terminalreporter.write_line(table(ROWS))
