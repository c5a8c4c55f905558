"""Statistics (nearest-rank percentiles, Figures) and the text and JSON reports."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from booking.cleanup import describe


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Figures:
    """Latencies in milliseconds and throughput in completed operations per second."""

    completed: int
    failed: int
    p50_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    max_ms: float | None
    throughput_per_s: float | None
    wall_s: float

    @classmethod
    def of(cls, latencies_s: list[float], failed: int, first_start: float | None, last_done: float | None) -> Figures:
        ms = [x * 1000 for x in latencies_s]
        wall = (last_done - first_start) if (first_start is not None and last_done is not None) else 0.0
        return cls(
            completed=len(ms),
            failed=failed,
            p50_ms=percentile(ms, 50),
            p99_ms=percentile(ms, 99),
            mean_ms=(sum(ms) / len(ms)) if ms else None,
            max_ms=max(ms) if ms else None,
            throughput_per_s=(len(ms) / wall) if wall > 0 else None,
            wall_s=wall,
        )


def _ratio(a: float | None, b: float | None) -> float | None:
    return (a / b) if (a is not None and b) else None


def ratios(rec: Figures, base: Figures) -> dict[str, float | None]:
    """Full suite over baseline."""
    return {
        "latency_p50": _ratio(rec.p50_ms, base.p50_ms),
        "latency_p99": _ratio(rec.p99_ms, base.p99_ms),
        "throughput": _ratio(rec.throughput_per_s, base.throughput_per_s),
    }


def fmt(x: float | None, nd: int = 1) -> str:
    return "n/a" if x is None else f"{x:,.{nd}f}"


def figures(f: Figures) -> dict[str, Any]:
    """A Figures as JSON, with ``throughput`` (completed/s) beside ``throughput_per_s``."""
    return asdict(f) | {"throughput": f.throughput_per_s}


def _rel(a: float | None, b: float | None) -> float | None:
    """Filled over empty."""
    return _ratio(a, b)


def prefill_ratios(filled: Figures, empty: Figures) -> dict[str, float | None]:
    return {
        "throughput": _rel(filled.throughput_per_s, empty.throughput_per_s),
        "p50_ms": _rel(filled.p50_ms, empty.p50_ms),
        "p99_ms": _rel(filled.p99_ms, empty.p99_ms),
    }


def rss_mib(p: dict) -> dict[str, float | None]:
    """Peak RSS (VmHWM) per service in MiB, and their total."""
    peaks = {svc: v.get("peak_mib") for svc, v in (p.get("rss") or {}).items()}
    known = [v for v in peaks.values() if v is not None]
    return peaks | {"total": sum(known) if known else None}


def _table(rec: Figures, base: Figures) -> list[str]:
    r = ratios(rec, base)
    w = 30
    return [
        f"{'':<{w}}{'full suite':>14}{'baseline':>14}{'full/baseline':>16}",
        f"{'latency p50 (ms)':<{w}}{fmt(rec.p50_ms):>14}{fmt(base.p50_ms):>14}{fmt(r['latency_p50'], 2) + 'x':>16}",
        f"{'latency p99 (ms)':<{w}}{fmt(rec.p99_ms):>14}{fmt(base.p99_ms):>14}{fmt(r['latency_p99'], 2) + 'x':>16}",
        (
            f"{'throughput (completed/s)':<{w}}{fmt(rec.throughput_per_s):>14}{fmt(base.throughput_per_s):>14}"
            f"{fmt(r['throughput'], 3) + 'x':>16}"
        ),
        f"{'completed / failed':<{w}}{f'{rec.completed} / {rec.failed}':>14}{f'{base.completed} / {base.failed}':>14}",
        (
            f"{'mean / max latency (ms)':<{w}}{f'{fmt(rec.mean_ms)} / {fmt(rec.max_ms)}':>14}"
            f"{f'{fmt(base.mean_ms)} / {fmt(base.max_ms)}':>14}"
        ),
    ]


def _offering(name: str, o: dict | None) -> str:
    if not o:
        return f"  {name}: n/a"
    return (
        f"  {name}: {o['offered']} offered over {o['offering_s']:.1f}s; "
        f"offer lag p99 {fmt(o['offer_lag_p99_ms'])} ms, "
        f"max {fmt(o['offer_lag_max_ms'])} ms ({o['late_offers_over_10ms']} over 10 ms); "
        f"{o['unfinished_at_deadline']} unfinished {o['deadline_s']:g}s after the last offer"
    )


def _pass_text(cfg: dict, p: dict) -> list[str]:
    full, base = p["full"], p["base"]
    rec: Figures = full["record"]
    obs: Figures = full["observed"]
    mp: Figures = full["mailpit"]
    if cfg["mode"] == "open_loop":
        loop = (
            f"rate={cfg['rate_per_s']:g}/s offered (open loop, deadline {cfg['open_deadline_s']:g}s "
            "after the last offer)"
        )
    else:
        loop = f"concurrency={cfg['concurrency']} (closed loop)"
    stores = (
        f"stores pre-filled with {p['prefill_n']:,} documents per hot collection" if p["prefill_n"] else "empty stores"
    )
    lines = [
        "",
        f"CareMesh booking flow benchmark [{p['label']}]: n={cfg['n']} {loop}, warm-up={cfg['warmup']}, {stores}",
        "",
        *_table(rec, base),
        "",
        "full suite: POST /appointments sent -> message record's sent_at (email sent and recorded);",
        "baseline:   first publish -> last (3rd) hop consumed. Latency ratios >1x: the suite is slower;",
        "            throughput ratio <1x: the suite completes fewer per second.",
    ]
    if cfg["mode"] == "open_loop":
        lines += [
            "",
            f"open loop at {cfg['rate_per_s']:g}/s offered (achieved: suite {fmt(rec.throughput_per_s)}/s, "
            f"baseline {fmt(base.throughput_per_s)}/s):",
            _offering("full suite", full.get("open_loop")),
            _offering("baseline  ", p.get("base_open")),
        ]
    rss = rss_mib(p)
    lines += [
        "",
        "peak RSS per service (VmHWM, MiB, just before stopping): "
        + ", ".join(f"{svc} {fmt(v)}" for svc, v in rss.items()),
    ]
    if p.get("prefill"):
        pf = p["prefill"]
        left = p.get("prefill_left") or {}
        n_left = sum(sum(c.values()) for c in left.values())
        n_commits = sum(v for c in pf["inserted"].values() for k, v in c.items() if k.endswith(".commits"))
        lines += [
            f"prefill: {pf['documents']:,} documents in {sum(len(c) for c in pf['inserted'].values())} "
            f"collections in {pf['seconds']:.1f}s (claims for {', '.join(pf['claim_days'])}); "
            f"prefilled commits still there at the end: {n_left:,} of {n_commits:,}"
        ]
    lines += [
        "",
        "full suite cross-checks:",
        (
            f"  seen by the {cfg['poll_interval_ms']:.0f} ms poller: "
            f"p50 {fmt(obs.p50_ms)} ms, p99 {fmt(obs.p99_ms)} ms "
            f"({full['poll_queries']} queries, {full['poll_errors']} errors)"
            if cfg["completion"] == "poll"
            else f"  message.sent event received by the benchmark: p50 {fmt(obs.p50_ms)} ms, p99 {fmt(obs.p99_ms)} ms "
            f"({full['events_seen']} events)"
        ),
        (
            f"  Mailpit Created (SMTP accepted): p50 {fmt(mp.p50_ms)} ms, p99 {fmt(mp.p99_ms)} ms "
            f"({full['mailpit_found']} emails found for {cfg['warmup'] + cfg['n']} bookings incl. warm-up)"
        ),
        "",
        "full suite stages (services' own timestamps; each includes the outbox relay and broker hop before it):",
        *[
            f"  {name:<46} p50 {fmt(v['p50_ms']):>9} ms   p99 {fmt(v['p99_ms']):>9} ms"
            for name, v in full["stages"].items()
        ],
        "",
        f"cleanup: {describe(p['cleanup'])}; mailpit {full['mailpit_deleted']} message(s) deleted",
    ]
    return lines


def text_report(cfg: dict, passes: list[dict]) -> str:
    lines: list[str] = []
    for p in passes:
        lines += _pass_text(cfg, p)
    if len(passes) == 2:
        empty, filled = passes
        e, f = empty["full"]["record"], filled["full"]["record"]
        eb, fb = empty["base"], filled["base"]
        r, rb = prefill_ratios(f, e), prefill_ratios(fb, eb)
        er, fr = rss_mib(empty), rss_mib(filled)
        w = 30
        lines += [
            "",
            f"Pre-filled ({filled['prefill_n']:,} documents per hot collection) vs empty stores, same options:",
            "",
            f"{'':<{w}}{'empty':>12}{'pre-filled':>12}{'filled/empty':>14}",
            f"{'suite throughput (/s)':<{w}}{fmt(e.throughput_per_s):>12}{fmt(f.throughput_per_s):>12}"
            f"{fmt(r['throughput'], 3) + 'x':>14}",
            f"{'suite latency p50 (ms)':<{w}}{fmt(e.p50_ms):>12}{fmt(f.p50_ms):>12}{fmt(r['p50_ms'], 2) + 'x':>14}",
            f"{'suite latency p99 (ms)':<{w}}{fmt(e.p99_ms):>12}{fmt(f.p99_ms):>12}{fmt(r['p99_ms'], 2) + 'x':>14}",
            f"{'suite completed / failed':<{w}}{f'{e.completed} / {e.failed}':>12}{f'{f.completed} / {f.failed}':>12}",
            f"{'baseline throughput (/s)':<{w}}{fmt(eb.throughput_per_s):>12}{fmt(fb.throughput_per_s):>12}"
            f"{fmt(rb['throughput'], 3) + 'x':>14}",
            f"{'baseline latency p50 (ms)':<{w}}{fmt(eb.p50_ms):>12}{fmt(fb.p50_ms):>12}"
            f"{fmt(rb['p50_ms'], 2) + 'x':>14}",
            *[
                f"{'peak RSS ' + svc + ' (MiB)':<{w}}{fmt(er.get(svc)):>12}{fmt(fr.get(svc)):>12}"
                f"{fmt(_rel(fr.get(svc), er.get(svc)), 2) + 'x':>14}"
                for svc in fr
            ],
            "",
            "The baseline does not touch the stores: its ratio shows how much the machine drifted between passes.",
        ]
    return "\n".join(lines)


def _loop_summary(cfg: dict, p: dict) -> dict[str, Any]:
    """The figures one pass gives in the run's mode: suite, baseline and suite/baseline ratios."""
    out: dict[str, Any] = {
        "pass": p["label"],
        "prefill_n": p["prefill_n"],
        "suite": figures(p["full"]["record"]),
        "baseline": figures(p["base"]),
        "ratios": ratios(p["full"]["record"], p["base"]),
    }
    if cfg["mode"] == "open_loop":
        out |= {"offered_rate_per_s": cfg["rate_per_s"], "deadline_s": cfg["open_deadline_s"]}
        out["suite"]["offering"] = p["full"].get("open_loop")
        out["baseline"]["offering"] = p.get("base_open")
    return out


def _pass_json(p: dict) -> dict[str, Any]:
    full = p["full"]
    return {
        "label": p["label"],
        "prefill_n": p["prefill_n"],
        "run_id": p["run_id"],
        "namespace": p["namespace"],
        "baseline_namespace": p["baseline_namespace"],
        "db_suffix": p["db_suffix"],
        "full_suite": {
            **figures(full["record"]),
            "observed": asdict(full["observed"]),
            "observed_by_poller": asdict(full["observed"]),
            "completion": full["completion"],
            "mailpit_created": asdict(full["mailpit"]),
            "poll_queries": full["poll_queries"],
            "poll_errors": full["poll_errors"],
            "events_seen": full["events_seen"],
            "mailpit_found": full["mailpit_found"],
            "stages": full["stages"],
            "offering": full.get("open_loop"),
        },
        "baseline": figures(p["base"]) | {"offering": p.get("base_open")},
        "ratios_full_over_baseline": ratios(full["record"], p["base"]),
        "rss": p["rss"],
        "rss_mib": rss_mib(p),
        "prefill": p["prefill"],
        "prefill_commits_left": p["prefill_left"],
        "cleanup": p["cleanup"] | {"mailpit_deleted": full["mailpit_deleted"]},
    }


def json_report(cfg: dict, passes: list[dict]) -> str:
    """Stable keys: ``closed_loop`` / ``open_loop`` (the run's mode; the other is null) hold the
    first pass (empty stores, unless only ``--prefill`` was given); ``prefill`` the pre-filled
    pass and, with ``--compare-prefill``, the empty one and the filled/empty ratios; ``rss_mib``
    the first pass's peak RSS per service. ``passes`` has every detail of every pass; the
    older top-level keys (``full_suite``, ``baseline``, ``ratios_full_over_baseline``,
    ``cleanup``) describe the first pass."""
    first = passes[0]
    filled = next((p for p in passes if p["prefill_n"]), None)
    empty = next((p for p in passes if not p["prefill_n"]), None)
    prefill: dict[str, Any] | None = None
    if filled is not None:
        prefill = {
            "n": filled["prefill_n"],
            "suite": figures(filled["full"]["record"]),
            "baseline": figures(filled["base"]),
            "ratios_suite_over_baseline": ratios(filled["full"]["record"], filled["base"]),
            "rss_mib": rss_mib(filled),
            "empty": None,
            "ratios": None,
            "documents": filled["prefill"]["documents"],
            "seconds": filled["prefill"]["seconds"],
            "inserted": filled["prefill"]["inserted"],
            "commits_left": filled["prefill_left"],
        }
        if empty is not None:
            prefill["empty"] = {
                "suite": figures(empty["full"]["record"]),
                "baseline": figures(empty["base"]),
                "rss_mib": rss_mib(empty),
            }
            prefill["ratios"] = prefill_ratios(filled["full"]["record"], empty["full"]["record"]) | {
                "baseline": prefill_ratios(filled["base"], empty["base"]),
                "rss_total": _rel(rss_mib(filled)["total"], rss_mib(empty)["total"]),
            }
    detail = _pass_json(first)
    summary = {
        "config": cfg,
        "mode": cfg["mode"],
        "closed_loop": _loop_summary(cfg, first) if cfg["mode"] == "closed_loop" else None,
        "open_loop": _loop_summary(cfg, first) if cfg["mode"] == "open_loop" else None,
        "prefill": prefill,
        "rss_mib": rss_mib(first),
        "passes": [_pass_json(p) for p in passes],
        "full_suite": detail["full_suite"],
        "baseline": detail["baseline"],
        "ratios_full_over_baseline": detail["ratios_full_over_baseline"],
        "cleanup": detail["cleanup"],
    }
    return json.dumps(summary, indent=2, default=str)
