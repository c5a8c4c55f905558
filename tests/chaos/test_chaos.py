"""Faults under a booking load: after each, nothing lost, nothing duplicated, nothing stuck.

``CHAOS_N`` requests per scenario (10 by default; ``make chaos`` runs 100), one scenario after the
other on one cluster. The counts are defined in ``checker.py``.
"""

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from caremesh_kit.devcluster import SERVICES, Cluster

from . import faults
from .checker import settle, table
from .conftest import ROWS, ensure_up
from .load import Load

N = int(os.environ.get("CHAOS_N", "10"))
SETTLE_SECONDS = float(os.environ.get("CHAOS_SETTLE_SECONDS", "90"))
STORE_OUTAGE_SECONDS = 30

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(900)]

Fault = Callable[[Cluster], Awaitable[None]]


def _kill(service: str) -> Fault:
    return lambda cluster: faults.kill_service(cluster, service)


SCENARIOS: dict[str, Fault] = {f"kill -9 {s}": _kill(s) for s in SERVICES} | {
    "broker restart": lambda _: faults.restart_broker(),
    f"store down {STORE_OUTAGE_SECONDS}s (scheduling)": lambda _: faults.stop_store("scheduling", STORE_OUTAGE_SECONDS),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_a_fault_under_load_loses_duplicates_and_strands_nothing(chaos, scenario):
    await asyncio.to_thread(ensure_up, chaos)
    # Long enough that the fault lands mid-load and requests keep arriving while it lasts.
    seconds = max(6.0, N * 0.1)

    async def fault() -> None:
        await asyncio.sleep(seconds * 0.3)
        await SCENARIOS[scenario](chaos)

    async with Load(chaos, uuid.uuid4().hex[:10]) as load:
        await load.prepare(N)
        since = datetime.now(UTC)
        try:
            await asyncio.gather(load.run(seconds), fault())
        finally:
            await asyncio.to_thread(faults.restore)
        row = await settle(scenario, load, since, SETTLE_SECONDS)
    ROWS.append(row)
    report = table([row]) + "".join(f"\n  {d}" for d in row.details)
    print(report)
    assert row.clean, report
