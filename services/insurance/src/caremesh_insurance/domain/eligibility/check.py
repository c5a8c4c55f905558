"""Eligibility checks with their history. Pure Python: no I/O.

An appointment has one check, whose id is the appointment id (so a redelivered request finds it
done); every later re-check appends a run. An on-demand check is not about an appointment and
raises no events. A re-check raises ``insurance.eligibility.confirmed`` or ``.denied`` only when
the decision changes, so consumers hear about changes, not about every look.
"""

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from caremesh_contracts import EligibilityConfirmed, EligibilityDenied
from caremesh_insurance.domain.eligibility.decision import (
    PLAIN_REASONS,
    Decision,
    DenialReason,
    EligibilityResult,
    Outcome,
    RejectionAction,
)
from caremesh_kit.aggregate import Aggregate


class Trigger(StrEnum):
    APPOINTMENT_REQUESTED = "appointment_requested"
    PRE_VISIT = "pre_visit"
    COVERAGE_CHANGED = "coverage_changed"
    ON_DEMAND = "on_demand"
    PAYER_RESPONSE = "payer_response"
    RESCHEDULED = "rescheduled"


class AppointmentStatus(StrEnum):
    """What insurance knows of the appointment, from scheduling's events."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    NO_SHOW = "no_show"


# UTC offsets in use anywhere (UTC-12 to UTC+14).
_OFFSETS = (timedelta(hours=-12), timedelta(hours=14))


def local_day(start: datetime, known_start: datetime, known_day: date) -> date:
    """The local date of a visit moved to ``start``, from a start whose local date is known.

    Scheduling's reschedule names the new start but not its date where the visit takes place; the
    known pair bounds the location's UTC offset, and the middle of those bounds dates the new start
    (exact unless the move crosses midnight near the bounds' edge)."""
    start, known_start = _utc(start), _utc(known_start)
    midnight = datetime.combine(known_day, datetime.min.time(), tzinfo=UTC)
    low = max(_OFFSETS[0], midnight - known_start)
    high = min(_OFFSETS[1], midnight + timedelta(days=1) - known_start)
    if low >= high:  # an offset out of range: keep the day distance
        return known_day + (start.date() - known_start.date())
    return (start + (low + high) / 2).date()


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


class CheckRun(BaseModel):
    number: int
    trigger: Trigger
    checked_at: datetime
    result: EligibilityResult


class EligibilityCheck(Aggregate):
    patient_id: str
    service_code: str
    service_date: date
    appointment_id: str | None = None
    appointment_status: AppointmentStatus | None = None
    start: datetime | None = None
    decision: Decision
    checked_at: datetime
    runs: list[CheckRun] = Field(default_factory=list)
    # The coverage versions the latest run saw, so a coverage change re-checks once.
    coverage_versions: dict[str, int] = Field(default_factory=dict)
    pre_visit_claimed_at: datetime | None = None
    pre_visit_done: bool = False
    # The plan needs a prior authorization for the service: the one that covers the visit or that it
    # waits on. While it waits, the authorization's events (not a confirmation) decide the booking.
    authorization_id: str | None = None
    awaiting_authorization: bool = False
    # The latest run's payer rejection that a coordinator must fix (the rules decided meanwhile).
    action: RejectionAction | None = None
    # The latest reschedule applied (its event's time and id): an older one arriving late is stale.
    moved_at: datetime | None = None
    moved_by: str | None = None

    @classmethod
    def for_appointment(
        cls,
        appointment_id: str,
        patient_id: str,
        service_code: str,
        service_date: date,
        start: datetime | None,
        result: EligibilityResult,
        now: datetime,
        coverage_versions: dict[str, int] | None = None,
        *,
        authorization_id: str | None = None,
        awaiting_authorization: bool = False,
    ) -> "EligibilityCheck":
        check = cls(
            id=appointment_id,
            appointment_id=appointment_id,
            appointment_status=AppointmentStatus.SCHEDULED,
            patient_id=patient_id,
            service_code=service_code,
            service_date=service_date,
            start=start,
            decision=result.decision,
            checked_at=now,
            coverage_versions=coverage_versions or {},
            authorization_id=authorization_id,
            awaiting_authorization=awaiting_authorization,
        )
        check._append(Trigger.APPOINTMENT_REQUESTED, result, now)
        check._announce(Trigger.APPOINTMENT_REQUESTED)
        return check

    @classmethod
    def on_demand(
        cls,
        check_id: str,
        patient_id: str,
        service_code: str,
        service_date: date,
        result: EligibilityResult,
        now: datetime,
        coverage_versions: dict[str, int] | None = None,
    ) -> "EligibilityCheck":
        check = cls(
            id=check_id,
            patient_id=patient_id,
            service_code=service_code,
            service_date=service_date,
            decision=result.decision,
            checked_at=now,
            coverage_versions=coverage_versions or {},
        )
        check._append(Trigger.ON_DEMAND, result, now)
        return check

    @property
    def latest(self) -> CheckRun:
        return self.runs[-1]

    @property
    def scheduled(self) -> bool:
        return self.appointment_status is AppointmentStatus.SCHEDULED

    def run(self, number: int) -> CheckRun | None:
        return next((r for r in self.runs if r.number == number), None)

    # -- re-checks ---------------------------------------------------------------------------
    def recheck(
        self,
        trigger: Trigger,
        result: EligibilityResult,
        now: datetime,
        coverage_versions: dict[str, int] | None = None,
    ) -> bool:
        """Record a new run; False (nothing to write) for an appointment that no longer takes place."""
        if self.appointment_id and not self.scheduled:
            return False
        changed = not result.decision.same_as(self.decision)
        self.decision, self.checked_at = result.decision, now
        if coverage_versions is not None:
            self.coverage_versions = coverage_versions
        self._append(trigger, result, now)
        if changed:
            self._announce(trigger)
        return True

    def saw(self, coverage_id: str, version: int) -> bool:
        """Whether a run already took this coverage version (or a later one) into account."""
        return self.coverage_versions.get(coverage_id, 0) >= version

    def recheck_for_coverage(
        self,
        coverage_id: str,
        version: int,
        result: EligibilityResult,
        now: datetime,
        coverage_versions: dict[str, int],
    ) -> bool:
        if self.saw(coverage_id, version):
            return False
        return self.recheck(
            Trigger.COVERAGE_CHANGED,
            result,
            now,
            coverage_versions | {coverage_id: max(version, coverage_versions.get(coverage_id, 0))},
        )

    # -- the check N days before the visit -------------------------------------------------------
    def pre_visit_due(self, today: date, days_before: int) -> bool:
        """Due once the window opens, unless a run already took place inside it."""
        opens = self.service_date - timedelta(days=days_before)
        return (
            self.scheduled
            and not self.pre_visit_done
            and opens <= today <= self.service_date
            and self.checked_at.date() < opens
        )

    def claim_pre_visit(self, now: datetime, lease: timedelta) -> bool:
        """Take the pre-visit check for one replica; another may take it over once the lease lapses."""
        if self.pre_visit_done or not self.scheduled:
            return False
        if self.pre_visit_claimed_at is not None and now - self.pre_visit_claimed_at < lease:
            return False
        self.pre_visit_claimed_at = now
        return True

    def record_pre_visit(self, result: EligibilityResult, now: datetime, coverage_versions: dict[str, int]) -> bool:
        if self.pre_visit_done:
            return False
        if not self.recheck(Trigger.PRE_VISIT, result, now, coverage_versions):
            return False
        self.pre_visit_done = True
        return True

    # -- the appointment, as scheduling reports it -------------------------------------------------
    def day_of(self, start: datetime) -> date:
        """The local date of the visit moved to ``start``."""
        return local_day(start, self.start, self.service_date) if self.start else _utc(start).date()

    def move_due(self, start: datetime, previous_start: datetime, at: datetime, move_id: str) -> bool:
        """Whether a reschedule to ``start`` (raised at ``at``) is news: not for an appointment that
        ended, nor a redelivery, nor one older than the move already applied. The event carries no
        sequence, so its time orders moves; on a tie, only a move from where the visit stands counts."""
        if self.appointment_id is None or not self.scheduled or self.moved_by == move_id:
            return False
        here = _utc(self.start) if self.start else None
        if self.moved_at is not None:
            last = _utc(self.moved_at)
            if _utc(at) < last or (_utc(at) == last and _utc(previous_start) != here):
                return False
        return _utc(start) != here

    def move(
        self,
        start: datetime,
        previous_start: datetime,
        at: datetime,
        move_id: str,
        result: EligibilityResult,
        now: datetime,
        coverage_versions: dict[str, int],
        *,
        authorization_id: str | None,
        awaiting_authorization: bool,
    ) -> bool:
        """The visit moved: re-decided for its new date, always announced (consumers hear the
        decision for the new date even when it stands), and its pre-visit re-check due again."""
        if not self.move_due(start, previous_start, at, move_id):
            return False
        self.start, self.service_date = start, self.day_of(start)
        self.moved_at, self.moved_by = at, move_id
        self.pre_visit_done, self.pre_visit_claimed_at = False, None
        self.authorization_id, self.awaiting_authorization = authorization_id, awaiting_authorization
        self.decision, self.checked_at, self.coverage_versions = result.decision, now, coverage_versions
        self._append(Trigger.RESCHEDULED, result, now)
        self._announce(Trigger.RESCHEDULED)
        return True

    def appointment_ended(self, status: AppointmentStatus) -> bool:
        if self.appointment_status is None or self.appointment_status is status:
            return False
        self.appointment_status = status
        return True

    def authorization_settled(self) -> bool:
        """The authorization it waited on now covers the visit: confirmations go out again."""
        if not self.awaiting_authorization:
            return False
        self.awaiting_authorization = False
        return True

    # -- internals -------------------------------------------------------------------------------
    def _append(self, trigger: Trigger, result: EligibilityResult, now: datetime) -> None:
        self.runs = [*self.runs, CheckRun(number=len(self.runs) + 1, trigger=trigger, checked_at=now, result=result)]
        self.action = result.action

    def _announce(self, trigger: Trigger) -> None:
        if self.appointment_id is None:
            return
        d = self.decision
        if d.outcome is Outcome.CONFIRMED:
            if self.awaiting_authorization:
                return  # insurance.authorization.required went out instead; its decision books the visit
            self.raise_event(
                EligibilityConfirmed(
                    appointment_id=self.appointment_id,
                    patient_id=self.patient_id,
                    coverage_id=d.coverage_id or "",
                    trigger=trigger.value,
                )
            )
        else:
            reason = d.reason or DenialReason.NO_COVERAGE
            self.raise_event(
                EligibilityDenied(
                    appointment_id=self.appointment_id,
                    patient_id=self.patient_id,
                    reason_code=reason.value,
                    reason=PLAIN_REASONS[reason],
                    trigger=trigger.value,
                )
            )
