"""Prior-authorization use cases, shared by the API, the event handlers and the review sweep.

- the gate on ``scheduling.appointment.requested`` (``gate``): a visit whose plan needs a prior
  authorization is covered by one in force (holding a unit), or waits on an open one, or on a new
  one (its id derived from the appointment's, so a redelivery makes none);
- coordinators' records of the payer's responses, each a compare-and-set write with its events;
- units used from ``scheduling.appointment.fulfilled``; appointments that end release their hold;
- the review sweep: overdue decisions, expiry and renewal thresholds, once across replicas.
"""

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from caremesh_contracts import AppointmentFulfilled, AppointmentRequested
from caremesh_insurance import store
from caremesh_insurance.domain import Coverage, CoverageStatus, EligibilityResult, Plan, SubmissionAdapterName
from caremesh_insurance.domain.authorization import (
    IN_FORCE,
    OPEN,
    Approval,
    Denial,
    Gate,
    LinkState,
    PriorAuthorization,
    Priority,
    Status,
    Submission,
)
from caremesh_insurance.domain.authorization.submission import Kind, ReviewRequest
from caremesh_insurance.usecases import metrics
from caremesh_insurance.usecases.ports import SubmissionAdapter
from caremesh_kit import context, logs
from caremesh_kit.clock import Clock
from caremesh_kit.errors import Invalid, NotFound, VersionConflict
from caremesh_kit.store import Repository, check_version

log = logs.get("caremesh.insurance.authorizations")
# Authorizations required by an appointment get a stable id from it.
REQUIRED_BY = uuid.UUID("0c7d1f4e-9b2a-4e55-8f0e-3a6b2d9c4e71")
SYSTEM = "system"
SWEEP_BATCH = 200
LIVE = [s.value for s in (*IN_FORCE, Status.APPEALED)]  # where an approval may stand
LIVE_OR_OPEN = sorted({*LIVE, *(s.value for s in OPEN)})


def _expiry(a: PriorAuthorization) -> tuple[date, str]:
    """Those ending first are used first."""
    return (a.approval.valid_to if a.approval else date.max), a.id


@dataclass(frozen=True)
class VisitFacts:
    """What the gate needs of a visit: from its request, or from its reschedule (``moved``)."""

    appointment_id: str
    patient_id: str
    service_code: str
    day: date
    provider_id: str | None
    moved: bool = False


class PriorAuthorizationRequests:
    """Prior authorizations as coordinators, appointments and the review sweep move them."""

    def __init__(
        self,
        authorizations: store.PriorAuthorizations,
        coverages: store.Coverages,
        plans: store.Plans,
        payers: store.Payers,
        checks: store.Checks,
        adapters: dict[str, SubmissionAdapter],
        clock: Clock,
    ) -> None:
        """``adapters`` by name, with the manual one (for payers without an adapter of their own)."""
        self.authorizations, self.coverages, self.plans, self.payers = authorizations, coverages, plans, payers
        self.checks, self.adapters, self.clock = checks, adapters, clock
        self.manual = adapters[SubmissionAdapterName.MANUAL.value]

    @property
    def repo(self) -> Repository[PriorAuthorization]:
        return self.authorizations.repo

    # -- the gate on requested appointments ----------------------------------------------------------

    async def gate(
        self,
        event: AppointmentRequested,
        result: EligibilityResult,
        coverage: Coverage | None = None,
        plan: Plan | None = None,
    ) -> Gate | None:
        """For a visit the coverage confirmed: None when its plan needs no prior authorization. The
        coverage and its plan as the decision read them, if given; else they are read."""
        if coverage is None or coverage.id != result.decision.coverage_id:
            coverage, plan = await self.coverages.repo.get(result.decision.coverage_id or ""), None
        if plan is None or plan.id != coverage.terms.plan_id:
            plan = await self.plans.repo.get(coverage.terms.plan_id)
        visit = VisitFacts(
            event.appointment_id, event.patient_id, event.service_code, event.service_date, event.practitioner_id
        )
        return await self._gate(visit, coverage, plan, str(uuid.uuid5(REQUIRED_BY, event.appointment_id)))

    async def _gate(self, visit: VisitFacts, coverage: Coverage, plan: Plan, new_id: str) -> Gate | None:
        """``new_id``: the id of an authorization this visit requires, stable across redeliveries."""
        benefit = plan.terms.benefit_for(visit.service_code)
        if benefit is None or not benefit.prior_authorization:
            return None
        appt, code, day, provider = visit.appointment_id, visit.service_code, visit.day, visit.provider_id
        announce = visit.moved  # a booked visit moving onto another approval: scheduling hears of it
        for auth in await self.authorizations.holding(appt):  # a redelivery finds what the first delivery did
            link = auth.link(appt)
            if link is not None and link.state in (LinkState.WAITING, LinkState.COVERED, LinkState.FULFILLED):
                return Gate(auth.id, covered=link.state is not LinkState.WAITING)
        now = self.clock()
        # The patient's authorizations in force and those still open, in one read (a reservation
        # below changes no field these choices look at; each change reads the one it changes).
        found = await self.authorizations.of_patient(visit.patient_id, LIVE_OR_OPEN)
        live = [a for a in found if a.status in LIVE and a.covers(code, day, provider)]
        for auth in sorted(live, key=_expiry):
            auth = await self.repo.mutate(
                auth.id, lambda a: a.reserve(appt, code, day, provider, now, announce=announce)
            )
            if (link := auth.link(appt)) is not None and link.state is LinkState.COVERED:
                return Gate(auth.id, covered=True)
        pending = [a for a in found if a.status in OPEN and a.service_code == code]
        for auth in sorted((a for a in pending if a.coverage_id == coverage.id), key=lambda a: a.created_at):
            auth = await self.repo.mutate(auth.id, lambda a: a.attach(appt, day, provider, now))
            if (link := auth.link(appt)) is not None and link.state is LinkState.WAITING:
                return Gate(auth.id, covered=False)
        auth = PriorAuthorization.require(
            new_id,
            visit.patient_id,
            coverage.id,
            coverage.payer,
            code,
            appt,
            SYSTEM,
            now,
            service_date=day,
            provider_id=provider,
        )
        await self.repo.add_once(auth)  # a concurrent delivery may have made it first: the same id
        return Gate(auth.id, covered=False)

    async def appointment_moved(self, visit: VisitFacts, confirmed_by: tuple[Coverage, Plan] | None) -> Gate | None:
        """A reschedule: the links follow the visit to its new day, then the gate runs again for a
        visit the coverage confirmed there (None: no authorization is needed, or none confirmed)."""
        now = self.clock()
        for auth in await self.authorizations.holding(visit.appointment_id):
            await self.repo.mutate(auth.id, lambda a: a.move(visit.appointment_id, visit.day, visit.provider_id, now))
        if confirmed_by is None:
            return None
        # A new authorization per day and provider the visit moves to: a redelivery finds the same one.
        new_id = str(uuid.uuid5(REQUIRED_BY, f"{visit.appointment_id}/{visit.day}/{visit.provider_id}"))
        return await self._gate(visit, *confirmed_by, new_id)

    # -- reading -------------------------------------------------------------------------------------

    async def get(self, auth_id: str) -> PriorAuthorization:
        return await self.repo.get(auth_id)

    async def of_patient(
        self, patient_id: str, status: Status | None, limit: int, offset: int
    ) -> list[PriorAuthorization]:
        return await self.authorizations.of_patient(
            patient_id, [status.value] if status else None, limit=limit, offset=offset
        )

    # -- coordinators record what happens ------------------------------------------------------------

    async def _change(
        self, auth_id: str, version: int | None, change: Callable[[PriorAuthorization], bool]
    ) -> tuple[PriorAuthorization, bool]:
        auth, outcome = await self.repo.apply(auth_id, change, expected_version=version)
        return auth, bool(outcome)

    async def create(self, patient_id: str, coverage_id: str, service_code: str, by: str) -> PriorAuthorization:
        """One asked for by a coordinator (e.g. a renewal), not by an appointment."""
        coverage = await self.coverages.repo.find(coverage_id)
        if coverage is None or coverage.terms.patient_id != patient_id:
            raise Invalid(f"coverage {coverage_id} not found for this patient", field="coverage_id")
        if coverage.status is CoverageStatus.CANCELLED:
            raise Invalid(f"coverage {coverage_id} is cancelled", field="coverage_id")
        auth = PriorAuthorization.require(
            context.new_id(), patient_id, coverage_id, coverage.payer, service_code, None, by, self.clock()
        )
        return await self.repo.add(auth)

    async def draft(self, auth_id: str, by: str, version: int | None, note: str | None) -> PriorAuthorization:
        now = self.clock()
        return (await self._change(auth_id, version, lambda a: a.draft(by, now, note)))[0]

    async def _send(
        self,
        auth: PriorAuthorization,
        kind: Kind,
        priority: Priority,
        units: int,
        now: datetime,
        diagnosis_codes: list[str],
        period: tuple[date, date] | None,
    ) -> Submission:
        coverage: Coverage = await self.coverages.repo.get(auth.coverage_id)
        payer = await self.payers.repo.find((await self.plans.repo.get(coverage.terms.plan_id)).terms.payer_id)
        adapter = self.adapters.get(payer.terms.authorization_adapter.value if payer else "", self.manual)
        if period is None:
            days = sorted(x.service_date for x in auth.links if x.state is LinkState.WAITING and x.service_date)
            period = (days[0], days[-1]) if days else None
        sent = await adapter.submit(
            ReviewRequest(
                authorization=auth,
                coverage=coverage,
                payer=payer,
                kind=kind,
                priority=priority,
                units=units,
                now=now,
                diagnosis_codes=diagnosis_codes,
                service_from=period[0] if period else None,
                service_to=period[1] if period else None,
            )
        )
        return Submission(
            number=len(auth.submissions) + 1,
            kind=kind,
            adapter=adapter.name,
            at=now,
            format=sent.format,
            control_number=sent.control_number,
            document=sent.document,
            sent=sent.sent,
            response=sent.response,
        )

    async def submit(
        self,
        auth_id: str,
        *,
        priority: Priority,
        units: int,
        by: str,
        version: int | None = None,
        received_at: datetime | None = None,
        diagnosis_codes: list[str] | None = None,
        period: tuple[date, date] | None = None,
        note: str | None = None,
    ) -> PriorAuthorization:
        """Through the payer's submission adapter (a 278 for x12_278), then recorded with its clock."""
        auth = await self.repo.get(auth_id)
        check_version(auth, version)
        now = self.clock()
        if not auth.allowed(Status.SUBMITTED):
            return auth  # already submitted: a repeat sends nothing
        PriorAuthorization.received_time(received_at, now)  # refused before anything is sent
        codes = diagnosis_codes if diagnosis_codes is not None else auth.diagnosis_codes
        submission = await self._send(auth, "initial", priority, units, now, codes, period)
        auth, changed = await self._change(
            auth_id,
            version,
            lambda a: a.submit(
                priority,
                units,
                by,
                now,
                note,
                received_at=received_at,
                diagnosis_codes=codes,
                submission=submission.model_copy(update={"number": len(a.submissions) + 1}),
            ),
        )
        if changed:
            metrics.requested(auth)
        return auth

    async def pend(self, auth_id: str, by: str, version: int | None, note: str | None) -> PriorAuthorization:
        now = self.clock()
        return (await self._change(auth_id, version, lambda a: a.pend(by, now, note)))[0]

    async def approve(
        self,
        auth_id: str,
        approval: Approval,
        by: str,
        *,
        version: int | None = None,
        partial: bool | None = None,
        decided_at: datetime | None = None,
        note: str | None = None,
    ) -> PriorAuthorization:
        now = self.clock()
        auth, changed = await self._change(
            auth_id, version, lambda a: a.approve(approval, by, now, note, partial=partial, decided_at=decided_at)
        )
        if changed:
            metrics.decided(auth)
            await self._settle([x.appointment_id for x in auth.links if x.state is LinkState.COVERED])
        return auth

    async def _settle(self, appointment_ids: list[str]) -> None:
        """Covered visits' checks confirm again on later re-checks (a crash here only keeps them quiet)."""
        for appointment_id in appointment_ids:
            with contextlib.suppress(NotFound):  # never checked here
                await self.checks.repo.mutate(appointment_id, lambda c: c.authorization_settled())

    async def deny(
        self, auth_id: str, denial: Denial, by: str, *, version: int | None = None, decided_at: datetime | None = None
    ) -> PriorAuthorization:
        now = self.clock()
        auth, changed = await self._change(auth_id, version, lambda a: a.deny(denial, by, now, decided_at=decided_at))
        if changed:
            metrics.decided(auth)
        return auth

    async def appeal(
        self,
        auth_id: str,
        by: str,
        *,
        version: int | None = None,
        received_at: datetime | None = None,
        priority: Priority | None = None,
        note: str | None = None,
    ) -> PriorAuthorization:
        auth = await self.repo.get(auth_id)
        check_version(auth, version)
        now = self.clock()
        if not auth.allowed(Status.APPEALED):
            return auth
        PriorAuthorization.received_time(received_at, now)
        submission = await self._send(
            auth, "appeal", priority or auth.priority, auth.units_requested, now, auth.diagnosis_codes, None
        )
        auth, changed = await self._change(
            auth_id,
            version,
            lambda a: a.appeal(
                by,
                now,
                note,
                received_at=received_at,
                priority=priority,
                submission=submission.model_copy(update={"number": len(a.submissions) + 1}),
            ),
        )
        if changed:
            metrics.requested(auth)
        return auth

    async def cancel(self, auth_id: str, by: str, version: int | None, note: str | None) -> PriorAuthorization:
        now = self.clock()
        return (await self._change(auth_id, version, lambda a: a.cancel(by, now, note)))[0]

    # -- scheduling's appointments -------------------------------------------------------------------

    async def on_appointment_fulfilled(self, event: AppointmentFulfilled, env: object) -> None:
        """One unit per fulfilled visit: of the authorization holding it, else of one in force that
        matches it (a visit booked before the plan asked for one)."""
        now, appt = self.clock(), event.appointment_id
        check = await self.checks.repo.find(appt)
        day = check.service_date if check else event.start.date()
        holders = await self.authorizations.holding(appt)
        candidates = holders or sorted(
            (a for a in await self.authorizations.of_patient(event.patient_id, LIVE) if a.in_force), key=_expiry
        )
        for auth in candidates:
            counted = False

            def count(a: PriorAuthorization) -> bool:
                nonlocal counted
                counted = a.count_visit(
                    appt, now, service_code=event.service_code, day=day, provider_id=event.practitioner_id
                )
                return counted

            await self.repo.mutate(auth.id, count)
            if counted:
                return

    async def appointment_ended(self, appointment_id: str) -> None:
        """Cancelled, declined or missed: the visit no longer waits or holds a unit."""
        now = self.clock()
        for auth in await self.authorizations.holding(appointment_id):
            await self.repo.mutate(auth.id, lambda a: a.release(appointment_id, now))

    # -- the review sweep ---------------------------------------------------------------------------

    async def review_due(self) -> int:
        """Review every authorization whose ``next_review_at`` has come; how many changed."""
        now, changed = self.clock(), 0
        for auth_id in await self.authorizations.due_for_review(now, SWEEP_BATCH):
            try:
                with context.bound(correlation=context.new_id()):  # one per authorization: its logs and events
                    changed += await self._review(auth_id, now)
            except Exception:
                log.exception("reviewing a prior authorization failed")
        return changed

    async def _review(self, auth_id: str, now: datetime) -> int:
        changed = became_overdue = False

        def review(a: PriorAuthorization) -> bool:
            nonlocal changed, became_overdue
            was_overdue = a.overdue_reported
            changed = a.review(now)
            became_overdue = a.overdue_reported and not was_overdue
            return changed

        try:
            # One attempt: a concurrent write (another replica, a coordinator) wins; the next round looks again.
            auth = await self.repo.mutate(auth_id, review, attempts=1)
        except VersionConflict:
            return 0
        if not changed:
            return 0
        if became_overdue:
            metrics.overdue(auth)
        return 1
