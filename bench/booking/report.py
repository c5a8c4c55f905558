"""Statistics (nearest-rank percentiles, Figures) and the text and JSON reports."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

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
            completed=len(ms), failed=failed,
            p50_ms=percentile(ms, 50), p99_ms=percentile(ms, 99),
            mean_ms=(sum(ms) / len(ms)) if ms else None, max_ms=max(ms) if ms else None,
            throughput_per_s=(len(ms) / wall) if wall > 0 else None, wall_s=wall,
        )


def _ratio(a: float | None, b: float | None) -> float | None:
    return (a / b) if (a is not None and b) else None


def ratios(rec: Figures, base: Figures) -> dict[str, float | None]:
    """Full suite over baseline."""
    return {"latency_p50": _ratio(rec.p50_ms, base.p50_ms), "latency_p99": _ratio(rec.p99_ms, base.p99_ms),
            "throughput": _ratio(rec.throughput_per_s, base.throughput_per_s)}


def fmt(x: float | None, nd: int = 1) -> str:
    return "n/a" if x is None else f"{x:,.{nd}f}"


def text_report(cfg: dict, full: dict, base: Figures, cleanup: dict) -> str:
    rec: Figures = full["record"]
    obs: Figures = full["observed"]
    mp: Figures = full["mailpit"]
    r = ratios(rec, base)
    w = 30
    lines = [
        "",
        (f"CareMesh booking flow benchmark: n={cfg['n']} concurrency={cfg['concurrency']} (closed loop), "
         f"warm-up={cfg['warmup']}"),
        "",
        f"{'':<{w}}{'full suite':>14}{'baseline':>14}{'full/baseline':>16}",
        f"{'latency p50 (ms)':<{w}}{fmt(rec.p50_ms):>14}{fmt(base.p50_ms):>14}{fmt(r['latency_p50'], 2) + 'x':>16}",
        f"{'latency p99 (ms)':<{w}}{fmt(rec.p99_ms):>14}{fmt(base.p99_ms):>14}{fmt(r['latency_p99'], 2) + 'x':>16}",
        (f"{'throughput (completed/s)':<{w}}{fmt(rec.throughput_per_s):>14}{fmt(base.throughput_per_s):>14}"
         f"{fmt(r['throughput'], 3) + 'x':>16}"),
        f"{'completed / failed':<{w}}{f'{rec.completed} / {rec.failed}':>14}{f'{base.completed} / {base.failed}':>14}",
        (f"{'mean / max latency (ms)':<{w}}{f'{fmt(rec.mean_ms)} / {fmt(rec.max_ms)}':>14}"
         f"{f'{fmt(base.mean_ms)} / {fmt(base.max_ms)}':>14}"),
        "",
        "full suite: POST /appointments sent -> message record's sent_at (email sent and recorded);",
        "baseline:   first publish -> last (3rd) hop consumed. Latency ratios >1x: the suite is slower;",
        "            throughput ratio <1x: the suite completes fewer per second.",
        "",
        "full suite cross-checks:",
        (f"  seen by the {cfg['poll_interval_ms']:.0f} ms poller: p50 {fmt(obs.p50_ms)} ms, p99 {fmt(obs.p99_ms)} ms "
         f"({full['poll_queries']} queries, {full['poll_errors']} errors)"),
        (f"  Mailpit Created (SMTP accepted): p50 {fmt(mp.p50_ms)} ms, p99 {fmt(mp.p99_ms)} ms "
         f"({full['mailpit_found']} emails found for {cfg['warmup'] + cfg['n']} bookings incl. warm-up)"),
        "",
        "full suite stages (services' own timestamps; each includes the outbox relay and broker hop before it):",
        *[f"  {name:<46} p50 {fmt(v['p50_ms']):>9} ms   p99 {fmt(v['p99_ms']):>9} ms"
          for name, v in full["stages"].items()],
        "",
        f"cleanup: {describe(cleanup)}; mailpit {full['mailpit_deleted']} message(s) deleted",
    ]
    return "\n".join(lines)


def json_report(cfg: dict, full: dict, base: Figures, cleanup: dict) -> str:
    summary = {
        "config": cfg,
        "full_suite": {**asdict(full["record"]), "observed_by_poller": asdict(full["observed"]),
                       "mailpit_created": asdict(full["mailpit"]), "poll_queries": full["poll_queries"],
                       "poll_errors": full["poll_errors"], "mailpit_found": full["mailpit_found"],
                       "stages": full["stages"]},
        "baseline": asdict(base),
        "ratios_full_over_baseline": ratios(full["record"], base),
        "cleanup": cleanup | {"mailpit_deleted": full["mailpit_deleted"]},
    }
    return json.dumps(summary, indent=2)
