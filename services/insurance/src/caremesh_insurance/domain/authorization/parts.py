"""The parts of a prior authorization: statuses and their lifecycle, CMS-0057-F deadlines, the
payer's answers, the appointments it holds, each request awaiting a decision, and what was sent.
Pure Python.

Deadlines (CMS-0057-F, in force since January 2026): a payer decides an urgent (expedited)
request within 72 hours and a standard one within 7 calendar days of receiving it. Calendar
days count weekends and holidays, so both are plain durations from the time the payer received
the request. A pend (the payer asking for more information) does not stop the clock; an appeal
starts a new one.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from caremesh_kit.errors import Invalid


class Priority(StrEnum):
    URGENT = "urgent"
    STANDARD = "standard"


DECISION_WINDOW = {Priority.URGENT: timedelta(hours=72), Priority.STANDARD: timedelta(days=7)}


def decision_due(priority: Priority, received_at: datetime) -> datetime:
    """When the payer's decision is due for a request received at ``received_at``."""
    if received_at.tzinfo is None:
        raise ValueError("received_at needs a time zone")
    # In UTC: wall-clock arithmetic in a local zone would lose or gain the hour of a DST change.
    return received_at.astimezone(UTC) + DECISION_WINDOW[priority]


def payer_time(value: datetime | None, now: datetime, field: str, not_before: datetime | None = None) -> datetime:
    """A time the payer received or decided something (default now): never in the future, nor before
    ``not_before`` (a decision before the request reached the payer)."""
    when = value or now
    if when.tzinfo is None:
        raise Invalid(f"{field} needs a time zone", field=field)
    if when > now:
        raise Invalid(f"{field} is in the future", field=field)
    if not_before is not None and when < not_before:
        raise Invalid(f"{field} is before the payer received the request", field=field)
    return when.astimezone(UTC)


def midnight(day: date) -> datetime:
    """The start of ``day`` in UTC: when date-based reviews (expiry, notices) fall due."""
    return datetime.combine(day, time(), tzinfo=UTC)


class Status(StrEnum):
    REQUIRED = "required"  # the plan needs one; nobody has started it
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PENDED = "pended"  # the payer asked for more information
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    DENIED = "denied"
    APPEALED = "appealed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


AWAITING_PAYER = frozenset({Status.SUBMITTED, Status.PENDED, Status.APPEALED})
DECIDED = frozenset({Status.APPROVED, Status.PARTIALLY_APPROVED, Status.DENIED})
IN_FORCE = frozenset({Status.APPROVED, Status.PARTIALLY_APPROVED})
# Not decided yet: a new appointment for the same coverage and service waits on it too.
OPEN = frozenset({Status.REQUIRED, Status.DRAFT, *AWAITING_PAYER})
_DECISIONS = frozenset({Status.PENDED, *DECIDED})

# The lifecycle as data; anything else is a 409 naming both states. Cancelled is reachable from
# every state that is not final.
# Keyed by str (a Status is one) so the kit's ``guard`` takes it as it is.
TRANSITIONS: dict[str, frozenset[Status]] = {
    Status.REQUIRED: frozenset({Status.DRAFT, Status.CANCELLED}),
    Status.DRAFT: frozenset({Status.SUBMITTED, Status.CANCELLED}),
    Status.SUBMITTED: _DECISIONS | {Status.CANCELLED},
    Status.PENDED: DECIDED | {Status.CANCELLED},
    Status.APPEALED: _DECISIONS | {Status.CANCELLED},
    Status.APPROVED: frozenset({Status.EXPIRED, Status.CANCELLED}),
    Status.PARTIALLY_APPROVED: frozenset({Status.APPEALED, Status.EXPIRED, Status.CANCELLED}),
    Status.DENIED: frozenset({Status.APPEALED, Status.CANCELLED}),
    Status.EXPIRED: frozenset(),
    Status.CANCELLED: frozenset(),
}

# When a renewal should be asked for.
LOW_UNITS_SHARE = 0.2  # at most this share of the approved units left
EXPIRY_NOTICE = timedelta(days=14)


class Approval(BaseModel):
    authorization_number: str = Field(min_length=1, max_length=50)
    approved_units: int = Field(ge=1, le=10_000)
    valid_from: date
    valid_to: date
    service_code: str | None = Field(default=None, description="the service approved, if not the one requested")
    provider_id: str | None = Field(default=None, description="the practitioner the approval covers")

    @model_validator(mode="after")
    def _period(self) -> "Approval":
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class Denial(BaseModel):
    reason_code: str = Field(min_length=1, max_length=20, description="the payer's reason code")
    reason: str = Field(min_length=1, max_length=500, description="plain language, said to the patient")


class Transition(BaseModel):
    status: Status
    by: str
    at: datetime
    note: str | None = None


class LinkState(StrEnum):
    """An appointment as the authorization sees it."""

    WAITING = "waiting"  # waits on the decision
    COVERED = "covered"  # the approval covers it: a unit is held for it
    FULFILLED = "fulfilled"  # the visit took place: a unit is used
    NOT_COVERED = "not_covered"  # the approval does not cover it (another service, date or provider)
    RELEASED = "released"  # cancelled, declined, missed, or the authorization ended first


HOLDING = frozenset({LinkState.WAITING, LinkState.COVERED})


class AppointmentLink(BaseModel):
    appointment_id: str
    service_code: str
    service_date: date | None = None
    provider_id: str | None = None
    state: LinkState
    since: datetime


class Cycle(BaseModel):
    """One request awaiting a payer's decision: the submission, then each appeal."""

    kind: Literal["initial", "appeal"]
    priority: Priority
    submitted_at: datetime = Field(description="when the payer received it")
    decision_due: datetime
    decided_at: datetime | None = None
    outcome: Literal["approved", "partially_approved", "denied", "cancelled"] | None = None
    overdue_reported: bool = False

    def late(self, now: datetime) -> bool:
        """Decided (or withdrawn) after its deadline, or still undecided past it."""
        return (self.decided_at or now) > self.decision_due


class Submission(BaseModel):
    """What was sent to the payer for one request, by which adapter; the document is kept for disputes."""

    number: int
    kind: Literal["initial", "appeal"]
    adapter: str
    at: datetime
    format: str | None = Field(None, description="e.g. x12-278; none for a manual submission")
    control_number: str | None = None
    document: str | None = None
    sent: bool = Field(False, description="delivered to the payer by the adapter's transport")
    response: str | None = Field(None, description="the payer's answer as received (not interpreted)")


@dataclass(frozen=True)
class Gate:
    """A confirmed visit whose plan needs a prior authorization: which one, and whether it covers it."""

    authorization_id: str
    covered: bool
