"""Eligibility use cases: checks on events and on demand, re-checks, and the pre-visit sweeper.

A check goes through each of the patient's coverages in order (primary first) with its payer's
adapter until one confirms. Re-checks happen when a coverage changes (insurance consumes its
own ``insurance.coverage.changed``, so a re-check survives a crash after the change is
committed), N days before the visit, and on demand.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from caremesh_contracts import AppointmentRequested, CoverageChanged
from caremesh_insurance.domain import (
    AppointmentStatus,
    Coverage,
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
from caremesh_insurance.eligibility.adapters import Inquiry, PayerAdapter, RulesAdapter, interpret_response
from caremesh_insurance.store import Checks, Coverages, Plans
from caremesh_insurance.x12 import PayerUnavailable, X12Error
from caremesh_kit import context, logs
from caremesh_kit.errors import Conflict, Invalid, NotFound
from caremesh_kit.store import Repository

log = logs.get("caremesh.insurance.checking")


@dataclass(frozen=True)
class Gate:
    """A confirmed visit whose plan needs a prior authorization: which one, and whether it covers it."""

    authorization_id: str
    covered: bool


# Given the request, a confirming result, and the coverage that confirmed with its plan: None when
# no prior authorization is needed.
Authorize = Callable[[AppointmentRequested, EligibilityResult, Coverage, Plan], Awaitable[Gate | None]]


@dataclass(frozen=True)
class Evaluation:
    result: EligibilityResult
    versions: dict[str, int]  # the coverage versions it saw
    # The coverage that confirmed, and its plan as read for the decision (None on a denial).
    confirmed_by: tuple[Coverage, Plan] | None = None


@dataclass
class Eligibility:
    coverages: Coverages
    plans: Plans
    payers: Repository[Payer]
    checks: Checks
    adapters: dict[str, PayerAdapter]
    clock: Callable[[], datetime]
    days_before: int = 3
    sweep_seconds: float = 60.0
    lease: timedelta = timedelta(minutes=5)
    authorize: Authorize | None = None
    _rules: RulesAdapter = field(default_factory=RulesAdapter)

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
            adapter = self.adapters.get(payer.terms.adapter.value if payer else "rules", self._rules)
            result = await adapter.check(Inquiry(coverage, plan, payer, day, service_code, visits or []))
            results.append(result)
            if result.decision.outcome is Outcome.CONFIRMED:
                return Evaluation(result, versions, (coverage, plan))
        return Evaluation(choose(results), versions)

    async def _plan_and_payer(self, coverage: Coverage) -> tuple[Plan, Payer | None]:
        plan = await self.plans.repo.get(coverage.terms.plan_id)
        return plan, await self.payers.find(plan.terms.payer_id)

    # -- checks -----------------------------------------------------------------------------------
    async def on_appointment_requested(self, event: AppointmentRequested, env: object) -> None:
        if await self.checks.repo.find(event.appointment_id):
            return  # already decided; its events are in (or through) the outbox
        evaluation = await self.evaluation(
            event.patient_id, event.service_date, event.service_code, event.appointment_id
        )
        result, gate = evaluation.result, None
        if self.authorize is not None and evaluation.confirmed_by is not None:
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
            await self.checks.repo.mutate(
                check.id,
                lambda c, r=result, v=versions: c.recheck_for_coverage(
                    event.coverage_id, event.coverage_version, r, now, v
                ),
            )

    async def appointment_ended(self, appointment_id: str, status: AppointmentStatus) -> None:
        try:
            await self.checks.repo.mutate(appointment_id, lambda c: c.appointment_ended(status))
        except NotFound:
            pass  # never checked here (e.g. requested before insurance subscribed)

    # -- the pre-visit sweeper --------------------------------------------------------------------
    async def sweep_pre_visit(self) -> int:
        """Re-check visits entering the N-day window; each once, whatever the number of replicas."""
        today, done = self.clock().date(), 0
        for check in await self.checks.entering_window(today, today + timedelta(days=self.days_before)):
            if not check.pre_visit_due(today, self.days_before):
                continue
            now, won = self.clock(), False

            def claim(c: EligibilityCheck) -> bool:
                nonlocal won
                won = c.claim_pre_visit(now, self.lease)
                return won

            await self.checks.repo.mutate(check.id, claim)
            if not won:
                continue  # another replica has it: the compare-and-set write decided
            result, versions = await self.evaluate(check.patient_id, check.service_date, check.service_code, check.id)
            stamp = self.clock()
            await self.checks.repo.mutate(check.id, lambda c: c.record_pre_visit(result, stamp, versions))
            done += 1
        return done

    async def sweeper(self, also: Callable[[], object] | None = None) -> None:
        while True:
            try:
                if n := await self.sweep_pre_visit():
                    logs.info(log, "pre-visit eligibility re-checks", count=n)
                if also is not None:
                    await also()  # type: ignore[misc]
            except Exception:
                log.exception("eligibility sweep failed")
            await asyncio.sleep(self.sweep_seconds)
