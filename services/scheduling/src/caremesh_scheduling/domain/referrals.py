"""Closed-loop referrals. Pure Python: no I/O.

A referral is received from a referring provider, accepted or rejected, scheduled when an
appointment is linked to it, completed when that visit is fulfilled, and closed: the loop
closes with ``scheduling.referral.closed``, the event meant for the referring provider.
"""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from caremesh_contracts.referrals import (
    ReferralAccepted,
    ReferralClosed,
    ReferralOverdue,
    ReferralReceived,
    ReferralRejected,
    ReferralScheduled,
)
from caremesh_kit import codes
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.codes import ICD10CM, SERVICE_CODE, Coding
from caremesh_kit.errors import Conflict, Invalid
from caremesh_kit.lifecycle import guard


class Priority(StrEnum):
    """FHIR request-priority."""

    ROUTINE = "routine"
    URGENT = "urgent"
    ASAP = "asap"
    STAT = "stat"


class Status(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CLOSED = "closed"


# Keyed by str for ``guard``'s signature; the keys are Status members.
TRANSITIONS: Mapping[str, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.ACCEPTED, Status.REJECTED, Status.SCHEDULED, Status.CLOSED}),
    Status.ACCEPTED: frozenset({Status.SCHEDULED, Status.CLOSED}),
    Status.REJECTED: frozenset({Status.CLOSED}),
    # Scheduled back to accepted: the linked appointment was cancelled and the referral waits again.
    Status.SCHEDULED: frozenset({Status.ACCEPTED, Status.COMPLETED, Status.CLOSED}),
    Status.COMPLETED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
UNSCHEDULED = frozenset({Status.RECEIVED, Status.ACCEPTED})


class ReferringProvider(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    npi: str | None = Field(default=None, pattern=r"^[0-9]{10}$", description="US National Provider Identifier")
    organization: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(
        default=None,
        max_length=200,
        description="the referring system's own id for this referral, sent back on closing",
    )


class Attachment(BaseModel):
    """A document held elsewhere, by reference: scheduling keeps no clinical documents."""

    url: str = Field(pattern=r"^https?://[^\s\x00]+$", max_length=2000)  # a str: BSON cannot store AnyUrl
    title: str | None = Field(default=None, max_length=200)
    content_type: str | None = Field(default=None, max_length=100)


class ReferralRequest(BaseModel):
    patient_id: str = Field(min_length=1)
    referring: ReferringProvider
    service_code: str = Field(pattern=SERVICE_CODE)
    reasons: list[Coding] = Field(min_length=1, max_length=12, description="ICD-10-CM")
    priority: Priority = Priority.ROUTINE
    due_by: date | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    note: str | None = Field(default=None, max_length=2000)


class Transition(BaseModel):
    status: Status
    by: str
    at: datetime
    note: str | None = None


class Referral(Aggregate):
    request: ReferralRequest
    status: Status
    received_at: datetime
    appointment_id: str | None = None
    appointment_start: datetime | None = None
    rejection_reason: str | None = None
    overdue_reported: bool = False
    history: list[Transition]

    @classmethod
    def receive(cls, referral_id: str, request: ReferralRequest, by: str, now: datetime) -> "Referral":
        for i, reason in enumerate(request.reasons):
            codes.check(f"reasons[{i}]", reason, (ICD10CM,))
        if request.due_by is not None and request.due_by < now.date():
            raise Invalid("due_by is in the past", field="due_by")
        referral = cls(
            id=referral_id,
            request=request,
            status=Status.RECEIVED,
            received_at=now,
            history=[Transition(status=Status.RECEIVED, by=by, at=now)],
        )
        referral.raise_event(
            ReferralReceived(priority=request.priority.value, due_by=request.due_by, **referral._ids())
        )
        return referral

    def _ids(self) -> dict[str, str | None]:
        return {
            "referral_id": self.id,
            "patient_id": self.request.patient_id,
            "service_code": self.request.service_code,
            "referring_organization": self.request.referring.organization,
        }

    def _move(self, target: Status, by: str, now: datetime, note: str | None = None) -> bool:
        if not guard(self.status, target, TRANSITIONS, "a referral"):
            return False
        self.status = target
        self.history = [*self.history, Transition(status=target, by=by, at=now, note=note)]
        return True

    def accept(self, by: str, now: datetime) -> bool:
        if not self._move(Status.ACCEPTED, by, now):
            return False
        self.raise_event(ReferralAccepted(**self._ids()))
        return True

    def reject(self, reason: str, by: str, now: datetime) -> bool:
        if not self._move(Status.REJECTED, by, now, reason):
            return False
        self.rejection_reason = reason
        self.raise_event(ReferralRejected(reason=reason, **self._ids()))
        self._close("rejected", by, now)
        return True

    def schedule(self, appointment_id: str, start: datetime, service_code: str, by: str, now: datetime) -> bool:
        """Link an appointment. The same appointment again changes nothing; another one while this
        one stands is a 409."""
        if self.appointment_id == appointment_id and self.status is Status.SCHEDULED:
            return False
        if service_code != self.request.service_code:
            raise Invalid(f"the referral is for {self.request.service_code}, not {service_code}", field="service_code")
        if self.status is Status.SCHEDULED:
            raise Conflict(
                f"the referral is already scheduled as appointment {self.appointment_id}",
                current=self.status.value,
                requested=Status.SCHEDULED.value,
            )
        self._move(Status.SCHEDULED, by, now)
        self.appointment_id, self.appointment_start = appointment_id, start
        self.raise_event(ReferralScheduled(appointment_id=appointment_id, start=start, **self._ids()))
        return True

    def appointment_cancelled(self, appointment_id: str, now: datetime, why: str = "appointment cancelled") -> bool:
        """The linked visit was cancelled, declined, let lapse or missed: the referral waits to be
        scheduled again."""
        if self.status is not Status.SCHEDULED or self.appointment_id != appointment_id:
            return False
        self._move(Status.ACCEPTED, "system", now, why)
        self.appointment_id = self.appointment_start = None
        self.overdue_reported = False  # waiting again: a new overdue notice may be due
        return True

    def appointment_fulfilled(self, appointment_id: str, seen_on: date, now: datetime) -> bool:
        """The visit took place: completed, and the loop closed for the referring provider."""
        if self.appointment_id != appointment_id or self.status is not Status.SCHEDULED:
            return False
        self._move(Status.COMPLETED, "system", now)
        self._close("completed", "system", now, seen_on)
        return True

    def withdraw(self, by: str, now: datetime, note: str | None = None) -> bool:
        if self.status is Status.CLOSED:
            return False
        if self.status in (Status.SCHEDULED, Status.COMPLETED):
            raise Conflict(
                f"a {self.status.value} referral is closed by its visit, not withdrawn",
                current=self.status.value,
                requested=Status.CLOSED.value,
            )
        self._close("withdrawn", by, now, note=note)
        return True

    def _close(
        self, outcome: str, by: str, now: datetime, seen_on: date | None = None, note: str | None = None
    ) -> None:
        self._move(Status.CLOSED, by, now, note)
        self.raise_event(
            ReferralClosed(
                outcome=outcome,
                referring_reference=self.request.referring.reference,
                appointment_id=self.appointment_id,
                seen_on=seen_on,
                **self._ids(),
            )
        )

    def report_if_overdue(self, max_age: timedelta, now: datetime) -> bool:
        """Once, when still unscheduled past ``max_age`` since received, or past its due date."""
        if self.status not in UNSCHEDULED or self.overdue_reported:
            return False
        past_due = self.request.due_by is not None and now.date() > self.request.due_by
        if now - self.received_at <= max_age and not past_due:
            return False
        self.overdue_reported = True
        self.raise_event(ReferralOverdue(received_at=self.received_at, due_by=self.request.due_by, **self._ids()))
        return True

    @property
    def overdue(self) -> bool:
        return self.overdue_reported and self.status in UNSCHEDULED
