"""A partner's subscription: which events (types and filters), where to (a webhook endpoint), and
the state of that endpoint (its signing secrets, whether it keeps failing). Pure: no I/O, no clock."""

import fnmatch
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, Discriminator, Field, Tag, field_validator, model_validator

from caremesh_contracts import PartnerSubscriptionDisabled
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict

# An exact routing key, or one with * for a whole word (scheduling.referral.*), or the whole bus (#).
EVENT_PATTERN = r"^(#|[a-z_*]+(\.[a-z_*]+){0,2})$"
_WORD = re.compile(r"^[a-z_]+$")


class Filter(BaseModel):
    """The event passes when ``field`` (a field of the partner's view of it, or the envelope's
    ``subject``) holds one of ``any_of``."""

    field: str = Field(min_length=1, max_length=100, pattern=r"^[a-z_]+$")
    any_of: list[str] = Field(min_length=1, max_length=100)

    def passes(self, subject: str | None, body: dict[str, object]) -> bool:
        value = subject if self.field == "subject" else body.get(self.field)
        return value is not None and str(value) in self.any_of


class Webhook(BaseModel):
    kind: Literal["webhook"] = "webhook"
    url: str = Field(pattern=r"^https?://[^\s\x00]+$", max_length=2000)
    ordering_key: str | None = Field(
        default=None,
        pattern=r"^[a-z_]+$",
        max_length=100,
        description="deliver in order per value of this field (e.g. referral_id) or of subject; none: any order",
    )

    @field_validator("url")
    @classmethod
    def _reachable(cls, url: str) -> str:
        parts = urlsplit(url)  # a malformed host or port raises ValueError: a 422 naming the field
        if not parts.hostname or parts.port == 0:
            raise ValueError("the URL needs a host")
        return url


class Amqp(BaseModel):
    """Delivery to the partner's own quorum queue on the broker, through an exchange of its own; the
    partner reads it with the credentials the gateway provisioned for it, and nothing else."""

    kind: Literal["amqp"]
    ordering_key: str | None = Field(
        default=None,
        pattern=r"^[a-z_]+$",
        max_length=100,
        description="publish in order per value of this field (e.g. referral_id) or of subject",
    )


def _channel_kind(value: Any) -> str:
    return str(value.get("kind", "webhook") if isinstance(value, dict) else getattr(value, "kind", "webhook"))


# A webhook unless the channel says otherwise.
Channel = Annotated[Annotated[Webhook, Tag("webhook")] | Annotated[Amqp, Tag("amqp")], Discriminator(_channel_kind)]


class Start(BaseModel):
    """Where a new subscription starts in the event log: now, an offset, or a time it still holds."""

    offset: int | None = Field(default=None, ge=0)
    time: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if self.offset is not None and self.time is not None:
            raise ValueError("give offset or time, not both")
        return self

    @property
    def now(self) -> bool:
        return self.offset is None and self.time is None


class SubscriptionTerms(BaseModel):
    event_types: list[str] = Field(min_length=1, max_length=50)
    filters: list[Filter] = Field(default_factory=list, max_length=20)
    channel: Channel
    description: str | None = Field(default=None, max_length=500, pattern=r"^[^\x00]*$")

    @model_validator(mode="after")
    def _patterns(self) -> Self:
        bad = [p for p in self.event_types if not re.fullmatch(EVENT_PATTERN, p)]
        if bad:
            raise ValueError(f"event types must be routing keys, with * for a word or # for all: {bad}")
        return self

    def wants(self, routing_key: str) -> bool:
        for pattern in self.event_types:
            if pattern == "#":
                return True
            words, keys = pattern.split("."), routing_key.split(".")
            if len(words) == len(keys) and all(
                w == "*" or fnmatch.fnmatchcase(k, w) for w, k in zip(words, keys, strict=True)
            ):
                return True
        return False


class Secret(BaseModel):
    value: str
    created_at: datetime
    expires_at: datetime | None = None  # set when a newer one replaces it; both sign until then


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class Subscription(Aggregate):
    partner_id: str
    terms: SubscriptionTerms
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    disabled_reason: str | None = None
    secrets: list[Secret]
    live_from: int = Field(description="the event-log offset the gateway had reached when it was made")
    # Backfill (and replay from an offset): the past it still has to receive, read from the log.
    start_offset: int | None = None
    start_time: datetime | None = None
    backfilled: bool = False
    replay_existing: bool = Field(default=False, description="the backfill also sends again what was delivered")
    failing_since: datetime | None = None
    failed_deliveries: int = 0
    created_at: datetime
    updated_at: datetime

    @classmethod
    def create(
        cls,
        subscription_id: str,
        partner_id: str,
        terms: SubscriptionTerms,
        start: Start,
        secret: str,
        live_from: int,
        now: datetime,
    ) -> "Subscription":
        """From ``live_from`` on the gateway delivers to it as events come; the backfill reads the
        log from its start (``live_from`` itself when it starts now) to the end, so an event read
        while it was being made is not missed (a second copy is dropped by id)."""
        return cls(
            id=subscription_id,
            partner_id=partner_id,
            terms=terms,
            secrets=[Secret(value=secret, created_at=now)],
            live_from=live_from,
            start_offset=live_from if start.now else start.offset,
            start_time=start.time,
            created_at=now,
            updated_at=now,
        )

    @property
    def active(self) -> bool:
        return self.status is SubscriptionStatus.ACTIVE

    def signing_secrets(self, now: datetime) -> list[str]:
        """The newest secret first, then any replaced one still in its overlap."""
        live = [s for s in self.secrets if s.expires_at is None or s.expires_at > now]
        return [s.value for s in reversed(live)]  # kept oldest first

    def rotate_secret(self, secret: str, overlap: timedelta, now: datetime) -> None:
        self.secrets = [
            *[s for s in self.secrets if s.expires_at is None or s.expires_at > now][-1:],
            Secret(value=secret, created_at=now),
        ]
        for s in self.secrets[:-1]:
            s.expires_at = min(s.expires_at or now + overlap, now + overlap)
        self.updated_at = now

    def delivered(self, now: datetime) -> bool:
        """An attempt succeeded: the endpoint is healthy again."""
        if self.failing_since is None and self.failed_deliveries == 0:
            return False
        self.failing_since, self.failed_deliveries, self.updated_at = None, 0, now
        return True

    def failed(self, at: datetime, window: timedelta, now: datetime) -> bool:
        """An attempt failed at ``at``; after failing for all of ``window`` the endpoint is turned
        off, once (the event says so). True when anything changed."""
        if not self.active:
            return False
        self.failing_since = self.failing_since or at
        self.failed_deliveries += 1
        self.updated_at = now
        if now - self.failing_since >= window:
            self.status, self.disabled_reason = SubscriptionStatus.DISABLED, "failing"
            self.raise_event(
                PartnerSubscriptionDisabled(
                    subscription_id=self.id,
                    partner_id=self.partner_id,
                    failing_since=self.failing_since,
                    failed_deliveries=self.failed_deliveries,
                )
            )
        return True

    def disable(self, now: datetime) -> bool:
        if not self.active:
            return False
        self.status, self.disabled_reason, self.updated_at = SubscriptionStatus.DISABLED, "by request", now
        return True

    def enable(self, now: datetime) -> bool:
        if self.active:
            return False
        self.status, self.disabled_reason = SubscriptionStatus.ACTIVE, None
        self.failing_since, self.failed_deliveries, self.updated_at = None, 0, now
        return True

    def backfill_done(self, now: datetime) -> bool:
        if self.backfilled:
            return False
        self.backfilled, self.replay_existing, self.updated_at = True, False, now
        return True

    def replay_from(self, offset: int, now: datetime) -> None:
        """Everything it was sent from this event-log offset on, again, and what it missed."""
        if not self.backfilled:
            raise Conflict("a backfill or replay of this subscription is under way")
        self.start_offset, self.start_time, self.backfilled, self.replay_existing = offset, None, False, True
        self.updated_at = now
