"""Per-request / per-message context: correlation id, event id and W3C trace context."""

import contextlib
import contextvars
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
event_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)
traceparent: contextvars.ContextVar[str | None] = contextvars.ContextVar("traceparent", default=None)

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


_IDEMPOTENT_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:caremesh:idempotency-key")


@dataclass
class IdempotentRequest:
    """A request under an ``Idempotency-Key``: the ids it mints derive from ``seed``, which the key
    keeps, so a rerun after a crash mints the same ids and finds what the first attempt made."""

    seed: str
    rerun: bool  # an earlier attempt under the key may have taken effect
    minted: list[str] = field(default_factory=list)


idempotent_request: contextvars.ContextVar[IdempotentRequest | None] = contextvars.ContextVar(
    "idempotent_request", default=None
)


def random_id() -> str:
    """Always a fresh id: for what each run must tell apart (events, audit entries, leases)."""
    return str(uuid.uuid4())


def new_id() -> str:
    """A new resource's id. Inside a request under an ``Idempotency-Key`` it is the key's n-th id,
    the same on a rerun, provided the request mints its ids in a fixed order."""
    request = idempotent_request.get()
    if request is None:
        return random_id()
    minted = str(uuid.uuid5(_IDEMPOTENT_IDS, f"{request.seed}:{len(request.minted)}"))
    request.minted.append(minted)
    return minted


def minted_here(resource_id: str) -> bool:
    """Whether this idempotent request minted ``resource_id``: one that exists already is then
    what an earlier attempt under the same key made."""
    request = idempotent_request.get()
    return request is not None and resource_id in request.minted


def rerun() -> bool:
    """Whether an earlier attempt of this request may have taken effect (it was killed or failed)."""
    request = idempotent_request.get()
    return request is not None and request.rerun


@contextlib.contextmanager
def idempotent(seed: str, *, rerun: bool) -> Iterator[IdempotentRequest]:
    request = IdempotentRequest(seed, rerun)
    token = idempotent_request.set(request)
    try:
        yield request
    finally:
        idempotent_request.reset(token)


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
        correlation_id.set(correlation or correlation_id.get() or random_id()),
        event_id.set(event),
        traceparent.set(child_traceparent(trace)),
    ]
    try:
        yield
    finally:
        traceparent.reset(tokens[2])
        event_id.reset(tokens[1])
        correlation_id.reset(tokens[0])
