"""Run the services as separate local processes (``make run``, end-to-end tests, benchmarks)."""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

SERVICES = {"scheduling": 8001, "records": 8002, "insurance": 8003, "notifications": 8004}
# The partner gateway: started by ``make run`` and by the tests that ask for it (``up(gateway=True)``).
GATEWAY = {"partners": 8005}
PORTS = SERVICES | GATEWAY
# Set for a test run (the root conftest.py): every cluster's service logs are kept there, so that
# one test can scan them all for patient data at the end of the run.
TEST_LOG_DIR = "CAREMESH_TEST_LOG_DIR"


@dataclass
class Cluster:
    """Starts each service as ``python -m caremesh_<name>`` with its own environment."""

    namespace: str = "caremesh"
    db_suffix: str = ""
    port_offset: int = 0
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{PORTS[service] + self.port_offset}"

    def env(self, service: str) -> dict[str, str]:
        p = service.upper() + "_"
        env = dict(os.environ)
        env.update(
            {
                p + "BUS_NAMESPACE": self.namespace,
                p + "HTTP_PORT": str(PORTS[service] + self.port_offset),
                p + "MONGODB_DB": f"caremesh_{service}{self.db_suffix}",
            }
        )
        if os.environ.get("CAREMESH_API_DOCS"):
            env[p + "API_DOCS"] = "true"
        env.update(self.extra_env)
        return env

    def __post_init__(self) -> None:
        run_dir = os.environ.get(TEST_LOG_DIR)
        if run_dir and self.log_dir is None:
            self.log_dir = Path(run_dir) / f"{self.namespace}-{uuid.uuid4().hex[:6]}"

    def _log_file(self, service: str) -> IO[bytes] | None:
        if not self.log_dir:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        path = self.log_dir / f"{service}.log"
        run_dir = os.environ.get(TEST_LOG_DIR)
        if run_dir and not path.resolve().is_relative_to(Path(run_dir).resolve()):
            # A log kept elsewhere (e.g. the end-to-end suite's) is linked into the run's folder.
            link = Path(run_dir) / f"{self.namespace}-{service}.log"
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() and link.resolve() != path.resolve():  # another cluster's, same namespace
                link = link.with_name(f"{self.namespace}-{uuid.uuid4().hex[:6]}-{service}.log")
            if not link.is_symlink():
                link.symlink_to(path.resolve())
        return open(path, "ab")  # lives as long as the process

    def start(self, service: str) -> None:
        port = PORTS[service] + self.port_offset
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                # Else readiness would be answered by whatever holds the port.
                raise RuntimeError(f"port {port} for {service} is already in use")
        out: int | IO[bytes] = self._log_file(service) or subprocess.DEVNULL
        self.procs[service] = subprocess.Popen(
            [sys.executable, "-m", f"caremesh_{service}"], env=self.env(service), stdout=out, stderr=subprocess.STDOUT
        )

    def wait_ready(self, service: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[service]
            if proc.poll() is not None:
                raise RuntimeError(f"{service} exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(self.url(service) + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{service} not ready after {timeout}s")

    def up(self, gateway: bool = False) -> "Cluster":
        started = [*SERVICES, *(GATEWAY if gateway else ())]
        for s in started:
            self.start(s)
        for s in started:
            self.wait_ready(s)
        return self

    def kill(self, service: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[service]
        proc.send_signal(sig)
        proc.wait(timeout=30)

    def restart(self, service: str) -> None:
        self.start(service)
        self.wait_ready(service)

    def down(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    """Start the services and the partner gateway in the foreground; Ctrl-C stops them cleanly."""
    argparse.ArgumentParser(prog="caremesh-run", description=main.__doc__).parse_args()
    cluster = Cluster(log_dir=Path(".local/logs"))
    failed = False
    try:
        for s in PORTS:
            cluster.start(s)
        for s in PORTS:
            cluster.wait_ready(s)
        print("\nCareMesh is running:")
        for s in PORTS:
            print(f"  {s:<14} {cluster.url(s)}   (OpenAPI: {cluster.url(s)}/docs)")
        print("  rabbitmq       http://127.0.0.1:15672 (guest/guest)")
        print("  mailpit        http://127.0.0.1:8025")
        print(f"\nJSON logs: {cluster.log_dir}/<service>.log\nCtrl-C to stop.", flush=True)
        while all(p.poll() is None for p in cluster.procs.values()):
            time.sleep(0.5)
        print("a service exited; stopping the others", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    except RuntimeError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        failed = True
    else:
        failed = True  # a service exited on its own
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        cluster.down()
    if failed:
        sys.exit(1)
