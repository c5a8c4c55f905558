"""CloudEvents 1.0 binary mode over AMQP 0-9-1: attributes in ``ce-`` headers, body is JSON."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from caremesh_contracts import Event
from caremesh_kit import context

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
REQUIRED = ("ce-id", "ce-type", "ce-source", "ce-specversion")


class MalformedEnvelope(ValueError):
    pass


@dataclass(frozen=True)
class Envelope:
    id: str
    type: str
    source: str
    time: datetime
    subject: str | None
    correlation_id: str
    traceparent: str | None


def stored_event(event: Event, *, service: str, subject: str) -> dict[str, Any]:
    """The outbox form of an event: everything the relay needs to publish it later."""
    return {
        "id": context.random_id(),
        "type": event.ce_type(),
        "routing_key": event.routing_key,
        "source": f"/caremesh/{service}",
        "subject": subject,
        "time": datetime.now(UTC),
        "data": event.model_dump_json(),
        "correlation_id": context.correlation_id.get() or context.random_id(),
        "traceparent": context.child_traceparent(context.traceparent.get()),
    }


def _iso(t: datetime) -> str:
    if t.tzinfo is None:  # the store hands back naive UTC on some servers
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def headers_for(stored: dict[str, Any]) -> dict[str, Any]:
    headers = {
        "ce-specversion": SPECVERSION,
        "ce-id": stored["id"],
        "ce-type": stored["type"],
        "ce-source": stored["source"],
        "ce-time": _iso(stored["time"]),
        "ce-correlationid": stored["correlation_id"],
    }
    if stored.get("subject"):
        headers["ce-subject"] = stored["subject"]
    if stored.get("traceparent"):
        headers["ce-traceparent"] = stored["traceparent"]
    return headers


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    return str(value)


def parse(headers: dict[str, Any] | None, content_type: str | None) -> Envelope:
    headers = headers or {}
    missing = [h for h in REQUIRED if not _text(headers.get(h))]
    if missing:
        raise MalformedEnvelope(f"missing CloudEvents headers: {', '.join(missing)}")
    if _text(headers["ce-specversion"]) != SPECVERSION:
        raise MalformedEnvelope(f"unsupported specversion {_text(headers['ce-specversion'])!r}")
    if content_type and content_type.split(";")[0].strip() != CONTENT_TYPE:
        raise MalformedEnvelope(f"unsupported content type {content_type!r}")
    raw_time = _text(headers.get("ce-time"))
    try:
        time = datetime.fromisoformat(raw_time.replace("Z", "+00:00")) if raw_time else datetime.now(UTC)
    except ValueError as exc:
        raise MalformedEnvelope("ce-time is not an RFC 3339 timestamp") from exc
    return Envelope(
        id=_text(headers["ce-id"]) or "",
        type=_text(headers["ce-type"]) or "",
        source=_text(headers["ce-source"]) or "",
        time=time,
        subject=_text(headers.get("ce-subject")),
        correlation_id=_text(headers.get("ce-correlationid")) or context.new_id(),
        traceparent=_text(headers.get("ce-traceparent")),
    )
