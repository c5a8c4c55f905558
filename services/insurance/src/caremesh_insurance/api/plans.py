"""Payers and plans over HTTP: reference data (not patient data), kept by coordinators."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import Field

from caremesh_insurance.api.deps import Services
from caremesh_insurance.domain import Payer, PayerTerms, Plan, PlanStatus, PlanTerms
from caremesh_kit.auth import AnyUser, Coordinator
from caremesh_kit.http import Resource
from caremesh_kit.openapi import Limit, Offset

router = APIRouter(tags=["insurance"])


class PayerOut(Resource, PayerTerms):
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Payer) -> "PayerOut":
        return cls(id=p.id, version=p.version, created_at=p.created_at, updated_at=p.updated_at, **p.terms.model_dump())


class PayerChange(PayerTerms):
    version: int | None = Field(None, description="apply only to this version (else 409)")


class PlanOut(Resource, PlanTerms):
    status: PlanStatus
    coverage_id: str | None = Field(None, description="set for a plan made for one coverage (inline form)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Plan) -> "PlanOut":
        return cls(
            id=p.id,
            version=p.version,
            status=p.status,
            coverage_id=p.coverage_id,
            created_at=p.created_at,
            updated_at=p.updated_at,
            **p.terms.model_dump(),
        )


class PlanChange(PlanTerms):
    version: int | None = Field(None, description="apply only to this version (else 409)")


@router.post("/payers", status_code=201, response_model=PayerOut)
async def create_payer(body: PayerTerms, uc: Services, _: Coordinator) -> PayerOut:
    return PayerOut.of(await uc.plans.create_payer(body))


@router.get("/payers", response_model=list[PayerOut])
async def list_payers(uc: Services, _: AnyUser, limit: Limit = 100, offset: Offset = 0) -> list[PayerOut]:
    return [PayerOut.of(p) for p in await uc.plans.list_payers(limit, offset)]


@router.get("/payers/{payer_id}", response_model=PayerOut)
async def get_payer(payer_id: str, uc: Services, _: AnyUser) -> PayerOut:
    return PayerOut.of(await uc.plans.get_payer(payer_id))


@router.put("/payers/{payer_id}", response_model=PayerOut)
async def update_payer(payer_id: str, body: PayerChange, uc: Services, _: Coordinator) -> PayerOut:
    terms = PayerTerms.model_validate(body.model_dump(exclude={"version"}))
    return PayerOut.of(await uc.plans.update_payer(payer_id, terms, body.version))


@router.post("/plans", status_code=201, response_model=PlanOut)
async def create_plan(body: PlanTerms, uc: Services, _: Coordinator) -> PlanOut:
    return PlanOut.of(await uc.plans.create_plan(body))


@router.get("/plans", response_model=list[PlanOut])
async def list_plans(
    uc: Services, _: AnyUser, payer_id: str | None = None, limit: Limit = 100, offset: Offset = 0
) -> list[PlanOut]:
    return [PlanOut.of(p) for p in await uc.plans.list_plans(payer_id, limit, offset)]


@router.get("/plans/{plan_id}", response_model=PlanOut)
async def get_plan(plan_id: str, uc: Services, _: AnyUser) -> PlanOut:
    return PlanOut.of(await uc.plans.get_plan(plan_id))


@router.put("/plans/{plan_id}", response_model=PlanOut)
async def update_plan(plan_id: str, body: PlanChange, uc: Services, _: Coordinator) -> PlanOut:
    """Replace the plan's terms; every coverage on it announces the new benefits."""
    terms = PlanTerms.model_validate(body.model_dump(exclude={"version"}))
    return PlanOut.of(await uc.plans.update_plan(plan_id, terms, body.version))


@router.delete("/plans/{plan_id}", response_model=PlanOut)
async def retire_plan(plan_id: str, uc: Services, _: Coordinator) -> PlanOut:
    """Retire the plan: no new coverages; existing ones keep it."""
    return PlanOut.of(await uc.plans.retire_plan(plan_id))
