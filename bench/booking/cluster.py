"""The benchmark's own four-service cluster: isolated namespace, databases and ports, local addresses."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from booking.common import (
    AMQP_URL,
    HOST,
    MONGO_PORTS,
    PORT_OFFSET,
    SMTP_PORT,
    mongo_url,
)
from caremesh_kit.devcluster import SERVICES, Cluster


def make_cluster(namespace: str, db_suffix: str, log_dir: Path, secret: str) -> Cluster:
    env = {"NOTIFICATIONS_SMTP_HOST": HOST, "NOTIFICATIONS_SMTP_PORT": str(SMTP_PORT)}
    for svc in MONGO_PORTS:
        p = svc.upper() + "_"
        env |= {
            p + "JWT_SECRET": secret,
            p + "AMQP_URL": AMQP_URL,
            p + "MONGODB_URL": mongo_url(svc),
            p + "HTTP_HOST": HOST,
        }
    return Cluster(namespace=namespace, db_suffix=db_suffix, port_offset=PORT_OFFSET, log_dir=log_dir, extra_env=env)


def busy_ports() -> list[int]:
    """The cluster's ports that something already listens on. Checked before starting anything,
    whereas ``Cluster.start`` only notices when it reaches that service."""
    busy = []
    for port in (SERVICES[s] + PORT_OFFSET for s in SERVICES):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            if s.connect_ex((HOST, port)) == 0:
                busy.append(port)
    return busy


def peak_rss_mib(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """Each running service's peak resident set size so far (``VmHWM``) and its current one
    (``VmRSS``), in MiB, from /proc/<pid>/status. The pid is that of the service's python process
    (``Cluster.start`` runs ``python -m caremesh_<service>`` directly). Read just before the
    services are stopped, so the peak covers the set-up and the booking load."""
    out: dict[str, dict[str, Any]] = {}
    for svc, proc in cluster.procs.items():
        entry: dict[str, Any] = {"pid": proc.pid, "peak_mib": None, "current_mib": None}
        if proc.poll() is None:  # else the pid may be gone (or another process's by now)
            try:
                fields = dict(
                    line.split(":", 1)
                    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                    if ":" in line
                )
                for key, name in (("VmHWM", "peak_mib"), ("VmRSS", "current_mib")):
                    if key in fields:
                        entry[name] = int(fields[key].split()[0]) / 1024  # kB
            except OSError as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"
        else:
            entry["error"] = f"exited with {proc.returncode}"
        out[svc] = entry
    return out
