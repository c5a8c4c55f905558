"""Benchmark: the booking flow end to end, against a bare aio-pika chain with the same broker hops.

Run with ``uv run python bench/booking_flow.py [--n 200] [--concurrency 20 | --rate 50]
[--prefill N | --compare-prefill N] [--json]``; see bench/README.md. Each pass starts its own
four-service cluster in a namespace of its own (``bench-<uuid>``, ports 8201-8204, databases
``caremesh_<service>_bench_<short>``) and removes everything it created afterwards: processes,
queues and exchanges, databases, Mailpit messages. Every target is on 127.0.0.1 and every wait is
bounded. The parts live in ``bench/booking/``, importable as ``booking`` because Python puts the
script's folder first on sys.path.
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
from booking.cluster import busy_ports, make_cluster, peak_rss_mib
from booking.common import HOPS, say
from booking.prefill import Prefill, prefilled_left
from booking.report import json_report, text_report
from booking.suite import FullSuite

from caremesh_kit.devcluster import SERVICES

MAX_PREFILL = 200_000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="measured bookings (and baseline messages); default 200")
    p.add_argument(
        "--concurrency",
        type=int,
        default=20,
        help="bookings in flight end to end (closed loop, and every warm-up); default 20",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="open loop: offer bookings (and baseline messages) at this rate per second, "
        "whether or not earlier ones completed; default: the closed loop",
    )
    p.add_argument(
        "--open-deadline",
        type=float,
        default=60,
        help="open loop: seconds after the last offer until what has not completed counts as failed; default 60",
    )
    p.add_argument(
        "--prefill",
        type=int,
        default=0,
        metavar="N",
        help="insert N documents into each hot collection of each service before it starts",
    )
    p.add_argument(
        "--compare-prefill",
        type=int,
        default=0,
        metavar="N",
        help="two passes, with empty stores and then with --prefill N, and their ratios",
    )
    p.add_argument("--warmup", type=int, default=10, help="unmeasured bookings/messages run first; default 10")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    p.add_argument(
        "--completion",
        choices=["event", "poll"],
        default="event",
        help="how a booking's email is seen as sent: notifications' message.sent events (default), "
        "or a query on its messages collection every --poll-interval (the older way)",
    )
    p.add_argument(
        "--poll-interval", type=float, default=0.05, help="--completion poll: seconds between polls for sent emails"
    )
    p.add_argument("--booking-timeout", type=float, default=60, help="seconds one booking may take end to end")
    p.add_argument("--http-timeout", type=float, default=15, help="seconds per HTTP request")
    p.add_argument("--setup-concurrency", type=int, default=10, help="parallel requests while setting up")
    p.add_argument("--setup-timeout", type=float, default=120, help="seconds to wait for notifications' contacts")
    p.add_argument("--timeout", type=float, default=900, help="seconds the whole full-suite phase may take")
    p.add_argument(
        "--baseline-event-log",
        action="store_true",
        help="also bind a stream to '#' in the baseline, as the services' event log is",
    )
    p.add_argument("--log-dir", type=Path, help="service logs (default: a temp folder, removed on success)")
    p.add_argument("--keep-logs", action="store_true", help="keep the service logs even on success")
    a = p.parse_args()
    if not (1 <= a.n <= 100_000 and 1 <= a.concurrency <= 1000 and 0 <= a.warmup <= 10_000):
        p.error("need 1 <= n <= 100000, 1 <= concurrency <= 1000, 0 <= warmup <= 10000")
    if not 0.005 <= a.poll_interval <= 5:
        p.error("--poll-interval must be between 0.005 and 5 seconds")
    if a.rate is not None:
        if not 0.01 <= a.rate <= 10_000:
            p.error("--rate must be between 0.01 and 10000 per second")
        if not 1 <= a.open_deadline <= 3600:
            p.error("--open-deadline must be between 1 and 3600 seconds")
        if a.n / a.rate + a.open_deadline > a.timeout:
            p.error(
                f"n / rate + --open-deadline = {a.n / a.rate + a.open_deadline:.0f}s exceeds --timeout "
                f"{a.timeout:.0f}s (which also covers the set-up): raise --timeout"
            )
    if a.prefill and a.compare_prefill:
        p.error("--prefill and --compare-prefill are alternatives")
    for opt in ("prefill", "compare_prefill"):
        if not 0 <= getattr(a, opt) <= MAX_PREFILL:
            p.error(f"--{opt.replace('_', '-')} must be between 0 and {MAX_PREFILL}")
    return a


def run_pass(a: argparse.Namespace, label: str, prefill_n: int) -> dict[str, Any]:
    """One pass: (prefill), the cluster, the full suite, peak RSS, the baseline, then cleanup.
    Everything it creates is its own (namespace, databases, log folder). Returns the pass's
    figures, or the exception under "failure"."""
    run_id = uuid.uuid4().hex
    short = run_id[:8]
    namespace, raw_namespace = f"bench-{run_id}", f"bench-raw-{run_id}"
    db_suffix = f"_bench_{short}"
    log_dir = (a.log_dir / label) if a.log_dir else Path(tempfile.mkdtemp(prefix=f"caremesh-bench-{short}-"))
    secret = f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    cluster = make_cluster(namespace, db_suffix, log_dir, secret)
    say(f"pass '{label}' (run {run_id}): namespace {namespace}, databases caremesh_*{db_suffix}, logs in {log_dir}")
    out: dict[str, Any] = {
        "label": label,
        "prefill_n": prefill_n,
        "run_id": run_id,
        "namespace": namespace,
        "baseline_namespace": raw_namespace,
        "db_suffix": db_suffix,
        "prefill": None,
        "prefill_left": None,
        "rss": None,
        "failure": None,
    }
    try:
        busy = busy_ports()
        if busy:
            raise RuntimeError(f"ports already in use: {busy}")
        if prefill_n:
            # Before the services start: their index set-up at start then finds the collections filled.
            out["prefill"] = Prefill(prefill_n, short, db_suffix, a.warmup + a.n).run()
        try:
            t = time.perf_counter()
            cluster.up()
            say(f"cluster ready in {time.perf_counter() - t:.1f}s at {', '.join(cluster.url(s) for s in SERVICES)}")
            out["full"] = asyncio.run(asyncio.wait_for(FullSuite(cluster, a, short, secret).run(), timeout=a.timeout))
        finally:
            out["rss"] = peak_rss_mib(cluster)  # just before stopping them (also after a failure)
            say("stopping the cluster")
            cluster.down()
        if out["prefill"] is not None:
            out["prefill_left"] = prefilled_left(db_suffix, out["prefill"])
        # The baseline runs with the services stopped, so they do not compete for CPU or broker.
        baseline = Baseline(raw_namespace, a)
        out["base"] = asyncio.run(asyncio.wait_for(baseline.run(), timeout=a.timeout))
        out["base_open"] = baseline.open_stats
    except BaseException as exc:  # noqa: BLE001 - reported by main after cleanup (incl. Ctrl-C)
        out["failure"] = exc
    finally:
        out["cleanup"] = clean_up(cluster, namespace, raw_namespace)
        if out["failure"] is None and not a.keep_logs and a.log_dir is None:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            say(f"service logs kept in {log_dir}")
    return out


def main() -> int:
    a = parse_args()
    if a.compare_prefill:
        plan = [("empty", 0), ("prefilled", a.compare_prefill)]
    else:
        plan = [("prefilled" if a.prefill else "empty", a.prefill)]
    cfg = {
        "n": a.n,
        "concurrency": a.concurrency,
        "warmup": a.warmup,
        "completion": a.completion,
        "poll_interval_ms": a.poll_interval * 1000 if a.completion == "poll" else None,
        "mode": "open_loop" if a.rate else "closed_loop",
        "rate_per_s": a.rate,
        "open_deadline_s": a.open_deadline if a.rate else None,
        "prefill": a.prefill,
        "compare_prefill": a.compare_prefill,
        "passes": [label for label, _ in plan],
        "baseline_event_log": a.baseline_event_log,
        "hops": len(HOPS),
    }

    passes: list[dict[str, Any]] = []
    for label, prefill_n in plan:
        passes.append(run_pass(a, label, prefill_n))
        failure = passes[-1]["failure"]
        if failure is not None:
            if isinstance(failure, KeyboardInterrupt):
                say("interrupted")
                return 130
            say(f"FAILED in pass '{label}': {type(failure).__name__}: {failure}")
            return 1
    print(json_report(cfg, passes) if a.json else text_report(cfg, passes))
    clean = all(
        p["full"]["record"].failed == 0 and p["base"].failed == 0 and not anything_left(p["cleanup"]) for p in passes
    )
    return 0 if clean else 2


if __name__ == "__main__":
    sys.exit(main())
