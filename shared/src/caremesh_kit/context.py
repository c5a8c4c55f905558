"""Per-request / per-message context: correlation id, event id and W3C trace context."""

import contextlib
import contextvars
import re
import secrets
import uuid
from collections.abc import Iterator

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
event_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)
traceparent: contextvars.ContextVar[str | None] = contextvars.ContextVar("traceparent", default=None)

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def new_id() -> str:
    return str(uuid.uuid4())


def valid_traceparent(value: str | None) -> bool:
    m = _TRACEPARENT.match(value or "")
    return m is not None and m.group(1) != "0" * 32 and m.group(2) != "0" * 16


def child_traceparent(parent: str | None) -> str:
    """Same trace, new span; starts a trace when there is no valid parent."""
    if parent is not None and valid_traceparent(parent):
        trace_id, flags = parent.split("-")[1], parent.split("-")[3]
    else:
        trace_id, flags = secrets.token_hex(16), "01"
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


@contextlib.contextmanager
def bound(*, correlation: str | None = None, event: str | None = None, trace: str | None = None) -> Iterator[None]:
    tokens = [
        correlation_id.set(correlation or correlation_id.get() or new_id()),
        event_id.set(event),
        traceparent.set(child_traceparent(trace)),
    ]
    try:
        yield
    finally:
        traceparent.reset(tokens[2])
        event_id.reset(tokens[1])
        correlation_id.reset(tokens[0])
