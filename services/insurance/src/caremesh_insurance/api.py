"""Insurance's HTTP API."""

from datetime import datetime
from typing import Annotated

from caremesh_kit.audit import Action, CareTeamAccess, PatientAccess
from caremesh_kit.http import Resource, use_cases
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from caremesh_insurance.domain import Coverage, CoverageTerms, Decision, EligibilityCheck
from caremesh_insurance.usecases import Insurance

router = APIRouter(tags=["insurance"])


Uc = Annotated[Insurance, Depends(use_cases)]


class CoverageOut(Resource, CoverageTerms):
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



@router.post("/coverages", status_code=201, response_model=CoverageOut)
async def register_coverage(body: CoverageTerms, uc: Uc, access: CareTeamAccess) -> CoverageOut:
    coverage = await uc.register_coverage(body)
    await access.wrote(Action.CREATE, "Coverage", coverage.id, body.patient_id)
    return CoverageOut.of(coverage)


@router.get("/coverages", response_model=list[CoverageOut])
async def list_coverages(uc: Uc, access: PatientAccess,
                         patient_id: Annotated[str, Query(min_length=1)]) -> list[CoverageOut]:
    await access.read("Coverage", "*", patient_id)
    return [CoverageOut.of(c) for c in await uc.coverages_of(patient_id)]


@router.get("/coverages/{coverage_id}", response_model=CoverageOut)
async def get_coverage(coverage_id: str, uc: Uc, access: PatientAccess) -> CoverageOut:
    coverage = await uc.get_coverage(coverage_id)
    await access.read("Coverage", coverage_id, coverage.terms.patient_id)
    return CoverageOut.of(coverage)


@router.get("/eligibility-checks/{appointment_id}", response_model=CheckOut)
async def get_check(appointment_id: str, uc: Uc, access: PatientAccess) -> CheckOut:
    check = await uc.get_check(appointment_id)
    await access.read("EligibilityCheck", appointment_id, check.patient_id)
    return CheckOut.of(check)
