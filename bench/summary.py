"""Runs every benchmark and prints one table of the figures against the targets.

Run with ``uv run python bench/summary.py`` (``make bench`` does, after ``infra deps``); see
bench/README.md. Each benchmark runs as its own subprocess with ``--json`` and moderate sizes, one
after another, each with a time limit (on expiry it gets SIGINT, so it cleans up as on Ctrl-C,
then SIGKILL for its process group if it does not exit). A benchmark that fails or times out is
shown as FAILED in the table and the others still run. Progress (the benchmarks' stderr) goes to
stderr, the table to stdout.

Options: ``--only booking,store`` (a subset), ``--quick`` (smaller runs, a smoke test), ``--save
FILE`` (every benchmark's JSON, the rows and the commands in one file), ``--strict`` (exit 2 if a
target is not met), ``--<name>-args "..."`` (replace a benchmark's default arguments).

Exit codes: 0 every benchmark ran (targets met or not, unless ``--strict``), 1 a benchmark failed,
2 (``--strict``) a target not met, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# name -> (script, default args, quick args, time limit in seconds). The defaults are sized so the
# whole run stays within about 20 minutes on a 2-core machine; options a script does not list in
# its --help are dropped (the booking benchmark is still changing).
BENCHMARKS: dict[str, tuple[str, list[str], list[str], float]] = {
    # Closed loop, on empty stores and then pre-filled ones: throughput vs the bare chain, filled vs empty, RSS.
    "booking": (
        "booking_flow.py",
        ["--n", "150", "--concurrency", "20", "--compare-prefill", "10000"],
        ["--n", "30", "--concurrency", "10", "--compare-prefill", "1000"],
        900,
    ),
    # Open loop at 50 bookings/s offered: p99 vs the bare chain at the same rate.
    "booking_open": ("booking_flow.py", ["--n", "300", "--rate", "50"], ["--n", "50", "--rate", "50"], 600),
    "availability": (
        "availability.py",
        ["--concurrency", "8", "--searches", "300"],
        ["--concurrency", "8", "--practitioners", "20", "--bookings", "50", "--searches", "60"],
        420,
    ),
    "fhir_import": (
        "fhir_import.py",
        ["--copies", "2", "--no-bulk", "--fill", "10000"],
        ["--copies", "1", "--no-bulk", "--fill", "2000"],
        480,
    ),
    # --lead: the set-up (contacts, bookings, confirmations) takes ~30 s for 300 here; the run waits for it.
    "reminders": ("reminders.py", ["--n", "300", "--lead", "75"], ["--n", "30", "--lead", "45"], 480),
    "store": (
        "store.py",
        ["--sizes", "1000,10000,100000", "--op-seconds", "4"],
        ["--sizes", "1000,10000", "--quick"],
        480,
    ),
}


def say(msg: str) -> None:
    print(f"[summary] {msg}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    p.add_argument("--quick", action="store_true", help="small runs (a smoke test of the whole chain)")
    p.add_argument("--save", type=Path, help="write the benchmarks' JSON and the table's rows to this file")
    p.add_argument("--strict", action="store_true", help="exit 2 when a target is not met")
    p.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every benchmark's time limit")
    for name in BENCHMARKS:
        p.add_argument(
            f"--{name.replace('_', '-')}-args",
            dest=f"{name}_args",
            default=None,
            help=f"arguments for {BENCHMARKS[name][0]} instead of the defaults (--json is always added)",
        )
    a = p.parse_args()
    a.only = [x.strip() for x in a.only.split(",") if x.strip()] or list(BENCHMARKS)
    unknown = [x for x in a.only if x not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    return a


# ---------------------------------------------------------------- running


@dataclass
class Run:
    name: str
    command: list[str]
    returncode: int | None = None
    seconds: float = 0.0
    data: Any = None
    error: str | None = None
    stderr_tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.data is not None


def supported(script: Path, args: list[str]) -> list[str]:
    """``args`` without the options that ``script --help`` does not list (with their values)."""
    try:
        help_text = subprocess.run(
            [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=60, cwd=HERE.parent
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return args
    out, skip = [], False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg.startswith("--") and not re.search(re.escape(arg.split("=")[0]) + r"(?![\w-])", help_text):
            say(f"{script.name} has no {arg}; left out")
            skip = "=" not in arg and i + 1 < len(args) and not args[i + 1].startswith("--")
            continue
        out.append(arg)
    return out


def run_one(name: str, a: argparse.Namespace) -> Run:
    script_name, default, quick, limit = BENCHMARKS[name]
    script = HERE / script_name
    given = getattr(a, f"{name}_args")
    args = shlex.split(given) if given is not None else supported(script, quick if a.quick else default)
    cmd = [sys.executable, str(script), *args, "--json"]
    run = Run(name, cmd)
    limit *= a.timeout_scale
    say(f"{name}: {shlex.join(['python', f'bench/{script_name}', *args, '--json'])} (limit {limit:.0f} s)")
    started = time.monotonic()
    # Its own session, so a last-resort kill reaches the services it started and nothing else.
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE.parent, start_new_session=True
    )
    tail: list[str] = []

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            sys.stderr.write(f"  {name}| {line}")
            sys.stderr.flush()
            tail.append(line.rstrip())
            del tail[:-20]

    out: list[str] = []

    def collect() -> None:
        assert proc.stdout is not None
        out.append(proc.stdout.read())

    # One reader per pipe (communicate() would read stderr too, and steal lines from the pump).
    threads = [threading.Thread(target=pump, daemon=True), threading.Thread(target=collect, daemon=True)]
    for t in threads:
        t.start()
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        run.error = f"timed out after {limit:.0f} s"
        _stop(proc, name)
    except KeyboardInterrupt:
        _stop(proc, name)
        raise
    for t in threads:
        t.join(timeout=10)
    stdout = "".join(out)
    run.seconds = time.monotonic() - started
    run.returncode = proc.returncode
    run.stderr_tail = tail[-5:]
    try:
        run.data = json.loads(stdout) if stdout and stdout.strip() else None
    except json.JSONDecodeError as exc:
        run.error = run.error or f"output is not JSON ({exc})"
    if run.error is None and run.data is None:
        last = next((x for x in reversed(tail) if x.strip()), "")
        run.error = f"exit {proc.returncode}" + (f": {last[:140]}" if last else "")
    say(
        f"{name}: {'done' if run.ok else 'FAILED (' + str(run.error) + ')'} in {run.seconds:.0f} s "
        f"(exit {proc.returncode})"
    )
    return run


def _stop(proc: subprocess.Popen, name: str) -> None:
    """SIGINT (the benchmark cleans up as on Ctrl-C), then SIGKILL to its process group."""
    for sig, wait in ((signal.SIGINT, 180), (signal.SIGKILL, 30)):
        if proc.poll() is not None:
            return
        say(f"{name}: sending {sig.name}")
        try:
            if sig == signal.SIGKILL:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# ---------------------------------------------------------------- reading the JSON defensively


def leaves(obj: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], float]]:
    """Every number in a JSON tree with its path of keys (list items by index)."""
    if isinstance(obj, bool):
        return []
    if isinstance(obj, int | float):
        return [(path, float(obj))]
    if isinstance(obj, dict):
        return [x for k, v in obj.items() for x in leaves(v, (*path, str(k).lower()))]
    if isinstance(obj, list):
        return [x for i, v in enumerate(obj) for x in leaves(v, (*path, str(i)))]
    return []


def find(obj: Any, need: list[str], avoid: tuple[str, ...] = (), any_of: tuple[str, ...] = ()) -> float | None:
    """The first number whose path contains every ``need`` token, no ``avoid`` token and, if given,
    one of ``any_of`` (tokens match inside keys: "throughput" matches "throughput_per_s")."""
    for path, value in leaves(obj):
        joined = "/".join(path)
        if (
            all(t in joined for t in need)
            and not any(t in joined for t in avoid)
            and (not any_of or any(t in joined for t in any_of))
        ):
            return value
    return None


def section(data: Any, *names: str) -> Any:
    if isinstance(data, dict):
        for n in names:
            if n in data and data[n] is not None:
                return data[n]
    return None


BASE = ("baseline", "bare", "raw", "chain")
NOT_SUITE = (*BASE, "ratio", "stage", "poller", "mailpit", "observed", "config")


def ratio(x: float | None, y: float | None) -> float | None:
    return x / y if (x is not None and y) else None


# ---------------------------------------------------------------- rows


@dataclass
class Row:
    figure: str
    value: float | None = None
    baseline: float | None = None
    ratio: float | None = None
    target: str = "-"
    met: bool | None = None  # None: no target, or the figure could not be read
    unit: str = ""
    note: str = ""
    failed: str | None = None


def booking_rows(run: Run) -> list[Row]:
    """The closed-loop run: throughput against the bare chain, filled vs empty, RSS."""
    if not run.ok:
        return [Row("booking flow, closed loop", failed=run.error)]
    d = run.data
    closed = section(d, "closed_loop") or d
    suite = find(closed, ["throughput"], NOT_SUITE)
    base = find(closed, ["throughput"], ("ratio",), BASE)
    r = ratio(suite, base)
    rows = [
        Row(
            "booking throughput, closed loop (bookings/s)",
            suite,
            base,
            r,
            ">= 0.3x bare chain",
            None if r is None else r >= 0.3,
            "/s",
        )
    ]
    prefill = section(d, "prefill")
    if not isinstance(prefill, dict) or not isinstance(prefill.get("empty"), dict):
        rows.append(
            Row(
                "booking, filled vs empty store",
                target="within 20%",
                note="no filled and empty passes in booking_flow.py's JSON (--compare-prefill)",
            )
        )
    else:
        rows += _filled_vs_empty(prefill)
    return rows


def booking_open_rows(run: Run) -> list[Row]:
    """The open-loop run at 50 bookings/s offered: p99 against the bare chain at that rate."""
    if not run.ok:
        return [Row("booking flow, open loop", failed=run.error)]
    d = run.data
    loop = section(d, "open_loop")
    if loop is None:
        return [
            Row(
                "booking p99 at 50 bookings/s offered (ms)",
                target="<= 10x bare chain",
                note="no open_loop figures in booking_flow.py's JSON",
            )
        ]
    rate = _rate(loop)
    suite = find(loop, ["p99"], (*NOT_SUITE, "lag"))
    base = find(loop, ["p99"], ("ratio", "lag"), BASE)
    r = ratio(suite, base)
    done = find(loop, ["completed"], NOT_SUITE)
    failed = find(loop, ["failed"], NOT_SUITE)
    return [
        Row(
            f"booking p99 at {rate or '?'} bookings/s offered (ms)",
            suite,
            base,
            r,
            "<= 10x bare chain",
            None if r is None else r <= 10,
            " ms",
            f"{done:.0f} completed, {failed:.0f} failed" if done is not None and failed is not None else "",
        )
    ]


def _rate(loop: Any) -> str | None:
    if isinstance(loop, dict):
        for k in ("offered_rate_per_s", "rate_per_s", "offered_rate", "rate", "offered_per_s"):
            if isinstance(loop.get(k), int | float):
                return f"{loop[k]:g}"
    v = find(loop, ["rate"], ("ratio", "error"))
    return None if v is None else f"{v:g}"


def _filled_vs_empty(prefill: dict) -> list[Row]:
    """Suite throughput and p50 of the pre-filled pass against the empty one."""
    rows = []
    n = prefill.get("n")
    for metric, label, unit, good in (
        ("throughput", "throughput", "/s", lambda r: r >= 0.8),
        ("p50", "latency p50", " ms", lambda r: r <= 1.2),
    ):
        filled = find(prefill, [metric], ("empty", "ratio", *BASE, "lag", "offering", "rss"))
        empty = find(prefill["empty"], [metric], ("ratio", *BASE, "lag", "offering", "rss"))
        r = ratio(filled, empty)
        drift = find(prefill.get("ratios") or {}, [metric], any_of=BASE)
        rows.append(
            Row(
                f"booking {label}, filled vs empty store",
                filled,
                empty,
                r,
                "within 20%",
                None if r is None else good(r),
                unit,
                (f"{n:,} docs per hot collection; " if isinstance(n, int) else "")
                + (f"bare chain drifted {drift:.2f}x between the passes" if drift else ""),
            )
        )
    return rows


def rss_rows(runs: list[Run]) -> list[Row]:
    """Peak RSS per service over every booking pass (``rss_mib`` maps service -> MiB, plus a total)."""
    peaks: dict[str, float] = {}
    for run in runs:
        if not run.ok:
            continue
        for path, v in leaves(run.data):
            if len(path) >= 2 and path[-2] == "rss_mib" and path[-1] != "total":
                peaks[path[-1]] = max(v, peaks.get(path[-1], 0.0))
    if not peaks:
        return [Row("RSS per service (MiB)", target="<= 150 MiB", note="no rss_mib in booking_flow.py's JSON")]
    return [
        Row(
            f"RSS {svc}, peak (MiB)",
            v,
            target="<= 150 MiB",
            met=v <= 150,
            unit=" MiB",
            note="VmHWM over the booking runs",
        )
        for svc, v in sorted(peaks.items())
    ]


def availability_rows(run: Run) -> list[Row]:
    if not run.ok:
        return [Row("availability search p99", failed=run.error)]
    d = run.data
    p99 = find(section(d, "all") or d, ["p99"])
    p50 = find(section(d, "all") or d, ["p50"])
    c = d.get("concurrency") if isinstance(d, dict) else None
    rate = d.get("searches_per_s") if isinstance(d, dict) else None
    note = f"p50 {fmt(p50, ' ms')}, {fmt(rate, '/s')}; {d.get('practitioners')} practitioners, {d.get('days')} days"
    return [
        Row(
            f"availability search p99, {c} in flight (ms)",
            p99,
            target="<= 50 ms (8 in flight)",
            met=None if p99 is None else (p99 <= 50 and c == 8),
            unit=" ms",
            note=note + ("" if c == 8 else f"; run at concurrency {c}, not 8"),
        )
    ]


def fhir_rows(run: Run) -> list[Row]:
    if not run.ok:
        return [Row("FHIR import", failed=run.error)]
    d = run.data
    cmp = section(d, "empty_vs_filled") or {}
    phases = section(d, "phases") or {}
    empty = cmp.get("empty_resources_per_s") or find(phases, ["first import", "resources_per_s"], ("filled",))
    filled = cmp.get("filled_resources_per_s")
    rows = [
        Row(
            "FHIR import, empty store (resources/s)",
            empty,
            target=">= 500/s",
            met=None if empty is None else empty >= 500,
            unit="/s",
        )
    ]
    if filled is None:
        rows.append(Row("FHIR import, filled store (resources/s)", target=">= 500/s", note="no filled pass"))
    else:
        n = cmp.get("fill_history_entries")
        rows.append(
            Row(
                "FHIR import, filled store (resources/s)",
                filled,
                empty,
                ratio(filled, empty),
                ">= 500/s",
                filled >= 500,
                "/s",
                f"{n:,} history entries pre-inserted" if n else "",
            )
        )
    return rows


def reminder_rows(run: Run) -> list[Row]:
    if not run.ok:
        return [Row("due reminders/s", failed=run.error)]
    d = run.data
    v = d.get("due_reminders_per_s") if isinstance(d, dict) else None
    return [
        Row(
            f"due reminders/s ({d.get('n', '?')} due at once)",
            v,
            target=">= 500/s",
            met=None if v is None else v >= 500,
            unit="/s",
            note=f"sending rate {d['sending_rate_per_s']:.1f}/s" if d.get("sending_rate_per_s") else "",
        )
    ]


def store_rows(run: Run) -> list[Row]:
    if not run.ok:
        return [Row("store micro-benchmark", failed=run.error)]
    d = run.data
    lo, hi = d["sizes"][0], d["sizes"][-1]
    rows = []
    for op in d["ops"].values():
        g_hi, g_lo = op["gin"].get(str(hi), {}), op["gin"].get(str(lo), {})
        v, b = g_hi.get("median_ms"), g_lo.get("median_ms")
        background = op.get("kind") == "background"
        speedup = op.get("nogin_over_gin", {}).get(str(hi))
        without = op["nogin"].get(str(hi), {}).get("median_ms")
        note = f"without GIN: {fmt(without, ' ms')} ({speedup:.1f}x)" if speedup and without is not None else ""
        rows.append(
            Row(
                f"store {op['label']}, {_k(hi)} vs {_k(lo)} docs (ms)",
                v,
                b,
                ratio(v, b),
                "-" if background else "<= 2x",
                None if background or v is None or b is None else v / b <= 2.0,
                " ms",
                note + (" (background sweep, no target)" if background else ""),
            )
        )
    return rows


def _k(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"


READERS = {
    "booking": booking_rows,
    "booking_open": booking_open_rows,
    "availability": availability_rows,
    "fhir_import": fhir_rows,
    "reminders": reminder_rows,
    "store": store_rows,
}


# ---------------------------------------------------------------- the table


def fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "n/a"
    nd = 0 if abs(x) >= 1000 else 1 if abs(x) >= 10 else 2
    return f"{x:,.{nd}f}{unit}"


def table(rows: list[Row]) -> str:
    head = ("figure", "value", "baseline", "ratio", "target", "met?")
    cells = []
    for r in rows:
        if r.failed:
            cells.append((r.figure, "FAILED", "-", "-", r.target, "FAILED", r.failed))
            continue
        met = "n/a" if r.met is None and r.target != "-" else "-" if r.met is None else "yes" if r.met else "NO"
        cells.append(
            (
                r.figure,
                fmt(r.value, r.unit),
                fmt(r.baseline, r.unit) if r.baseline is not None else "-",
                f"{r.ratio:.2f}x" if r.ratio is not None else "-",
                r.target,
                met,
                r.note,
            )
        )
    widths = [max(len(head[i]), *(len(c[i]) for c in cells)) for i in range(6)]
    line = "  ".join(
        h.ljust(widths[i]) if i == 0 else h.rjust(widths[i]) if i < 4 else h.ljust(widths[i])
        for i, h in enumerate(head)
    )
    out = [line, "-" * len(line)]
    for c in cells:
        text = "  ".join(
            c[i].ljust(widths[i]) if i == 0 else c[i].rjust(widths[i]) if i < 4 else c[i].ljust(widths[i])
            for i in range(6)
        )
        out.append(text + (f"  {c[6]}" if c[6] else ""))
    return "\n".join(out)


def main() -> int:
    a = parse_args()
    started = time.monotonic()
    runs: list[Run] = []
    rows: list[Row] = []
    interrupted = False
    for name in a.only:
        try:
            run = run_one(name, a)
        except KeyboardInterrupt:
            interrupted = True
            say("interrupted")
            break
        runs.append(run)
        try:
            rows += READERS[name](run)
        except Exception as exc:  # noqa: BLE001 - a JSON shape the reader did not expect
            rows.append(Row(name, failed=f"could not read its JSON: {type(exc).__name__}: {exc}"))
        if run.ok and run.returncode != 0:
            rows.append(
                Row(
                    f"{name}: finished with exit {run.returncode}",
                    note="some items failed or something was left behind; see its output above",
                )
            )
        booking = [r for r in runs if r.name.startswith("booking")]
        if name.startswith("booking") and not any(n.startswith("booking") for n in a.only[a.only.index(name) + 1 :]):
            rows += rss_rows(booking)  # after the last booking run
    total = time.monotonic() - started
    print()
    print(
        f"CareMesh benchmarks: {len(runs)} run, {sum(not r.ok for r in runs)} failed, {total / 60:.1f} min "
        f"({', '.join(f'{r.name} {r.seconds:.0f} s' for r in runs)})"
    )
    print()
    print(table(rows))
    print()
    print("ratio: value / baseline. Store rows: median ms at the largest size vs the smallest, with the GIN indexes;")
    print("the note gives the same operation without them. met? n/a: the figure was not in the benchmark's output.")
    if a.save:
        a.save.write_text(
            json.dumps(
                {"seconds": total, "runs": [asdict(r) for r in runs], "rows": [asdict(r) for r in rows]},
                indent=2,
                default=str,
            )
        )
        say(f"saved to {a.save}")
    if interrupted:
        return 130
    if any(not r.ok for r in runs):
        return 1
    if a.strict and any(r.met is False for r in rows):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
