"""The gateway's metrics (``/metrics``)."""

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES_MADE = Counter("caremesh_partner_deliveries_total", "Deliveries made from events (one per subscription)")
ATTEMPTS = Counter(
    "caremesh_partner_delivery_attempts_total", "Webhook delivery attempts by outcome", ["partner", "outcome"]
)
ATTEMPT_LATENCY = Histogram(
    "caremesh_partner_delivery_attempt_seconds", "Time to a partner endpoint's answer", ["partner"]
)
DELIVERY_LAG = Histogram(
    "caremesh_partner_delivery_lag_seconds",
    "From an event's time to its delivery",
    ["partner"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000),
)
OLDEST_WAITING = Gauge(
    "caremesh_partner_oldest_waiting_seconds", "Age of the oldest event still waiting for a partner", ["partner"]
)
INTAKE_DELAY = Gauge("caremesh_partner_intake_delay_seconds", "Age of the last event read from the event log")
DISABLED = Counter("caremesh_partner_subscriptions_disabled_total", "Subscriptions turned off after failing")
