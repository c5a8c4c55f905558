"""Prior authorization: an explicit state machine with CMS-0057-F decision deadlines. Pure Python.

Deadlines (CMS-0057-F, in force since January 2026): a payer decides an urgent (expedited)
request within 72 hours and a standard one within 7 calendar days of receiving it. Calendar
days count weekends and holidays, so both are plain durations from the submission time. A
pend (the payer asking for more information) does not stop the clock; an appeal starts a new one.
"""

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from caremesh_contracts.authorizations import (
    AuthorizationAppealed,
    AuthorizationApproved,
    AuthorizationCancelled,
    AuthorizationDenied,
    AuthorizationExpired,
    AuthorizationOverdue,
    AuthorizationPended,
    AuthorizationRequired,
    AuthorizationSubmitted,
    AuthorizationThresholdReached,
)
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict, Invalid
from pydantic import BaseModel, Field, model_validator


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
_DECISIONS = frozenset({Status.PENDED, *DECIDED})

# The lifecycle as data; anything else is a 409 naming both states. Cancelled is reachable from
# every state that is not final.
TRANSITIONS: dict[Status, frozenset[Status]] = {
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


class PriorAuthorization(Aggregate):
    patient_id: str
    coverage_id: str
    payer: str
    service_code: str
    appointment_id: str | None = None
    units_requested: int = 1
    priority: Priority = Priority.STANDARD
    status: Status
    submitted_at: datetime | None = None  # of the request awaiting a decision (or of the appeal)
    decision_due: datetime | None = None
    overdue_reported: bool = False  # for the decision awaited now; reset by an appeal
    approval: Approval | None = None
    denial: Denial | None = None
    units_used: int = 0
    counted_appointments: list[str] = Field(default_factory=list)
    thresholds_reported: list[str] = Field(default_factory=list)
    history: list[Transition]

    @classmethod
    def require(cls, auth_id: str, patient_id: str, coverage_id: str, payer: str, service_code: str,
                appointment_id: str | None, by: str, now: datetime) -> "PriorAuthorization":
        auth = cls(id=auth_id, patient_id=patient_id, coverage_id=coverage_id, payer=payer,
                   service_code=service_code, appointment_id=appointment_id, status=Status.REQUIRED,
                   history=[Transition(status=Status.REQUIRED, by=by, at=now)])
        auth.raise_event(AuthorizationRequired(coverage_id=coverage_id, **auth._ids()))
        return auth

    def _ids(self) -> dict:
        return {"authorization_id": self.id, "patient_id": self.patient_id, "appointment_id": self.appointment_id,
                "service_code": self.service_code}

    def _move(self, target: Status, by: str, now: datetime, note: str | None = None) -> bool:
        """True if the move is due; False if already there (a repeat); 409 if not allowed."""
        if self.status is target:
            return False
        if target not in TRANSITIONS[self.status]:
            raise Conflict(f"a prior authorization that is {self.status.value} cannot become {target.value}",
                           current=self.status.value, requested=target.value)
        self.status = target
        self.history = [*self.history, Transition(status=target, by=by, at=now, note=note)]
        return True

    def draft(self, by: str, now: datetime) -> bool:
        return self._move(Status.DRAFT, by, now)  # no event: nothing outside insurance acts on it

    def submit(self, priority: Priority, units: int, by: str, now: datetime) -> bool:
        if units < 1:
            raise Invalid("at least one unit is requested", field="units_requested")
        if not self._move(Status.SUBMITTED, by, now):
            return False
        self.priority, self.units_requested = priority, units
        self._start_clock(now)
        self.raise_event(AuthorizationSubmitted(priority=priority.value, submitted_at=now,
                                                decision_due=self.decision_due, **self._ids()))
        return True

    def _start_clock(self, now: datetime) -> None:
        self.submitted_at, self.decision_due, self.overdue_reported = now, decision_due(self.priority, now), False

    def pend(self, by: str, now: datetime, note: str | None = None) -> bool:
        if not self._move(Status.PENDED, by, now, note):
            return False
        self.raise_event(AuthorizationPended(**self._ids()))
        return True

    def approve(self, approval: Approval, by: str, now: datetime, note: str | None = None) -> bool:
        """Approved in full, or partly when fewer units than requested or another service."""
        partial = approval.approved_units < self.units_requested or (
            approval.service_code is not None and approval.service_code != self.service_code)
        target = Status.PARTIALLY_APPROVED if partial else Status.APPROVED
        if self.status is target and self.approval is not None:
            if self.approval == approval:
                return False  # the same response recorded again
            raise Conflict(f"already {target.value} as {self.approval.authorization_number}: record a new one "
                           f"after an appeal", current=self.status.value, requested=target.value)
        if not self._move(target, by, now, note):
            return False
        self.approval, self.denial, self.thresholds_reported = approval, None, []
        self.raise_event(AuthorizationApproved(
            partial=partial, authorization_number=approval.authorization_number,
            approved_units=approval.approved_units, valid_from=approval.valid_from, valid_to=approval.valid_to,
            **self._ids()))
        return True

    def deny(self, denial: Denial, by: str, now: datetime) -> bool:
        if not self._move(Status.DENIED, by, now, denial.reason):
            return False
        self.denial = denial
        self.raise_event(AuthorizationDenied(reason_code=denial.reason_code, reason=denial.reason,
                                             appealable=True, **self._ids()))
        return True

    def appeal(self, by: str, now: datetime, note: str | None = None) -> bool:
        if not self._move(Status.APPEALED, by, now, note):
            return False
        self._start_clock(now)
        self.raise_event(AuthorizationAppealed(decision_due=self.decision_due, **self._ids()))
        return True

    def cancel(self, by: str, now: datetime, note: str | None = None) -> bool:
        if not self._move(Status.CANCELLED, by, now, note):
            return False
        self.raise_event(AuthorizationCancelled(**self._ids()))
        return True

    # -- the clock and the counters: driven by time and by fulfilled visits ------------------------

    def report_if_overdue(self, now: datetime) -> bool:
        """Raise the overdue event once per decision awaited; True if it did."""
        if self.status not in AWAITING_PAYER or self.overdue_reported or self.decision_due is None:
            return False
        if now <= self.decision_due:
            return False
        self.overdue_reported = True
        self.raise_event(AuthorizationOverdue(priority=self.priority.value, decision_due=self.decision_due,
                                              **self._ids()))
        return True

    @property
    def overdue(self) -> bool:
        return self.overdue_reported and self.status in AWAITING_PAYER

    @property
    def units_remaining(self) -> int:
        return max(0, self.approval.approved_units - self.units_used) if self.approval else 0

    def covers(self, service_code: str, day: date, provider_id: str | None = None) -> bool:
        """Whether a visit of ``service_code`` on ``day`` (with ``provider_id``) is covered now."""
        if self.status not in IN_FORCE or self.approval is None or self.units_remaining < 1:
            return False
        a = self.approval
        return ((a.service_code or self.service_code) == service_code and a.valid_from <= day <= a.valid_to
                and (a.provider_id is None or provider_id is None or a.provider_id == provider_id))

    def count_visit(self, appointment_id: str, now: datetime) -> bool:
        """A fulfilled visit uses one unit; each appointment counts once. Units running out
        expire the authorization; running low asks for a renewal."""
        if self.status not in IN_FORCE or appointment_id in self.counted_appointments:
            return False
        self.counted_appointments = [*self.counted_appointments, appointment_id]
        self.units_used += 1
        if self.units_remaining == 0:
            self._expire("units_exhausted", now)
        else:
            self._check_thresholds(now)
        return True

    def review(self, now: datetime) -> bool:
        """The time-driven checks a sweeper runs: overdue, expiry, renewal thresholds. True if
        anything changed (so it is saved, with its events, in one compare-and-set write)."""
        changed = self.report_if_overdue(now)
        if self.status in IN_FORCE and self.approval and now.date() > self.approval.valid_to:
            self._expire("period_ended", now)
            return True
        return self._check_thresholds(now) or changed

    def _expire(self, reason: str, now: datetime) -> None:
        self._move(Status.EXPIRED, "system", now, reason)
        self.raise_event(AuthorizationExpired(reason=reason, **self._ids()))

    def _check_thresholds(self, now: datetime) -> bool:
        if self.status not in IN_FORCE or self.approval is None:
            return False
        a, raised = self.approval, False
        due = {"units": self.units_remaining <= max(1, int(a.approved_units * LOW_UNITS_SHARE))
               and self.units_used > 0,
               "expiry": now.date() >= a.valid_to - EXPIRY_NOTICE}
        for threshold, reached in due.items():
            if reached and threshold not in self.thresholds_reported:
                self.thresholds_reported = [*self.thresholds_reported, threshold]
                self.raise_event(AuthorizationThresholdReached(
                    threshold=threshold, units_remaining=self.units_remaining, valid_to=a.valid_to, **self._ids()))
                raised = True
        return raised
