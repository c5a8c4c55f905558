"""Benchmark: the booking flow end to end, against a bare aio-pika chain with the same broker hops.

Run with ``uv run python bench/booking_flow.py [--n 200] [--concurrency 20] [--json]``; see
bench/README.md. The script starts its own four-service cluster in a namespace of its own
(``bench-<uuid>``, ports 8201-8204, databases ``caremesh_<service>_bench_<short>``) and removes
everything it created afterwards: processes, queues and exchanges, databases, Mailpit messages.
Every target is on 127.0.0.1 and every wait is bounded. The parts live in ``bench/booking/``, importable
as ``booking`` because Python puts the script's folder first on sys.path.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from booking.baseline import Baseline
from booking.cleanup import anything_left, clean_up
from booking.cluster import busy_ports, make_cluster
from booking.common import HOPS, say
from booking.report import Figures, json_report, text_report
from booking.suite import FullSuite
from caremesh_kit.devcluster import SERVICES


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="measured bookings (and baseline messages); default 200")
    p.add_argument("--concurrency", type=int, default=20, help="bookings in flight end to end; default 20")
    p.add_argument("--warmup", type=int, default=10, help="unmeasured bookings/messages run first; default 10")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    p.add_argument("--poll-interval", type=float, default=0.05, help="seconds between polls for sent emails")
    p.add_argument("--booking-timeout", type=float, default=60, help="seconds one booking may take end to end")
    p.add_argument("--http-timeout", type=float, default=15, help="seconds per HTTP request")
    p.add_argument("--setup-concurrency", type=int, default=10, help="parallel requests while setting up")
    p.add_argument("--setup-timeout", type=float, default=120, help="seconds to wait for notifications' contacts")
    p.add_argument("--timeout", type=float, default=900, help="seconds the whole full-suite phase may take")
    p.add_argument("--baseline-event-log", action="store_true",
                   help="also bind a stream to '#' in the baseline, as the services' event log is")
    p.add_argument("--log-dir", type=Path, help="service logs (default: a temp folder, removed on success)")
    p.add_argument("--keep-logs", action="store_true", help="keep the service logs even on success")
    a = p.parse_args()
    if not (1 <= a.n <= 100_000 and 1 <= a.concurrency <= 1000 and 0 <= a.warmup <= 10_000):
        p.error("need 1 <= n <= 100000, 1 <= concurrency <= 1000, 0 <= warmup <= 10000")
    if not 0.005 <= a.poll_interval <= 5:
        p.error("--poll-interval must be between 0.005 and 5 seconds")
    return a


def main() -> int:
    a = parse_args()
    run_id = uuid.uuid4().hex
    short = run_id[:8]
    namespace, raw_namespace = f"bench-{run_id}", f"bench-raw-{run_id}"
    db_suffix = f"_bench_{short}"
    log_dir = a.log_dir or Path(tempfile.mkdtemp(prefix=f"caremesh-bench-{short}-"))
    secret = f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    cluster = make_cluster(namespace, db_suffix, log_dir, secret)
    cfg = {"n": a.n, "concurrency": a.concurrency, "warmup": a.warmup, "poll_interval_ms": a.poll_interval * 1000,
           "namespace": namespace, "baseline_namespace": raw_namespace, "db_suffix": db_suffix,
           "baseline_event_log": a.baseline_event_log, "hops": len(HOPS)}
    say(f"run {run_id}: namespace {namespace}, databases caremesh_*{db_suffix}, logs in {log_dir}")

    full: dict[str, Any] | None = None
    base: Figures | None = None
    failure: BaseException | None = None
    try:
        busy = busy_ports()
        if busy:
            raise RuntimeError(f"ports already in use: {busy}")
        try:
            t = time.perf_counter()
            cluster.up()
            say(f"cluster ready in {time.perf_counter() - t:.1f}s at {', '.join(cluster.url(s) for s in SERVICES)}")
            full = asyncio.run(asyncio.wait_for(FullSuite(cluster, a, short, secret).run(), timeout=a.timeout))
        finally:
            say("stopping the cluster")
            cluster.down()
        # The baseline runs with the services stopped, so they do not compete for CPU or broker.
        base = asyncio.run(asyncio.wait_for(Baseline(raw_namespace, a).run(), timeout=a.timeout))
    except BaseException as exc:  # noqa: BLE001 - reported below after cleanup (incl. Ctrl-C)
        failure = exc
    finally:
        cleanup = clean_up(cluster, namespace, raw_namespace)
        if failure is None and not a.keep_logs and a.log_dir is None:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            say(f"service logs kept in {log_dir}")

    if failure is not None:
        if isinstance(failure, KeyboardInterrupt):
            say("interrupted")
            return 130
        say(f"FAILED: {type(failure).__name__}: {failure}")
        return 1
    assert full is not None and base is not None
    print(json_report(cfg, full, base, cleanup) if a.json else text_report(cfg, full, base, cleanup))
    return 0 if (full["record"].failed == 0 and base.failed == 0 and not anything_left(cleanup)) else 2


if __name__ == "__main__":
    sys.exit(main())
