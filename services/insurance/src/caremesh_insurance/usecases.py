"""Insurance use cases, shared by the HTTP API and the event handlers: payers, plans and
coverages here, eligibility in ``checking``, prior authorizations in ``authorizing`` and the
payer correspondence log in ``correspondence``."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from caremesh_contracts import AppointmentCancelled, AppointmentDeclined, AppointmentNoShowRecorded
from caremesh_insurance.authorizing import Authorizations, Reports
from caremesh_insurance.checking import Eligibility
from caremesh_insurance.correspondence import CorrespondenceLog
from caremesh_insurance.domain import (
    AppointmentStatus,
    Coverage,
    CoverageTerms,
    Payer,
    PayerTerms,
    Plan,
    PlanStatus,
    PlanTerms,
    ServiceBenefit,
)
from caremesh_insurance.store import Coverages, Plans
from caremesh_kit import context, logs
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, Invalid, NotFound
from caremesh_kit.store import Repository

log = logs.get("caremesh.insurance")
# Payers registered by name through the inline coverage form get a stable id from the name.
INLINE_PAYERS = uuid.UUID("5d0c8f8e-2f43-4a53-9a59-7d5e2b1c9a10")


def _expect(version: int | None, current: int, what: str) -> None:
    if version is not None and version != current:
        raise Conflict(f"the {what} changed since version {version}", current_version=current)


@dataclass
class Insurance:
    payers: Repository[Payer]
    plans: Plans
    coverages: Coverages
    eligibility: Eligibility
    clock: Callable[[], datetime]
    authorizations: Authorizations
    reports: Reports
    correspondence: CorrespondenceLog

    # -- payers -----------------------------------------------------------------------------------
    async def create_payer(self, terms: PayerTerms) -> Payer:
        return await self.payers.add(Payer.create(context.new_id(), terms, self.clock()))

    async def update_payer(self, payer_id: str, terms: PayerTerms, version: int | None) -> Payer:
        now = self.clock()

        def change(p: Payer) -> bool:
            _expect(version, p.version, "payer")
            return p.revise(terms, now)

        return await self.payers.mutate(payer_id, change)

    async def get_payer(self, payer_id: str) -> Payer:
        return await self.payers.get(payer_id)

    async def list_payers(self, limit: int, offset: int) -> list[Payer]:
        cursor = self.payers.collection.find({}).sort("_id", 1).skip(offset).limit(limit)
        return [Payer.from_document(d) async for d in cursor]  # type: ignore[misc]

    # -- plans ------------------------------------------------------------------------------------
    async def _payer_of(self, terms: PlanTerms) -> Payer:
        payer = await self.payers.find(terms.payer_id)
        if payer is None:
            raise Invalid(f"payer {terms.payer_id} not found", field="payer_id")
        return payer

    async def create_plan(self, terms: PlanTerms) -> Plan:
        await self._payer_of(terms)
        return await self.plans.repo.add(Plan.create(context.new_id(), terms, self.clock()))

    async def update_plan(self, plan_id: str, terms: PlanTerms, version: int | None) -> Plan:
        await self._payer_of(terms)
        now = self.clock()

        def change(p: Plan) -> bool:
            _expect(version, p.version, "plan")
            return p.revise(terms, now)

        plan = await self.plans.repo.mutate(plan_id, change)
        await self.announce_plan(plan)
        return plan

    async def retire_plan(self, plan_id: str) -> Plan:
        now = self.clock()
        return await self.plans.repo.mutate(plan_id, lambda p: p.retire(now))

    async def get_plan(self, plan_id: str) -> Plan:
        return await self.plans.repo.get(plan_id)

    async def list_plans(self, payer_id: str | None, limit: int, offset: int) -> list[Plan]:
        return await self.plans.listing(payer_id, limit, offset)

    async def announce_plan(self, plan: Plan) -> int:
        """Each coverage on a revised plan raises coverage.changed with the new benefits (which
        re-checks its patient's appointments). The sweeper repeats this, so a crash midway loses nothing."""
        n = 0
        for coverage_id in await self.coverages.behind_plan(plan.id, plan.version):
            now = self.clock()
            await self.coverages.repo.mutate(coverage_id, lambda c: c.refresh_plan(plan, now))
            n += 1
        return n

    async def sync_plans(self) -> None:
        for plan_id, version in await self.plans.all_ids_versions():
            if await self.coverages.behind_plan(plan_id, version):
                await self.announce_plan(await self.plans.repo.get(plan_id))

    # -- coverages --------------------------------------------------------------------------------
    async def _plan_for(self, plan_id: str, *, new: bool) -> tuple[Plan, Payer]:
        plan = await self.plans.repo.find(plan_id)
        if plan is None:
            raise Invalid(f"plan {plan_id} not found", field="plan_id")
        if new and plan.status is PlanStatus.RETIRED:
            raise Invalid(f"plan {plan_id} is retired", field="plan_id")
        return plan, await self.payers.get(plan.terms.payer_id)

    async def register_coverage(self, terms: CoverageTerms) -> tuple[Coverage, Plan]:
        plan, payer = await self._plan_for(terms.plan_id, new=True)
        coverage = Coverage.register(context.new_id(), terms, plan, payer.terms.name, self.clock())
        return await self.coverages.repo.add(coverage), plan

    async def register_inline(
        self, payer_name: str, plan_name: str, service_codes: list[str], terms: dict
    ) -> tuple[Coverage, Plan]:
        """The foundation's form: payer and plan by name with the covered codes. The payer is found
        or made by name; the plan is made for this coverage alone."""
        now = self.clock()
        payer_id = str(uuid.uuid5(INLINE_PAYERS, " ".join(payer_name.casefold().split())))
        await self.payers.add_once(Payer.create(payer_id, PayerTerms(name=payer_name), now))
        coverage_id = context.new_id()
        plan = await self.plans.repo.add(
            Plan.create(
                str(uuid.uuid5(INLINE_PAYERS, coverage_id)),
                PlanTerms(payer_id=payer_id, name=plan_name, services=[ServiceBenefit(code=c) for c in service_codes]),
                now,
                coverage_id=coverage_id,
            )
        )
        payer = await self.payers.get(payer_id)
        coverage = Coverage.register(coverage_id, CoverageTerms(**terms, plan_id=plan.id), plan, payer.terms.name, now)
        return await self.coverages.repo.add(coverage), plan

    async def amend_coverage(
        self, coverage_id: str, terms: CoverageTerms, version: int | None
    ) -> tuple[Coverage, Plan]:
        current = await self.coverages.repo.get(coverage_id)
        plan, payer = await self._plan_for(terms.plan_id, new=terms.plan_id != current.terms.plan_id)
        now = self.clock()

        def change(c: Coverage) -> bool:
            _expect(version, c.version, "coverage")
            return c.amend(terms, plan, payer.terms.name, now)

        return await self.coverages.repo.mutate(coverage_id, change), plan

    async def end_coverage(self, coverage_id: str, on: date, version: int | None) -> tuple[Coverage, Plan]:
        coverage = await self.coverages.repo.get(coverage_id)
        plan, _ = await self._plan_for(coverage.terms.plan_id, new=False)
        now = self.clock()

        def change(c: Coverage) -> bool:
            _expect(version, c.version, "coverage")
            return c.end(on, plan, now)

        return await self.coverages.repo.mutate(coverage_id, change), plan

    async def cancel_coverage(self, coverage_id: str, version: int | None) -> tuple[Coverage, Plan]:
        coverage = await self.coverages.repo.get(coverage_id)
        plan, _ = await self._plan_for(coverage.terms.plan_id, new=False)
        now = self.clock()

        def change(c: Coverage) -> bool:
            _expect(version, c.version, "coverage")
            return c.cancel(plan, now)

        return await self.coverages.repo.mutate(coverage_id, change), plan

    async def get_coverage(self, coverage_id: str) -> tuple[Coverage, Plan]:
        coverage = await self.coverages.repo.get(coverage_id)
        return coverage, await self.plans.repo.get(coverage.terms.plan_id)

    async def coverages_of(self, patient_id: str) -> list[tuple[Coverage, Plan]]:
        out = []
        for c in sorted(await self.coverages.for_patient(patient_id), key=lambda c: c.registered_at):
            try:
                out.append((c, await self.plans.repo.get(c.terms.plan_id)))
            except NotFound:
                log.warning("coverage without its plan", extra={"fields": {"coverage_id": c.id}})
        return out

    # -- scheduling's appointments ----------------------------------------------------------------
    async def on_appointment_cancelled(self, event: AppointmentCancelled, env: Envelope) -> None:
        await self.eligibility.appointment_ended(event.appointment_id, AppointmentStatus.CANCELLED)
        await self.authorizations.appointment_ended(event.appointment_id)

    async def on_appointment_declined(self, event: AppointmentDeclined, env: Envelope) -> None:
        await self.eligibility.appointment_ended(event.appointment_id, AppointmentStatus.DECLINED)
        await self.authorizations.appointment_ended(event.appointment_id)

    async def on_appointment_no_show(self, event: AppointmentNoShowRecorded, env: Envelope) -> None:
        # A missed visit uses no unit: the payer is not billed for it.
        await self.eligibility.appointment_ended(event.appointment_id, AppointmentStatus.NO_SHOW)
        await self.authorizations.appointment_ended(event.appointment_id)

    async def background(self) -> None:
        """The pre-visit re-checks, and plan revisions not yet announced to every coverage."""
        await self.eligibility.sweeper(also=self.sync_plans)
