"""Prometheus metrics, defined once; every series carries the service label."""

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter("caremesh_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "caremesh_http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"]
)
MESSAGES = Counter(
    "caremesh_messages_handled_total",
    "Events consumed, by outcome (ack, retry, dead_letter)",
    ["service", "event_type", "outcome"],
)
MESSAGE_LATENCY = Histogram(
    "caremesh_message_handling_seconds", "Time spent handling one event", ["service", "event_type"]
)
PUBLISHED = Counter("caremesh_events_published_total", "Events published from the outbox", ["service", "event_type"])
OUTBOX_ERRORS = Counter("caremesh_outbox_publish_errors_total", "Outbox publish failures", ["service"])
HANDLER_ROUND_TRIPS = Histogram(
    "caremesh_handler_store_round_trips",
    "Store commands one event's handler issued",
    ["service", "event_type"],
    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64),
)
