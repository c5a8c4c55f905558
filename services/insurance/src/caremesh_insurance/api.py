"""Insurance's HTTP API: payers, plans and coverages (eligibility is in ``eligibility_api``)."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from caremesh_insurance.domain import (
    Coverage,
    CoverageOrder,
    CoverageStatus,
    CoverageTerms,
    Payer,
    PayerTerms,
    Person,
    Plan,
    PlanStatus,
    PlanTerms,
    Relationship,
)
from caremesh_insurance.plans import ServiceCode
from caremesh_insurance.usecases import Insurance
from caremesh_kit.audit import Action, CareTeamAccess, PatientAccess
from caremesh_kit.auth import AnyUser, Coordinator
from caremesh_kit.errors import Invalid
from caremesh_kit.http import Resource, use_cases

router = APIRouter(tags=["insurance"])

Uc = Annotated[Insurance, Depends(use_cases)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


# -- payers and plans (reference data, not patient data) --------------------------------------------


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
async def create_payer(body: PayerTerms, uc: Uc, _: Coordinator) -> PayerOut:
    return PayerOut.of(await uc.create_payer(body))


@router.get("/payers", response_model=list[PayerOut])
async def list_payers(uc: Uc, _: AnyUser, limit: Limit = 100, offset: Offset = 0) -> list[PayerOut]:
    return [PayerOut.of(p) for p in await uc.list_payers(limit, offset)]


@router.get("/payers/{payer_id}", response_model=PayerOut)
async def get_payer(payer_id: str, uc: Uc, _: AnyUser) -> PayerOut:
    return PayerOut.of(await uc.get_payer(payer_id))


@router.put("/payers/{payer_id}", response_model=PayerOut)
async def update_payer(payer_id: str, body: PayerChange, uc: Uc, _: Coordinator) -> PayerOut:
    terms = PayerTerms.model_validate(body.model_dump(exclude={"version"}))
    return PayerOut.of(await uc.update_payer(payer_id, terms, body.version))


@router.post("/plans", status_code=201, response_model=PlanOut)
async def create_plan(body: PlanTerms, uc: Uc, _: Coordinator) -> PlanOut:
    return PlanOut.of(await uc.create_plan(body))


@router.get("/plans", response_model=list[PlanOut])
async def list_plans(
    uc: Uc, _: AnyUser, payer_id: str | None = None, limit: Limit = 100, offset: Offset = 0
) -> list[PlanOut]:
    return [PlanOut.of(p) for p in await uc.list_plans(payer_id, limit, offset)]


@router.get("/plans/{plan_id}", response_model=PlanOut)
async def get_plan(plan_id: str, uc: Uc, _: AnyUser) -> PlanOut:
    return PlanOut.of(await uc.get_plan(plan_id))


@router.put("/plans/{plan_id}", response_model=PlanOut)
async def update_plan(plan_id: str, body: PlanChange, uc: Uc, _: Coordinator) -> PlanOut:
    """Replace the plan's terms; every coverage on it announces the new benefits."""
    terms = PlanTerms.model_validate(body.model_dump(exclude={"version"}))
    return PlanOut.of(await uc.update_plan(plan_id, terms, body.version))


@router.delete("/plans/{plan_id}", response_model=PlanOut)
async def retire_plan(plan_id: str, uc: Uc, _: Coordinator) -> PlanOut:
    """Retire the plan: no new coverages; existing ones keep it."""
    return PlanOut.of(await uc.retire_plan(plan_id))


# -- coverages (patient data: every access is audited) ----------------------------------------------


class CoverageFields(BaseModel):
    member_id: str = Field(min_length=1, max_length=80)
    group_id: str | None = Field(None, min_length=1, max_length=50)
    order: CoverageOrder = CoverageOrder.PRIMARY
    period_start: date
    period_end: date | None = None
    relationship: Relationship = Relationship.SELF
    subscriber: Person | None = None
    dependent: Person | None = None

    @field_validator("period_end")
    @classmethod
    def _after_start(cls, v: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("period_start")
        if v and start and v < start:
            raise ValueError("period_end is before period_start")
        return v

    @field_validator("dependent")
    @classmethod
    def _dependent(cls, v: Person | None, info: ValidationInfo) -> Person | None:
        if v is not None and info.data.get("relationship") is Relationship.SELF:
            raise ValueError("dependent is only for a patient who is not the subscriber (relationship self)")
        return v

    def terms(self, patient_id: str, plan_id: str) -> CoverageTerms:
        return CoverageTerms(
            patient_id=patient_id, plan_id=plan_id, **self.model_dump(include=set(CoverageFields.model_fields))
        )


class CoverageIn(CoverageFields):
    """A plan by id, or the foundation's inline form: payer, plan and service_codes."""

    patient_id: str = Field(min_length=1)
    plan_id: str | None = Field(None, min_length=1)
    payer: str | None = Field(None, min_length=1, max_length=60, description="inline form: the payer's name")
    plan: str | None = Field(None, min_length=1, max_length=200, description="inline form: the plan's name")
    service_codes: list[ServiceCode] | None = Field(
        None, min_length=1, max_length=2000, description="inline form: the CPT/HCPCS codes covered"
    )


class CoverageChange(CoverageFields):
    plan_id: str = Field(min_length=1)
    version: int | None = Field(None, description="apply only to this version (else 409)")


class CoverageEnd(BaseModel):
    period_end: date
    version: int | None = None


class CoverageCancel(BaseModel):
    version: int | None = None


class CoverageOut(Resource, CoverageTerms):
    status: CoverageStatus
    payer: str
    plan: str = Field(description="the plan's name")
    service_codes: list[str]
    prior_authorization_codes: list[str]
    registered_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Coverage, plan: Plan) -> "CoverageOut":
        return cls(
            id=c.id,
            version=c.version,
            status=c.status,
            payer=c.payer,
            plan=plan.terms.name,
            service_codes=plan.terms.service_codes,
            prior_authorization_codes=plan.terms.prior_authorization_codes,
            registered_at=c.registered_at,
            updated_at=c.updated_at,
            **c.terms.model_dump(),
        )


INLINE = ("payer", "plan", "service_codes")


@router.post("/coverages", status_code=201, response_model=CoverageOut)
async def register_coverage(body: CoverageIn, uc: Uc, access: CareTeamAccess) -> CoverageOut:
    inline = [f for f in INLINE if getattr(body, f) is not None]
    if body.plan_id and inline:
        raise Invalid(f"give plan_id or the inline form, not both: {', '.join(inline)}", field=inline[0])
    if body.plan_id:
        coverage, plan = await uc.register_coverage(body.terms(body.patient_id, body.plan_id))
    elif len(inline) == len(INLINE):
        fields = body.model_dump(include=set(CoverageFields.model_fields))
        coverage, plan = await uc.register_inline(
            body.payer or "", body.plan or "", body.service_codes or [], {"patient_id": body.patient_id, **fields}
        )
    else:
        missing = [f for f in INLINE if f not in inline]
        raise Invalid(
            f"plan_id is required (or the inline form, which lacks {', '.join(missing)})",
            field="plan_id" if not inline else missing[0],
        )
    await access.wrote(Action.CREATE, "Coverage", coverage.id, body.patient_id)
    return CoverageOut.of(coverage, plan)


@router.get("/coverages", response_model=list[CoverageOut])
async def list_coverages(
    uc: Uc, access: PatientAccess, patient_id: Annotated[str, Query(min_length=1)]
) -> list[CoverageOut]:
    await access.read("Coverage", "*", patient_id)
    return [CoverageOut.of(c, p) for c, p in await uc.coverages_of(patient_id)]


@router.get("/coverages/{coverage_id}", response_model=CoverageOut)
async def get_coverage(coverage_id: str, uc: Uc, access: PatientAccess) -> CoverageOut:
    coverage, plan = await uc.get_coverage(coverage_id)
    await access.read("Coverage", coverage_id, coverage.terms.patient_id)
    return CoverageOut.of(coverage, plan)


@router.put("/coverages/{coverage_id}", response_model=CoverageOut)
async def amend_coverage(coverage_id: str, body: CoverageChange, uc: Uc, access: CareTeamAccess) -> CoverageOut:
    """Replace the coverage's terms (not its patient); emits insurance.coverage.changed."""
    current, _ = await uc.get_coverage(coverage_id)
    await access.wrote(Action.UPDATE, "Coverage", coverage_id, current.terms.patient_id)
    coverage, plan = await uc.amend_coverage(
        coverage_id, body.terms(current.terms.patient_id, body.plan_id), body.version
    )
    return CoverageOut.of(coverage, plan)


@router.post("/coverages/{coverage_id}/end", response_model=CoverageOut)
async def end_coverage(coverage_id: str, body: CoverageEnd, uc: Uc, access: CareTeamAccess) -> CoverageOut:
    """The coverage ends on ``period_end`` (only ever earlier than its current end)."""
    current, _ = await uc.get_coverage(coverage_id)
    await access.wrote(Action.UPDATE, "Coverage", coverage_id, current.terms.patient_id)
    coverage, plan = await uc.end_coverage(coverage_id, body.period_end, body.version)
    return CoverageOut.of(coverage, plan)


@router.post("/coverages/{coverage_id}/cancel", response_model=CoverageOut)
async def cancel_coverage(coverage_id: str, body: CoverageCancel, uc: Uc, access: CareTeamAccess) -> CoverageOut:
    """Entered in error or withdrawn: the coverage no longer counts for anything."""
    current, _ = await uc.get_coverage(coverage_id)
    await access.wrote(Action.UPDATE, "Coverage", coverage_id, current.terms.patient_id)
    coverage, plan = await uc.cancel_coverage(coverage_id, body.version)
    return CoverageOut.of(coverage, plan)
