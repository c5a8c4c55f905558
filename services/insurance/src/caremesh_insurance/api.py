"""Insurance's HTTP API."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from caremesh_insurance.domain import Coverage, CoverageTerms, Decision, EligibilityCheck
from caremesh_insurance.usecases import Insurance
from caremesh_kit.auth import Principal, Role, require

router = APIRouter(tags=["insurance"])

Staff = Annotated[Principal, Depends(require(Role.COORDINATOR, Role.CLINICIAN))]
Anyone = Annotated[Principal, Depends(require(Role.COORDINATOR, Role.CLINICIAN, Role.PATIENT))]


def insurance(request: Request) -> Insurance:
    return request.app.state.insurance


Uc = Annotated[Insurance, Depends(insurance)]


class CoverageOut(CoverageTerms):
    id: str
    version: int
    registered_at: datetime

    @classmethod
    def of(cls, c: Coverage) -> "CoverageOut":
        return cls(id=c.id, version=c.version, registered_at=c.registered_at, **c.terms.model_dump())


class CheckOut(BaseModel):
    appointment_id: str
    patient_id: str
    service_code: str
    decision: Decision
    checked_at: datetime

    @classmethod
    def of(cls, c: EligibilityCheck) -> "CheckOut":
        return cls(appointment_id=c.id, patient_id=c.patient_id, service_code=c.service_code,
                   decision=c.decision, checked_at=c.checked_at)


def _own(who: Principal, patient_id: str) -> None:
    if not who.may_see_patient(patient_id):
        raise HTTPException(403, "patients may only see their own coverage")


@router.post("/coverages", status_code=201, response_model=CoverageOut)
async def register_coverage(body: CoverageTerms, uc: Uc, _: Staff) -> CoverageOut:
    return CoverageOut.of(await uc.register_coverage(body))


@router.get("/coverages", response_model=list[CoverageOut])
async def list_coverages(uc: Uc, who: Anyone, patient_id: Annotated[str, Query(min_length=1)]) -> list[CoverageOut]:
    _own(who, patient_id)
    return [CoverageOut.of(c) for c in await uc.coverages_of(patient_id)]


@router.get("/coverages/{coverage_id}", response_model=CoverageOut)
async def get_coverage(coverage_id: str, uc: Uc, who: Anyone) -> CoverageOut:
    coverage = await uc.get_coverage(coverage_id)
    _own(who, coverage.terms.patient_id)
    return CoverageOut.of(coverage)


@router.get("/eligibility-checks/{appointment_id}", response_model=CheckOut)
async def get_check(appointment_id: str, uc: Uc, who: Anyone) -> CheckOut:
    check = await uc.get_check(appointment_id)
    _own(who, check.patient_id)
    return CheckOut.of(check)
