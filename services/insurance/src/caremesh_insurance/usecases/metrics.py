"""Prometheus figures of prior authorizations: the turnaround report's, as a scraper sees them.

Labels are the payer's name and the requested service code (bounded sets), never patient or
authorization ids. Each replica counts what it committed; the sweeper's overdue commit happens
once across replicas, so the sums are right. Median and 90th percentile come from the histogram
(``histogram_quantile``); rates from the counters (e.g. decisions by outcome over submissions).
"""

from prometheus_client import Counter, Histogram

from caremesh_insurance.domain.authorization import Cycle, PriorAuthorization

SERVICE = "insurance"
HOUR = 3600.0
# Up to the 7-day standard window and beyond it, where overdue decisions land.
BUCKETS = tuple(h * HOUR for h in (1, 4, 12, 24, 48, 72, 96, 120, 168, 240, 336, 720))

DECISION_TIME = Histogram(
    "caremesh_authorization_decision_seconds",
    "Time from the payer's receipt of a prior-authorization request to its decision",
    ["service", "payer", "service_code"],
    buckets=BUCKETS,
)
DECISIONS = Counter(
    "caremesh_authorization_decisions_total",
    "Payer decisions on prior-authorization requests",
    ["service", "payer", "service_code", "outcome"],
)
REQUESTS = Counter(
    "caremesh_authorization_requests_total",
    "Prior-authorization requests (submissions and appeals) sent to payers",
    ["service", "payer", "service_code", "kind", "priority"],
)
OVERDUE = Counter(
    "caremesh_authorization_overdue_total",
    "Payer decisions not made by their CMS-0057-F deadline (counted once each)",
    ["service", "payer", "service_code", "priority"],
)


def requested(auth: PriorAuthorization) -> None:
    cycle = auth.current_cycle
    if cycle is not None:
        REQUESTS.labels(SERVICE, auth.payer, auth.service_code, cycle.kind, cycle.priority.value).inc()


def decided(auth: PriorAuthorization) -> None:
    cycle: Cycle | None = auth.current_cycle
    if cycle is None or cycle.decided_at is None or cycle.outcome in (None, "cancelled"):
        return
    DECISIONS.labels(SERVICE, auth.payer, auth.service_code, cycle.outcome).inc()
    DECISION_TIME.labels(SERVICE, auth.payer, auth.service_code).observe(
        max(0.0, (cycle.decided_at - cycle.submitted_at).total_seconds())
    )


def overdue(auth: PriorAuthorization) -> None:
    OVERDUE.labels(SERVICE, auth.payer, auth.service_code, auth.priority.value).inc()
