"""The partner delivery benchmark's text report (``--json`` prints the same figures as one object)."""

from __future__ import annotations

from typing import Any


def _n(x: float | None, nd: int = 1) -> str:
    return "-" if x is None else f"{x:,.{nd}f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 4) if a is not None and b else None


def ratios(gateway: dict[str, Any], base: dict[str, Any]) -> dict[str, float | None]:
    """gateway / baseline: throughput (below 1: the gateway is slower) and lag (above 1)."""
    return {
        "throughput": _ratio(gateway["deliveries_per_s"], base["deliveries_per_s"]),
        "lag_p50": _ratio(gateway["lag_ms"]["p50"], base["lag_ms"]["p50"]),
        "lag_p99": _ratio(gateway["lag_ms"]["p99"], base["lag_ms"]["p99"]),
    }


def _row(label: str, gateway: str, baseline: str, ratio: str) -> str:
    return f"  {label:<40}{gateway:<22}{baseline:<24}{ratio}".rstrip()


def _pair(lag: dict[str, Any], first: str, second: str) -> str:
    return f"{_n(lag[first])} / {_n(lag[second])}"


def _lags(lag: dict[str, Any]) -> str:
    return f"{_n(lag['p50'])} / {_n(lag['p95'])} / {_n(lag['p99'])} / {_n(lag['max'])} ms"


def _counts(side: dict[str, Any], nd: int) -> str:
    return f"{side['delivered']} / {side['missing']} ({_n(side['wall_s'], nd)} s)"


def text(r: dict[str, Any]) -> str:
    s, g, b, q = r["steady"], r["steady"]["gateway"], r["steady"]["baseline"], r["steady"]["ratios"]
    mode = f"open loop at {r['rate']:g}/s" if r["rate"] else f"closed loop, {r['concurrency']} in flight"
    lines = [
        "",
        f"Partner delivery benchmark: {r['n']} scheduling.referral.received events, {mode}",
        f"  gateway {r['gateway_url']} (its own process), receiver {r['receiver_url']}",
        f"  set for the run: PARTNERS_RETRY_SCHEDULE_SECONDS {r['settings']['retry_schedule']}; "
        f"PARTNERS_DISPATCH_SCAN_SECONDS {r['settings']['dispatch_scan_s']:g}",
        "",
        _row("steady state", "gateway", "baseline (HTTP only)", "gateway/baseline"),
        _row("DELIVERIES/S", _n(g["deliveries_per_s"]), _n(b["deliveries_per_s"]), _n(q["throughput"], 3)),
        _row(
            "LAG p50 / p99 (ms)",
            _pair(g["lag_ms"], "p50", "p99"),
            _pair(b["lag_ms"], "p50", "p99"),
            f"{_n(q['lag_p50'], 1)} / {_n(q['lag_p99'], 1)}",
        ),
        _row("lag p95 / max (ms)", _pair(g["lag_ms"], "p95", "max"), _pair(b["lag_ms"], "p95", "max"), ""),
        _row("delivered / missing (wall)", _counts(g, 1), _counts(b, 2), ""),
    ]
    if s.get("offering"):
        o = s["offering"]
        lines.append(f"  open loop offering: {o['late_offers_over_10ms']} offer(s) late by >10 ms")
    o = r["outage"]
    if o:
        a = o["attempts_per_delivery"]
        lines += [
            "",
            f"  after a {o['outage_s']:g} s receiver outage ({o['published']} events published at "
            f"{o['outage_rate_per_s']:g}/s while it answered 503)",
            f"  {'TIME TO DRAIN after recovery':<40}{_n(o['time_to_drain_s'], 2)} s "
            f"(first delivery {_n(o['first_after_recovery_s'], 2)} s after it)",
            f"  {'DELIVERIES/S while draining':<40}{_n(o['drain_deliveries_per_s'])}",
            f"  {'LAG p50 / p95 / p99 / max':<40}{_lags(o['lag_ms'])}",
            f"  {'attempts per delivery mean / p50 / max':<40}{_n(a['mean'], 2)} / {_n(a['p50'], 0)} / {a['max']}",
            f"  {'delivered / missing':<40}{o['delivered']} / {o['missing']}; {o['answered_503']} attempts "
            f"answered 503, {o['delivered_while_down']} delivered while down",
        ]
    d, v, log = r["repeats"], r["signatures"], r["gateway_log"]
    lines += [
        "",
        f"  receiver: {d['requests']} requests from the gateway, {d['distinct_webhook_ids']} webhook-ids, "
        f"raw repeats {d['raw_repeats']} (retries included)",
        f"  DUPLICATES after a 2xx {d['duplicates_after_2xx']}; events under several webhook-ids "
        f"{d['events_under_several_ids']}; requests about unknown events {d['unknown_events']}",
        f"  signatures (standardwebhooks, 1 request in {v['every']}): {v['verified']} verified, "
        f"{v['bad']} BAD; {v['unreadable']} unreadable bodies",
        f"  gateway's delivery log: {log.get('by_status')}, {log.get('attempts')} attempts",
        f"  gateway process: {_n(r['gateway_process'].get('cpu_s'), 1)} s CPU, "
        f"peak RSS {_n(r['gateway_process'].get('peak_mib'), 0)} MiB",
        f"  left: {r['left'] or 'nothing'}",
        "",
    ]
    return "\n".join(lines)
