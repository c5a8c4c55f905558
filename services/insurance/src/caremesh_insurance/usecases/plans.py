"""Payers and their plans: reference data coordinators keep; a revised plan is announced to every
coverage on it (each raises ``insurance.coverage.changed`` with the new benefits)."""

from collections.abc import Callable
from datetime import datetime

from caremesh_insurance import store
from caremesh_insurance.domain import Coverage, Payer, PayerTerms, Plan, PlanTerms
from caremesh_kit import context
from caremesh_kit.clock import Clock
from caremesh_kit.errors import Invalid


class PlanCatalog:
    def __init__(self, payers: store.Payers, plans: store.Plans, coverages: store.Coverages, clock: Clock) -> None:
        self.payers, self.plans, self.coverages, self.clock = payers, plans, coverages, clock

    # -- payers -----------------------------------------------------------------------------------
    async def create_payer(self, terms: PayerTerms) -> Payer:
        return await self.payers.repo.add(Payer.create(context.new_id(), terms, self.clock()))

    async def update_payer(self, payer_id: str, terms: PayerTerms, version: int | None) -> Payer:
        now = self.clock()

        def change(p: Payer) -> bool:
            return p.revise(terms, now)

        return await self.payers.repo.mutate(payer_id, change, expected_version=version)

    async def get_payer(self, payer_id: str) -> Payer:
        return await self.payers.repo.get(payer_id)

    async def list_payers(self, limit: int, offset: int) -> list[Payer]:
        return await self.payers.listing(limit, offset)

    # -- plans ------------------------------------------------------------------------------------
    async def _payer_of(self, terms: PlanTerms) -> Payer:
        payer = await self.payers.repo.find(terms.payer_id)
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
            return p.revise(terms, now)

        plan = await self.plans.repo.mutate(plan_id, change, expected_version=version)
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
        re-checks its patient's appointments). The sweep repeats this, so a crash midway loses nothing."""
        n = 0
        for coverage_id in await self.coverages.behind_plan(plan.id, plan.version):
            await self.coverages.repo.mutate(coverage_id, self._refresh(plan, self.clock()))
            n += 1
        return n

    @staticmethod
    def _refresh(plan: Plan, now: datetime) -> Callable[[Coverage], bool]:
        return lambda c: c.refresh_plan(plan, now)

    async def sync_plans(self) -> int:
        """The sweep: plan revisions not yet announced to every coverage; how many coverages it announced to."""
        n = 0
        for plan_id, version in await self.plans.all_ids_versions():
            if await self.coverages.behind_plan(plan_id, version):
                n += await self.announce_plan(await self.plans.repo.get(plan_id))
        return n
