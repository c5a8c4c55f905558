"""The faults: kill -9 a service and start it again, restart the broker, stop a store for a while.

The broker and the stores are the ones ``scripts/infra`` runs; they are brought back with
``scripts/infra up`` (which skips whatever is running), so a failed scenario still restores them.
"""

import asyncio
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

from caremesh_kit.devcluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "scripts" / "infra"
BROKER_PORT = 5672
STORES = {"scheduling": 27101, "records": 27102, "insurance": 27103, "notifications": 27104}
READY_SECONDS = 180  # a service's start on a busy two-core machine


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def infra_up() -> None:
    subprocess.run([str(INFRA), "up"], check=True, capture_output=True, timeout=300)


def infra_healthy() -> bool:
    # Ports, not rabbitmqctl: its CLI can hang for minutes when the node is busy.
    return all(_port_open(p) for p in (BROKER_PORT, *STORES.values()))


def restore() -> None:
    """Whatever a scenario stopped runs again."""
    if not infra_healthy():
        infra_up()


async def kill_service(cluster: Cluster, service: str) -> None:
    cluster.kill(service, signal.SIGKILL)

    def start() -> None:
        cluster.start(service)
        cluster.wait_ready(service, timeout=READY_SECONDS)

    await asyncio.to_thread(start)


def _pid(port: int) -> int:
    """The process listening on ``port`` (the broker's data folder, and so its pid file, can move)."""
    listening = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, timeout=30)
    found = re.findall(r"pid=(\d+),", listening.stdout)
    assert found, f"nothing listens on port {port}"
    return int(found[0])


async def _gone(port: int, seconds: float = 120) -> None:
    for _ in range(int(seconds * 4)):
        if not _port_open(port):
            return
        await asyncio.sleep(0.25)
    raise TimeoutError(f"port {port} still open")


async def _exited(pid: int, seconds: float = 120) -> None:
    for _ in range(int(seconds * 4)):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.25)
    raise TimeoutError(f"process {pid} still running")


async def restart_broker() -> None:
    """The node stops as on a shutdown (SIGTERM), then starts again through scripts/infra."""
    pid = _pid(BROKER_PORT)
    try:
        os.kill(pid, signal.SIGTERM)
        await _gone(BROKER_PORT)
        # The listener closes first; a node started before the old one has exited is refused.
        await _exited(pid)
    finally:
        await asyncio.to_thread(infra_up)


async def stop_store(service: str, seconds: float) -> None:
    pid = _pid(STORES[service])
    try:
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(seconds)
    finally:
        await asyncio.to_thread(infra_up)
