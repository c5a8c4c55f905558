"""Eligibility use cases: checks on events and on demand, re-checks, and the pre-visit sweep.

A check goes through each of the patient's coverages in order (primary first) with its payer's
adapter until one confirms. Re-checks happen when a coverage changes (insurance consumes its
own ``insurance.coverage.changed``, so a re-check survives a crash after the change is
committed), N days before the visit, and on demand.
"""

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from caremesh_contracts import AppointmentRequested, AppointmentRescheduled, CoverageChanged
from caremesh_insurance import store
from caremesh_insurance.domain import (
    AppointmentStatus,
    Coverage,
    EligibilityAdapterName,
    EligibilityCheck,
    EligibilityResult,
    Outcome,
    Payer,
    Plan,
    Trigger,
    Visit,
    choose,
    counts_visits,
    in_order,
)
from caremesh_insurance.domain.authorization import Gate
from caremesh_insurance.domain.eligibility.decision import Inquiry
from caremesh_insurance.domain.eligibility.x12_mapping import interpret_response
from caremesh_insurance.domain.x12 import PayerUnavailable, X12Error
from caremesh_insurance.usecases.authorizations import VisitFacts
from caremesh_insurance.usecases.ports import PayerAdapter
from caremesh_kit import context
from caremesh_kit.clock import Clock
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, Invalid, NotFound, RetryLater

# Given the request, a confirming result, and the coverage that confirmed with its plan: None when
# no prior authorization is needed.
Authorize = Callable[[AppointmentRequested, EligibilityResult, Coverage, Plan], Awaitable[Gate | None]]
# Given a moved visit and the coverage that confirmed it on its new day (None: none did): the links
# follow the visit, and the gate for the new day (None when no authorization is needed).
Relocate = Callable[[VisitFacts, tuple[Coverage, Plan] | None], Awaitable[Gate | None]]
# Statuses of a rescheduled appointment that insurance has not decided yet (its request may still come).
UNDECIDED = frozenset({"requested", "pending"})


@dataclass(frozen=True)
class Evaluation:
    result: EligibilityResult
    versions: dict[str, int]  # the coverage versions it saw
    # The coverage that confirmed, and its plan as read for the decision (None on a denial).
    confirmed_by: tuple[Coverage, Plan] | None = None


class Eligibility:
    def __init__(
        self,
        coverages: store.Coverages,
        plans: store.Plans,
        payers: store.Payers,
        checks: store.Checks,
        adapters: dict[str, PayerAdapter],
        authorize: Authorize,
        clock: Clock,
        *,
        days_before: int,
        lease: timedelta,
        relocate: Relocate,
    ) -> None:
        """``adapters`` by name, with the rules one (for payers without an adapter of their own);
        ``authorize``: the prior-authorization gate of a confirmed visit."""
        self.coverages, self.plans, self.payers, self.checks = coverages, plans, payers, checks
        self.adapters, self.rules = adapters, adapters[EligibilityAdapterName.RULES.value]
        self.authorize, self.relocate, self.clock = authorize, relocate, clock
        self.days_before, self.lease = days_before, lease

    # -- deciding ---------------------------------------------------------------------------------
    async def evaluate(
        self, patient_id: str, day: date, service_code: str, check_id: str | None = None
    ) -> tuple[EligibilityResult, dict[str, int]]:
        """The decision over all the patient's coverages, and the coverage versions it saw."""
        evaluation = await self.evaluation(patient_id, day, service_code, check_id)
        return evaluation.result, evaluation.versions

    async def evaluation(
        self, patient_id: str, day: date, service_code: str, check_id: str | None = None
    ) -> Evaluation:
        """The patient's visits are read only for a plan that limits visits (no other decision
        depends on them)."""
        coverages = await self.coverages.for_patient(patient_id)
        versions = {c.id: c.version for c in coverages}
        visits: list[Visit] | None = None
        results = []
        for coverage in in_order(coverages):
            plan, payer = await self._plan_and_payer(coverage)
            if visits is None and counts_visits(plan, service_code):
                visits = await self.checks.visits_of(patient_id, exclude=check_id)
            adapter = self.adapters.get(payer.terms.adapter.value if payer else self.rules.name, self.rules)
            result = await adapter.check(Inquiry(coverage, plan, payer, day, service_code, visits or []))
            results.append(result)
            if result.decision.outcome is Outcome.CONFIRMED:
                return Evaluation(result, versions, (coverage, plan))
        return Evaluation(choose(results), versions)

    async def _plan_and_payer(self, coverage: Coverage) -> tuple[Plan, Payer | None]:
        plan = await self.plans.repo.get(coverage.terms.plan_id)
        return plan, await self.payers.repo.find(plan.terms.payer_id)

    # -- checks -----------------------------------------------------------------------------------
    async def on_appointment_requested(self, event: AppointmentRequested, env: object) -> None:
        if await self.checks.repo.find(event.appointment_id):
            return  # already decided; its events are in (or through) the outbox
        evaluation = await self.evaluation(
            event.patient_id, event.service_date, event.service_code, event.appointment_id
        )
        result, gate = evaluation.result, None
        if evaluation.confirmed_by is not None:
            # Before the check: a crash in between leaves no check, so a redelivery passes the gate again
            # (which finds the appointment it already linked).
            gate = await self.authorize(event, result, *evaluation.confirmed_by)
        now = self.clock()

        check = EligibilityCheck.for_appointment(
            event.appointment_id,
            event.patient_id,
            event.service_code,
            event.service_date,
            event.start,
            result,
            now,
            evaluation.versions,
            authorization_id=gate.authorization_id if gate else None,
            awaiting_authorization=gate is not None and not gate.covered,
        )
        # The find above proved it absent; a concurrent redelivery may have decided it since.
        await self.checks.add_absent(check)

    async def check_on_demand(self, patient_id: str, service_code: str, day: date) -> EligibilityCheck:
        result, versions = await self.evaluate(patient_id, day, service_code)
        return await self.checks.repo.add(
            EligibilityCheck.on_demand(context.new_id(), patient_id, service_code, day, result, self.clock(), versions)
        )

    async def recheck(self, check_id: str) -> EligibilityCheck:
        check = await self.checks.repo.get(check_id)
        if check.appointment_id and not check.scheduled:
            raise Conflict("the appointment no longer takes place", current=check.appointment_status)
        result, versions = await self.evaluate(check.patient_id, check.service_date, check.service_code, check.id)
        now = self.clock()
        return await self.checks.repo.mutate(check_id, lambda c: c.recheck(Trigger.ON_DEMAND, result, now, versions))

    async def record_payer_response(
        self, check_id: str, text: str, strict: bool, coverage_id: str | None
    ) -> EligibilityCheck:
        """A 271 that reached a coordinator another way (a portal, a batch file) becomes a run."""
        check = await self.checks.repo.get(check_id)
        coverage_id = coverage_id or check.decision.coverage_id
        if not coverage_id:
            raise Invalid("the check names no coverage; say which coverage the 271 answers for", field="coverage_id")
        coverage = await self.coverages.repo.get(coverage_id)
        if coverage.terms.patient_id != check.patient_id:
            raise Invalid("the coverage belongs to another patient", field="coverage_id")
        plan, _ = await self._plan_and_payer(coverage)
        visits = await self.checks.visits_of(check.patient_id, exclude=check.id)
        try:
            result = interpret_response(
                text,
                strict=strict,
                coverage=coverage,
                plan=plan,
                day=check.service_date,
                service_code=check.service_code,
                visits=visits,
            )
        except X12Error as exc:
            raise Invalid(
                f"the 271 is not valid: {exc}", field="body", segment=exc.segment, position=exc.position
            ) from None
        except PayerUnavailable as exc:
            raise Invalid(f"the 271 holds no answer: {exc}", field="body") from None
        now = self.clock()
        return await self.checks.repo.mutate(check_id, lambda c: c.recheck(Trigger.PAYER_RESPONSE, result, now))

    async def get(self, check_id: str) -> EligibilityCheck:
        return await self.checks.repo.get(check_id)

    async def of_patient(self, patient_id: str, limit: int, offset: int) -> list[EligibilityCheck]:
        return await self.checks.for_patient(patient_id, limit, offset)

    # -- re-checks on events ----------------------------------------------------------------------
    async def on_coverage_changed(self, event: CoverageChanged, env: object) -> None:
        """Re-check the patient's upcoming appointments that have not seen this coverage version."""
        for check in await self.checks.upcoming_for_patient(event.patient_id, self.clock().date()):
            if check.saw(event.coverage_id, event.coverage_version):
                continue
            result, versions = await self.evaluate(check.patient_id, check.service_date, check.service_code, check.id)
            now = self.clock()

            def change(
                c: EligibilityCheck, r: EligibilityResult = result, at: datetime = now, v: dict[str, int] = versions
            ) -> bool:
                return c.recheck_for_coverage(event.coverage_id, event.coverage_version, r, at, v)

            await self.checks.repo.mutate(check.id, change)

    async def on_appointment_rescheduled(self, event: AppointmentRescheduled, env: Envelope) -> None:
        """Re-decide for the new day, move the authorization links with the visit, then record the
        move on the check last: a redelivery after a crash redoes the first two steps harmlessly."""
        check = await self.checks.repo.find(event.appointment_id)
        if check is None:
            if event.status in UNDECIDED:  # moved before its request reached insurance
                raise RetryLater("the appointment's request has not been checked yet")
            return  # never checked here (requested before insurance subscribed)
        if not check.move_due(event.start, event.previous_start, env.time, env.id):
            return  # a redelivery, a stale move, or a visit that no longer takes place
        day = check.day_of(event.start)
        evaluation = await self.evaluation(check.patient_id, day, check.service_code, check.id)
        visit = VisitFacts(check.id, check.patient_id, check.service_code, day, event.practitioner_id, moved=True)
        gate = await self.relocate(visit, evaluation.confirmed_by)
        now = self.clock()
        await self.checks.repo.mutate(
            check.id,
            lambda c: c.move(
                event.start,
                event.previous_start,
                env.time,
                env.id,
                evaluation.result,
                now,
                evaluation.versions,
                authorization_id=gate.authorization_id if gate else None,
                awaiting_authorization=gate is not None and not gate.covered,
            ),
        )

    async def appointment_ended(self, appointment_id: str, status: AppointmentStatus) -> None:
        with contextlib.suppress(NotFound):  # never checked here (e.g. requested before insurance subscribed)
            await self.checks.repo.mutate(appointment_id, lambda c: c.appointment_ended(status))

    # -- the pre-visit sweep ----------------------------------------------------------------------
    async def sweep_pre_visit(self) -> int:
        """Re-check visits entering the N-day window; each once, whatever the number of replicas."""
        today, done = self.clock().date(), 0
        for check in await self.checks.entering_window(today, today + timedelta(days=self.days_before)):
            if check.pre_visit_due(today, self.days_before) and await self._pre_visit(check.id):
                done += 1
        return done

    async def _pre_visit(self, check_id: str) -> bool:
        """Claim the check's pre-visit re-check (False when another replica has it), then run it."""
        now, won = self.clock(), False

        def claim(c: EligibilityCheck) -> bool:
            nonlocal won
            won = c.claim_pre_visit(now, self.lease)
            return won

        check = await self.checks.repo.mutate(check_id, claim)
        if not won:
            return False  # another replica has it: the compare-and-set write decided
        result, versions = await self.evaluate(check.patient_id, check.service_date, check.service_code, check.id)
        stamp = self.clock()
        await self.checks.repo.mutate(check_id, lambda c: c.record_pre_visit(result, stamp, versions))
        return True
