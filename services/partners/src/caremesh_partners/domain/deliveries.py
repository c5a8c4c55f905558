"""One event on its way to one subscription's endpoint, with every attempt made. Pure.

The id is the Standard Webhooks ``webhook-id``: the same for every attempt and every replay of
this event to this subscription, so the receiver drops a second copy by it. The schedule after a
failed attempt is Svix's by default (at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), then the
delivery is ``failed`` until replayed.
"""

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict

DEFAULT_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


def delivery_id(subscription_id: str, event_id: str) -> str:
    return "msg_" + hashlib.sha256(f"{subscription_id}\n{event_id}".encode()).hexdigest()[:32]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Attempt(BaseModel):
    """What the log keeps of an attempt: never the body sent or the body answered."""

    at: datetime
    status_code: int | None = None
    latency_ms: float
    error: str | None = Field(default=None, description="why no answer came: a class of error, no detail")

    @property
    def ok(self) -> bool:
        """A 2xx answer from a webhook; a publisher confirm (no status, no error) over AMQP."""
        return self.error is None and (self.status_code is None or 200 <= self.status_code < 300)


class Delivery(Aggregate):
    subscription_id: str
    partner_id: str
    event_id: str
    event_type: str
    routing_key: str
    offset: int = Field(description="the event's offset in the event log")
    event_time: datetime
    subject: str | None = None
    ordering_key: str | None = None
    body: dict[str, Any] = Field(description="the event as the partner may see it")
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: list[Attempt] = Field(default_factory=list)
    round_started: int = Field(default=0, description="attempts before the last replay")
    next_attempt_at: datetime
    claimed_at: datetime | None = None
    delivered_at: datetime | None = None
    created_at: datetime

    def claim(self, now: datetime) -> None:
        if self.status not in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            raise Conflict("the delivery is not waiting", current=self.status.value)
        self.status, self.claimed_at = DeliveryStatus.SENDING, now

    def record(self, attempt: Attempt, schedule: tuple[float, ...], now: datetime) -> None:
        """An attempt's outcome; a failure waits for the next step of ``schedule``, or fails the
        delivery when the schedule is spent."""
        self.attempts.append(attempt)
        self.claimed_at = None
        if attempt.ok:
            self.status, self.delivered_at = DeliveryStatus.DELIVERED, now
            return
        tried = len(self.attempts) - self.round_started
        if tried >= len(schedule):
            self.status = DeliveryStatus.FAILED
            return
        self.status, self.next_attempt_at = DeliveryStatus.PENDING, now + timedelta(seconds=schedule[tried])

    def put_off(self, until: datetime) -> bool:
        """Wait until ``until`` (behind an earlier delivery of the same ordering key)."""
        if self.status is not DeliveryStatus.PENDING or self.next_attempt_at >= until:
            return False
        self.next_attempt_at = until
        return True

    def replay(self, now: datetime) -> bool:
        """Send it again now, with a fresh schedule; not while an attempt is in flight."""
        if self.status is DeliveryStatus.SENDING:
            raise Conflict("the delivery is being sent", current=self.status.value)
        if self.status is DeliveryStatus.PENDING and self.next_attempt_at <= now:
            return False
        self.status, self.next_attempt_at, self.round_started = DeliveryStatus.PENDING, now, len(self.attempts)
        return True
