"""Prior authorization: an explicit state machine with CMS-0057-F decision deadlines. Pure Python.

One authorization is for one coverage and one requested service. The appointments that need it
are linked to it: they wait on the decision, then the approval covers them (holding a unit each)
or not, and a fulfilled visit uses its unit. Events that concern appointments (required,
approved, denied, cancelled, expired) are raised once per appointment concerned, so scheduling
acts on each; the others name the appointment that first required the authorization.
"""

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import Field, computed_field

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
from caremesh_insurance.domain.authorization.parts import (
    AWAITING_PAYER,
    EXPIRY_NOTICE,
    HOLDING,
    IN_FORCE,
    LOW_UNITS_SHARE,
    OPEN,
    TRANSITIONS,
    AppointmentLink,
    Approval,
    Cycle,
    Denial,
    LinkState,
    Priority,
    Status,
    Submission,
    Transition,
    decision_due,
    midnight,
    payer_time,
)
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict, Invalid
from caremesh_kit.lifecycle import guard


class PriorAuthorization(Aggregate):
    patient_id: str
    coverage_id: str
    payer: str
    service_code: str
    appointment_id: str | None = Field(None, description="the appointment that first required it")
    units_requested: int = 1
    priority: Priority = Priority.STANDARD
    status: Status
    created_at: datetime
    submitted_at: datetime | None = None  # when the payer received the request awaiting a decision
    decision_due: datetime | None = None
    overdue_reported: bool = False  # for the decision awaited now; reset by an appeal
    approval: Approval | None = None
    denial: Denial | None = None
    units_used: int = 0
    links: list[AppointmentLink] = Field(default_factory=list)
    thresholds_reported: list[str] = Field(default_factory=list)
    history: list[Transition]
    cycles: list[Cycle] = Field(default_factory=list)
    submissions: list[Submission] = Field(default_factory=list)
    diagnosis_codes: list[str] = Field(default_factory=list)

    @classmethod
    def require(
        cls,
        auth_id: str,
        patient_id: str,
        coverage_id: str,
        payer: str,
        service_code: str,
        appointment_id: str | None,
        by: str,
        now: datetime,
        *,
        service_date: date | None = None,
        provider_id: str | None = None,
    ) -> "PriorAuthorization":
        links = (
            [
                AppointmentLink(
                    appointment_id=appointment_id,
                    service_code=service_code,
                    service_date=service_date,
                    provider_id=provider_id,
                    state=LinkState.WAITING,
                    since=now,
                )
            ]
            if appointment_id
            else []
        )
        auth = cls(
            id=auth_id,
            patient_id=patient_id,
            coverage_id=coverage_id,
            payer=payer,
            service_code=service_code,
            appointment_id=appointment_id,
            status=Status.REQUIRED,
            created_at=now,
            links=links,
            history=[Transition(status=Status.REQUIRED, by=by, at=now)],
        )
        auth.raise_event(AuthorizationRequired(coverage_id=coverage_id, **auth._ids()))
        return auth

    # -- stored for queries: the sweeper's index and the appointments held ------------------------

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy rejects decorated properties
    @property
    def next_review_at(self) -> datetime | None:
        """When ``review`` may next change something (none: only people and visits change it)."""
        due: list[datetime] = []
        if self.status in AWAITING_PAYER and not self.overdue_reported and self.decision_due is not None:
            due.append(self.decision_due)
        if self.in_force and self.approval is not None:
            due.append(midnight(self.approval.valid_to + timedelta(days=1)))
            if "expiry" not in self.thresholds_reported:
                due.append(midnight(self.approval.valid_to - EXPIRY_NOTICE))
        return min(due) if due else None

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy rejects decorated properties
    @property
    def appointment_ids(self) -> list[str]:
        return [link.appointment_id for link in self.links]

    # -- reading ----------------------------------------------------------------------------------

    @property
    def in_force(self) -> bool:
        """An approval stands: approved, or a partial approval under appeal."""
        return self.approval is not None and (self.status in IN_FORCE or self.status is Status.APPEALED)

    @property
    def overdue(self) -> bool:
        return self.overdue_reported and self.status in AWAITING_PAYER

    @property
    def units_remaining(self) -> int:
        return max(0, self.approval.approved_units - self.units_used) if self.approval else 0

    @property
    def units_held(self) -> int:
        return sum(1 for link in self.links if link.state is LinkState.COVERED)

    @property
    def current_cycle(self) -> Cycle | None:
        return self.cycles[-1] if self.cycles else None

    def link(self, appointment_id: str) -> AppointmentLink | None:
        return next((x for x in self.links if x.appointment_id == appointment_id), None)

    def covers(self, service_code: str, day: date | None, provider_id: str | None = None) -> bool:
        """Whether one more visit of ``service_code`` on ``day`` (with ``provider_id``) fits now:
        the approval's service, period and provider, and a unit not held for another visit."""
        return (
            self.in_force
            and self.matches(service_code, day, provider_id)
            and self.units_remaining - self.units_held >= 1
        )

    def matches(self, service_code: str, day: date | None, provider_id: str | None) -> bool:
        a = self.approval
        return (
            a is not None
            and (a.service_code or self.service_code) == service_code
            and (day is None or a.valid_from <= day <= a.valid_to)
            and (a.provider_id is None or provider_id is None or a.provider_id == provider_id)
        )

    # -- moves --------------------------------------------------------------------------------------

    def _ids(self) -> dict[str, Any]:
        return {
            "authorization_id": self.id,
            "patient_id": self.patient_id,
            "appointment_id": self.appointment_id,
            "service_code": self.service_code,
        }

    def _for(self, appointment_id: str | None) -> dict[str, Any]:
        return self._ids() | {"appointment_id": appointment_id}

    def allowed(self, target: Status) -> bool:
        """True if the move is due; False if already there (a repeat); 409 if not allowed."""
        return guard(self.status, target, TRANSITIONS, "a prior authorization")

    def _apply(self, target: Status, by: str, now: datetime, note: str | None = None) -> None:
        self.status = target
        self.history = [*self.history, Transition(status=target, by=by, at=now, note=note)]

    def _move(self, target: Status, by: str, now: datetime, note: str | None = None) -> bool:
        if not self.allowed(target):
            return False
        self._apply(target, by, now, note)
        return True

    def _set_links(self, ids: set[str], state: LinkState, now: datetime) -> None:
        self.links = [
            x.model_copy(update={"state": state, "since": now}) if x.appointment_id in ids else x for x in self.links
        ]

    def _each(self, links: list[AppointmentLink]) -> list[str | None]:
        """The appointments an event concerns; None (one event naming none) when there are none."""
        return [x.appointment_id for x in links] or [None]

    @staticmethod
    def received_time(received_at: datetime | None, now: datetime) -> datetime:
        return payer_time(received_at, now, "received_at")

    def _decided_at(self, decided_at: datetime | None, now: datetime) -> datetime:
        cycle = self.current_cycle
        return payer_time(
            decided_at, now, "decided_at", cycle.submitted_at if cycle and cycle.outcome is None else None
        )

    def draft(self, by: str, now: datetime, note: str | None = None) -> bool:
        return self._move(Status.DRAFT, by, now, note)  # no event: nothing outside insurance acts on it

    def submit(
        self,
        priority: Priority,
        units: int,
        by: str,
        now: datetime,
        note: str | None = None,
        *,
        received_at: datetime | None = None,
        submission: Submission | None = None,
        diagnosis_codes: list[str] | None = None,
    ) -> bool:
        """Sent to the payer; the clock runs from ``received_at`` (when the payer got it; default now)."""
        if units < 1:
            raise Invalid("at least one unit is requested", field="units_requested")
        if not self.allowed(Status.SUBMITTED):
            return False
        received = self.received_time(received_at, now)
        self._apply(Status.SUBMITTED, by, now, note)
        self.priority, self.units_requested = priority, units
        if diagnosis_codes is not None:
            self.diagnosis_codes = diagnosis_codes
        if submission is not None:
            self.submissions = [*self.submissions, submission]
        self._start_clock("initial", received)
        self.raise_event(
            AuthorizationSubmitted(
                priority=priority.value, submitted_at=received, decision_due=self.decision_due, **self._ids()
            )
        )
        return True

    def _start_clock(self, kind: str, received: datetime) -> None:
        due = decision_due(self.priority, received)
        self.submitted_at, self.decision_due, self.overdue_reported = received, due, False
        self.cycles = [
            *self.cycles,
            Cycle(
                kind=kind,
                priority=self.priority,
                submitted_at=received,
                decision_due=due,
            ),
        ]

    def _close_cycle(self, outcome: str, at: datetime) -> None:
        cycle = self.current_cycle
        if cycle is not None and cycle.outcome is None:
            self.cycles = [*self.cycles[:-1], cycle.model_copy(update={"outcome": outcome, "decided_at": at})]

    def pend(self, by: str, now: datetime, note: str | None = None) -> bool:
        if not self._move(Status.PENDED, by, now, note):
            return False
        self.raise_event(AuthorizationPended(**self._ids()))
        return True

    def approve(
        self,
        approval: Approval,
        by: str,
        now: datetime,
        note: str | None = None,
        *,
        partial: bool | None = None,
        decided_at: datetime | None = None,
    ) -> bool:
        """Approved in full, or partly: fewer units than requested, another service, or as the payer
        says (``partial``, e.g. a shorter period). Each waiting appointment is covered or not."""
        partial = (
            bool(partial)
            or approval.approved_units < self.units_requested
            or (approval.service_code is not None and approval.service_code != self.service_code)
        )
        target = Status.PARTIALLY_APPROVED if partial else Status.APPROVED
        if self.status is target and self.approval is not None:
            if self.approval == approval:
                return False  # the same response recorded again
            raise Conflict(
                f"already {target.value} as {self.approval.authorization_number}: record a new one after an appeal",
                current=self.status.value,
                requested=target.value,
            )
        if not self.allowed(target):
            return False
        decided = self._decided_at(decided_at, now)
        self._apply(target, by, now, note)
        self.approval, self.denial, self.thresholds_reported = approval, None, []
        self._close_cycle(target.value, decided)
        terms = {
            "partial": partial,
            "authorization_number": approval.authorization_number,
            "approved_units": approval.approved_units,
            "valid_from": approval.valid_from,
            "valid_to": approval.valid_to,
        }
        waiting = [x for x in self.links if x.state is LinkState.WAITING]
        if not waiting:
            self.raise_event(AuthorizationApproved(covers_appointment=False, **terms, **self._for(None)))
        for link in waiting:
            fits = self.covers(link.service_code, link.service_date, link.provider_id)
            self._set_links({link.appointment_id}, LinkState.COVERED if fits else LinkState.NOT_COVERED, now)
            self.raise_event(AuthorizationApproved(covers_appointment=fits, **terms, **self._for(link.appointment_id)))
        return True

    def deny(self, denial: Denial, by: str, now: datetime, *, decided_at: datetime | None = None) -> bool:
        """Waiting appointments keep waiting (an appeal may still cover them); each hears of it."""
        if not self.allowed(Status.DENIED):
            return False
        decided = self._decided_at(decided_at, now)
        self._apply(Status.DENIED, by, now, denial.reason)
        # A denied appeal of a partial approval ends that approval too.
        self.denial, self.approval = denial, None
        self._set_links({x.appointment_id for x in self.links if x.state is LinkState.COVERED}, LinkState.WAITING, now)
        self._close_cycle("denied", decided)
        for appointment_id in self._each([x for x in self.links if x.state is LinkState.WAITING]):
            self.raise_event(
                AuthorizationDenied(
                    reason_code=denial.reason_code, reason=denial.reason, appealable=True, **self._for(appointment_id)
                )
            )
        return True

    def appeal(
        self,
        by: str,
        now: datetime,
        note: str | None = None,
        *,
        received_at: datetime | None = None,
        priority: Priority | None = None,
        submission: Submission | None = None,
    ) -> bool:
        """A new request to the payer with its own clock; a partial approval stays in force meanwhile."""
        if not self.allowed(Status.APPEALED):
            return False
        received = self.received_time(received_at, now)
        self._apply(Status.APPEALED, by, now, note)
        if priority is not None:
            self.priority = priority
        if submission is not None:
            self.submissions = [*self.submissions, submission]
        self._start_clock("appeal", received)
        self.raise_event(AuthorizationAppealed(decision_due=self.decision_due, **self._ids()))
        return True

    def cancel(self, by: str, now: datetime, note: str | None = None) -> bool:
        """Withdrawn: the appointments waiting on it or covered by it are released."""
        if not self.allowed(Status.CANCELLED):
            return False
        self._apply(Status.CANCELLED, by, now, note)
        self._close_cycle("cancelled", now)
        held = [x for x in self.links if x.state in HOLDING]
        self._set_links({x.appointment_id for x in held}, LinkState.RELEASED, now)
        for appointment_id in self._each(held):
            self.raise_event(AuthorizationCancelled(**self._for(appointment_id)))
        return True

    # -- appointments: waiting, covered, released ----------------------------------------------------

    def attach(self, appointment_id: str, service_date: date | None, provider_id: str | None, now: datetime) -> bool:
        """Another appointment for this service waits on this open authorization."""
        if self.status not in OPEN or self.link(appointment_id) is not None:
            return False
        self.links = [
            *self.links,
            AppointmentLink(
                appointment_id=appointment_id,
                service_code=self.service_code,
                service_date=service_date,
                provider_id=provider_id,
                state=LinkState.WAITING,
                since=now,
            ),
        ]
        self.raise_event(AuthorizationRequired(coverage_id=self.coverage_id, **self._for(appointment_id)))
        return True

    def reserve(
        self,
        appointment_id: str,
        service_code: str,
        day: date | None,
        provider_id: str | None,
        now: datetime,
        *,
        announce: bool = False,
    ) -> bool:
        """Hold a unit for an appointment the approval covers; True if that changed anything.
        ``announce``: scheduling hears of it (a booked visit moved here from another approval)."""
        if self.link(appointment_id) is not None or not self.covers(service_code, day, provider_id):
            return False
        if announce and self.approval is not None:
            self.raise_event(
                AuthorizationApproved(
                    partial=self.status is Status.PARTIALLY_APPROVED,
                    covers_appointment=True,
                    **self._terms(),
                    **self._for(appointment_id),
                )
            )
        self.links = [
            *self.links,
            AppointmentLink(
                appointment_id=appointment_id,
                service_code=service_code,
                service_date=day,
                provider_id=provider_id,
                state=LinkState.COVERED,
                since=now,
            ),
        ]
        return True

    def release(self, appointment_id: str, now: datetime) -> bool:
        """The appointment was cancelled, declined or missed: it no longer waits or holds a unit."""
        link = self.link(appointment_id)
        if link is None or link.state not in HOLDING:
            return False
        self._set_links({appointment_id}, LinkState.RELEASED, now)
        return True

    def move(self, appointment_id: str, day: date, provider_id: str | None, now: datetime) -> bool:
        """The appointment moved to ``day`` (with ``provider_id``). Waiting, it waits as before; a
        unit held outside the approval's period or provider is let go, and one the approval now
        covers is taken: scheduling hears either way (``approved`` with ``covers_appointment``)."""
        link = self.link(appointment_id)
        if link is None or link.state not in (LinkState.WAITING, LinkState.COVERED, LinkState.NOT_COVERED):
            return False
        if (link.service_date, link.provider_id) == (day, provider_id):
            return False
        moved = link.model_copy(update={"service_date": day, "provider_id": provider_id})
        others = [x for x in self.links if x.appointment_id != appointment_id]
        fits: bool | None = None  # None: nothing to announce
        if link.state is LinkState.COVERED and not self.matches(link.service_code, day, provider_id):
            moved, fits = moved.model_copy(update={"state": LinkState.NOT_COVERED, "since": now}), False
        elif link.state is LinkState.NOT_COVERED:
            self.links = others  # its own former unit is free for the test below
            if self.covers(link.service_code, day, provider_id):
                moved, fits = moved.model_copy(update={"state": LinkState.COVERED, "since": now}), True
        self.links = [*others, moved]
        if fits is not None and self.approval is not None:
            self.raise_event(
                AuthorizationApproved(
                    partial=self.status is Status.PARTIALLY_APPROVED,
                    covers_appointment=fits,
                    **self._terms(),
                    **self._for(appointment_id),
                )
            )
        return True

    def _terms(self) -> dict[str, Any]:
        a = self.approval
        if a is None:
            return {}
        return {
            "authorization_number": a.authorization_number,
            "approved_units": a.approved_units,
            "valid_from": a.valid_from,
            "valid_to": a.valid_to,
        }

    # -- the clock and the counters: driven by time and by fulfilled visits ------------------------

    def report_if_overdue(self, now: datetime) -> bool:
        """Raise the overdue event once per decision awaited; True if it did."""
        if self.status not in AWAITING_PAYER or self.overdue_reported or self.decision_due is None:
            return False
        if now <= self.decision_due:
            return False
        self.overdue_reported = True
        cycle = self.current_cycle
        if cycle is not None:
            self.cycles = [*self.cycles[:-1], cycle.model_copy(update={"overdue_reported": True})]
        self.raise_event(
            AuthorizationOverdue(priority=self.priority.value, decision_due=self.decision_due, **self._ids())
        )
        return True

    def count_visit(
        self,
        appointment_id: str,
        now: datetime,
        *,
        service_code: str | None = None,
        day: date | None = None,
        provider_id: str | None = None,
    ) -> bool:
        """A fulfilled visit uses one unit; each appointment counts once. A visit not linked here
        counts when it matches the approval (given ``service_code``). Units running out expire
        the authorization; running low asks for a renewal."""
        if not self.in_force or self.units_remaining < 1:
            return False
        link = self.link(appointment_id)
        if link is not None and link.state is not LinkState.COVERED:
            return False
        if link is None and service_code is not None and not self.matches(service_code, day, provider_id):
            return False
        if link is None:
            self.links = [
                *self.links,
                AppointmentLink(
                    appointment_id=appointment_id,
                    service_code=service_code or self.service_code,
                    service_date=day,
                    provider_id=provider_id,
                    state=LinkState.FULFILLED,
                    since=now,
                ),
            ]
        else:
            self._set_links({appointment_id}, LinkState.FULFILLED, now)
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
        if self.in_force and self.approval and now.date() > self.approval.valid_to:
            self._expire("period_ended", now)
            return True
        return self._check_thresholds(now) or changed

    def _expire(self, reason: str, now: datetime) -> None:
        """The approval ends: expired, or (under appeal) the appeal goes on without it."""
        if self.status in IN_FORCE:
            self._apply(Status.EXPIRED, "system", now, reason)
        else:
            self.approval = None
        held = [x for x in self.links if x.state is LinkState.COVERED]
        self._set_links({x.appointment_id for x in held}, LinkState.RELEASED, now)
        for appointment_id in self._each(held):
            self.raise_event(AuthorizationExpired(reason=reason, **self._for(appointment_id)))

    def _check_thresholds(self, now: datetime) -> bool:
        if not self.in_force or self.approval is None:
            return False
        a, raised = self.approval, False
        due = {
            "units": self.units_remaining <= max(1, int(a.approved_units * LOW_UNITS_SHARE)) and self.units_used > 0,
            "expiry": now.date() >= a.valid_to - EXPIRY_NOTICE,
        }
        for threshold, reached in due.items():
            if reached and threshold not in self.thresholds_reported:
                self.thresholds_reported = [*self.thresholds_reported, threshold]
                self.raise_event(
                    AuthorizationThresholdReached(
                        threshold=threshold, units_remaining=self.units_remaining, valid_to=a.valid_to, **self._ids()
                    )
                )
                raised = True
        return raised
