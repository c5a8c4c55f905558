"""A patient's coverages: registered (by plan, or in the foundation's inline form that names the
payer and plan), amended, ended and cancelled; each change raises ``insurance.coverage.changed``."""

import uuid
from datetime import date
from typing import Any

from caremesh_insurance import store
from caremesh_insurance.domain import (
    Coverage,
    CoverageTerms,
    Payer,
    PayerTerms,
    Plan,
    PlanStatus,
    PlanTerms,
    ServiceBenefit,
)
from caremesh_kit import context, logs
from caremesh_kit.clock import Clock
from caremesh_kit.errors import Invalid, NotFound

log = logs.get("caremesh.insurance")
# Payers registered by name through the inline coverage form get a stable id from the name.
INLINE_PAYERS = uuid.UUID("5d0c8f8e-2f43-4a53-9a59-7d5e2b1c9a10")


class CoverageRegistry:
    def __init__(self, payers: store.Payers, plans: store.Plans, coverages: store.Coverages, clock: Clock) -> None:
        self.payers, self.plans, self.coverages, self.clock = payers, plans, coverages, clock

    async def _plan_for(self, plan_id: str, *, new: bool) -> tuple[Plan, Payer]:
        plan = await self.plans.repo.find(plan_id)
        if plan is None:
            raise Invalid(f"plan {plan_id} not found", field="plan_id")
        if new and plan.status is PlanStatus.RETIRED:
            raise Invalid(f"plan {plan_id} is retired", field="plan_id")
        return plan, await self.payers.repo.get(plan.terms.payer_id)

    async def register_coverage(self, terms: CoverageTerms) -> tuple[Coverage, Plan]:
        plan, payer = await self._plan_for(terms.plan_id, new=True)
        coverage = Coverage.register(context.new_id(), terms, plan, payer.terms.name, self.clock())
        return await self.coverages.repo.add(coverage), plan

    async def register_inline(
        self, payer_name: str, plan_name: str, service_codes: list[str], terms: dict[str, Any]
    ) -> tuple[Coverage, Plan]:
        """The foundation's form: payer and plan by name with the covered codes. The payer is found
        or made by name; the plan is made for this coverage alone."""
        now = self.clock()
        payer_id = str(uuid.uuid5(INLINE_PAYERS, " ".join(payer_name.casefold().split())))
        await self.payers.repo.add_once(Payer.create(payer_id, PayerTerms(name=payer_name), now))
        coverage_id = context.new_id()
        plan = await self.plans.repo.add(
            Plan.create(
                str(uuid.uuid5(INLINE_PAYERS, coverage_id)),
                PlanTerms(payer_id=payer_id, name=plan_name, services=[ServiceBenefit(code=c) for c in service_codes]),
                now,
                coverage_id=coverage_id,
            )
        )
        payer = await self.payers.repo.get(payer_id)
        coverage = Coverage.register(coverage_id, CoverageTerms(**terms, plan_id=plan.id), plan, payer.terms.name, now)
        return await self.coverages.repo.add(coverage), plan

    async def amend_coverage(
        self, coverage_id: str, terms: CoverageTerms, version: int | None
    ) -> tuple[Coverage, Plan]:
        current = await self.coverages.repo.get(coverage_id)
        plan, payer = await self._plan_for(terms.plan_id, new=terms.plan_id != current.terms.plan_id)
        now = self.clock()

        def change(c: Coverage) -> bool:
            return c.amend(terms, plan, payer.terms.name, now)

        return await self.coverages.repo.mutate(coverage_id, change, expected_version=version), plan

    async def end_coverage(self, coverage_id: str, on: date, version: int | None) -> tuple[Coverage, Plan]:
        coverage = await self.coverages.repo.get(coverage_id)
        plan, _ = await self._plan_for(coverage.terms.plan_id, new=False)
        now = self.clock()

        def change(c: Coverage) -> bool:
            return c.end(on, plan, now)

        return await self.coverages.repo.mutate(coverage_id, change, expected_version=version), plan

    async def cancel_coverage(self, coverage_id: str, version: int | None) -> tuple[Coverage, Plan]:
        coverage = await self.coverages.repo.get(coverage_id)
        plan, _ = await self._plan_for(coverage.terms.plan_id, new=False)
        now = self.clock()

        def change(c: Coverage) -> bool:
            return c.cancel(plan, now)

        return await self.coverages.repo.mutate(coverage_id, change, expected_version=version), plan

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
