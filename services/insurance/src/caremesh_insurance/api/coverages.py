"""A patient's coverages over HTTP (patient data: every access is audited)."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from caremesh_insurance.api.deps import Services
from caremesh_insurance.domain import (
    Coverage,
    CoverageOrder,
    CoverageStatus,
    CoverageTerms,
    Person,
    Plan,
    Relationship,
)
from caremesh_insurance.domain.plans import ServiceCode
from caremesh_kit.audit import Action, CareTeamAccess, PatientAccess
from caremesh_kit.errors import Invalid
from caremesh_kit.http import Resource

router = APIRouter(tags=["insurance"])


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
async def register_coverage(body: CoverageIn, uc: Services, access: CareTeamAccess) -> CoverageOut:
    inline = [f for f in INLINE if getattr(body, f) is not None]
    if body.plan_id and inline:
        raise Invalid(f"give plan_id or the inline form, not both: {', '.join(inline)}", field=inline[0])
    if body.plan_id:
        coverage, plan = await uc.coverages.register_coverage(body.terms(body.patient_id, body.plan_id))
    elif len(inline) == len(INLINE):
        fields = body.model_dump(include=set(CoverageFields.model_fields))
        coverage, plan = await uc.coverages.register_inline(
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
    uc: Services, access: PatientAccess, patient_id: Annotated[str, Query(min_length=1)]
) -> list[CoverageOut]:
    await access.read("Coverage", "*", patient_id)
    return [CoverageOut.of(c, p) for c, p in await uc.coverages.coverages_of(patient_id)]


@router.get("/coverages/{coverage_id}", response_model=CoverageOut)
async def get_coverage(coverage_id: str, uc: Services, access: PatientAccess) -> CoverageOut:
    coverage, plan = await uc.coverages.get_coverage(coverage_id)
    await access.read("Coverage", coverage_id, coverage.terms.patient_id)
    return CoverageOut.of(coverage, plan)


@router.put("/coverages/{coverage_id}", response_model=CoverageOut)
async def amend_coverage(coverage_id: str, body: CoverageChange, uc: Services, access: CareTeamAccess) -> CoverageOut:
    """Replace the coverage's terms (not its patient); emits insurance.coverage.changed."""
    current, _ = await uc.coverages.get_coverage(coverage_id)
    await access.wrote(Action.UPDATE, "Coverage", coverage_id, current.terms.patient_id)
    coverage, plan = await uc.coverages.amend_coverage(
        coverage_id, body.terms(current.terms.patient_id, body.plan_id), body.version
    )
    return CoverageOut.of(coverage, plan)


@router.post("/coverages/{coverage_id}/end", response_model=CoverageOut)
async def end_coverage(coverage_id: str, body: CoverageEnd, uc: Services, access: CareTeamAccess) -> CoverageOut:
    """The coverage ends on ``period_end`` (only ever earlier than its current end)."""
    current, _ = await uc.coverages.get_coverage(coverage_id)
    await access.wrote(Action.UPDATE, "Coverage", coverage_id, current.terms.patient_id)
    coverage, plan = await uc.coverages.end_coverage(coverage_id, body.period_end, body.version)
    return CoverageOut.of(coverage, plan)


@router.post("/coverages/{coverage_id}/cancel", response_model=CoverageOut)
async def cancel_coverage(coverage_id: str, body: CoverageCancel, uc: Services, access: CareTeamAccess) -> CoverageOut:
    """Entered in error or withdrawn: the coverage no longer counts for anything."""
    current, _ = await uc.coverages.get_coverage(coverage_id)
    await access.wrote(Action.UPDATE, "Coverage", coverage_id, current.terms.patient_id)
    coverage, plan = await uc.coverages.cancel_coverage(coverage_id, body.version)
    return CoverageOut.of(coverage, plan)
