"""Eligibility over HTTP: checks on demand, their history, payer responses, and the FHIR view."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from caremesh_insurance.api.deps import Services
from caremesh_insurance.domain import (
    AppointmentStatus,
    BenefitDetail,
    CheckRun,
    Decision,
    EligibilityCheck,
    EligibilityResult,
    Rejection,
    Trigger,
)
from caremesh_insurance.domain.eligibility import fhir
from caremesh_insurance.domain.plans import ServiceCode
from caremesh_insurance.usecases import UseCases
from caremesh_kit.audit import Access, Action, CareTeamAccess, PatientAccess
from caremesh_kit.errors import Invalid, NotFound
from caremesh_kit.openapi import Limit, Offset

router = APIRouter(tags=["eligibility"])

FHIR_JSON = "application/fhir+json"
RESOURCE = "EligibilityCheck"


class ResultOut(BaseModel):
    """What a run found; the raw X12 interchanges are kept in the store only."""

    adapter: str
    payer: str | None
    coverage_active: bool | None
    benefits: list[BenefitDetail]
    rejections: list[Rejection]
    findings: list[str]
    payer_error: str | None

    @classmethod
    def of(cls, r: EligibilityResult) -> "ResultOut":
        return cls.model_validate(r.model_dump(exclude={"decision", "x12_request", "x12_response"}))


class RunOut(BaseModel):
    number: int
    trigger: Trigger
    checked_at: datetime
    decision: Decision
    result: ResultOut

    @classmethod
    def of(cls, run: CheckRun) -> "RunOut":
        return cls(
            number=run.number,
            trigger=run.trigger,
            checked_at=run.checked_at,
            decision=run.result.decision,
            result=ResultOut.of(run.result),
        )


class CheckOut(BaseModel):
    id: str
    version: int
    appointment_id: str | None
    appointment_status: AppointmentStatus | None
    patient_id: str
    service_code: str
    service_date: date
    decision: Decision
    checked_at: datetime
    trigger: Trigger = Field(description="what caused the latest run")
    runs: int
    pre_visit_done: bool
    authorization_id: str | None = Field(
        None, description="the prior authorization covering the visit or that it waits on"
    )
    awaiting_authorization: bool = Field(False, description="waits on that authorization: no confirmation is sent")
    result: ResultOut = Field(description="the latest run's findings")

    @classmethod
    def of(cls, c: EligibilityCheck) -> "CheckOut":
        return cls(
            id=c.id,
            version=c.version,
            appointment_id=c.appointment_id,
            appointment_status=c.appointment_status,
            patient_id=c.patient_id,
            service_code=c.service_code,
            service_date=c.service_date,
            decision=c.decision,
            checked_at=c.checked_at,
            trigger=c.latest.trigger,
            runs=len(c.runs),
            pre_visit_done=c.pre_visit_done,
            authorization_id=c.authorization_id,
            awaiting_authorization=c.awaiting_authorization,
            result=ResultOut.of(c.latest.result),
        )


class CheckIn(BaseModel):
    patient_id: str = Field(min_length=1)
    service_code: ServiceCode
    service_date: date


@router.post("/eligibility-checks", status_code=201, response_model=CheckOut)
async def check_on_demand(body: CheckIn, uc: Services, access: CareTeamAccess) -> CheckOut:
    """Check now, outside any appointment (no events); the result is kept with the patient's checks."""
    check = await uc.eligibility.check_on_demand(body.patient_id, body.service_code, body.service_date)
    await access.wrote(Action.CREATE, RESOURCE, check.id, body.patient_id)
    return CheckOut.of(check)


@router.get("/eligibility-checks", response_model=list[CheckOut])
async def list_checks(
    uc: Services,
    access: PatientAccess,
    patient_id: Annotated[str, Query(min_length=1)],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[CheckOut]:
    """A patient's checks, latest first."""
    await access.read(RESOURCE, "*", patient_id)
    return [CheckOut.of(c) for c in await uc.eligibility.of_patient(patient_id, limit, offset)]


async def _readable(uc: UseCases, access: Access, check_id: str, resource: str = RESOURCE) -> EligibilityCheck:
    check = await uc.eligibility.get(check_id)
    await access.read(resource, check_id, check.patient_id)
    return check


@router.get("/eligibility-checks/{check_id}", response_model=CheckOut)
async def get_check(check_id: str, uc: Services, access: PatientAccess) -> CheckOut:
    """A check by its id; an appointment's check has the appointment's id."""
    return CheckOut.of(await _readable(uc, access, check_id))


@router.get("/eligibility-checks/{check_id}/history", response_model=list[RunOut])
async def check_history(check_id: str, uc: Services, access: PatientAccess) -> list[RunOut]:
    """Every run of the check, oldest first."""
    return [RunOut.of(r) for r in (await _readable(uc, access, check_id)).runs]


async def _writable(uc: UseCases, access: Access, check_id: str) -> None:
    check = await uc.eligibility.get(check_id)
    await access.wrote(Action.UPDATE, RESOURCE, check_id, check.patient_id)


@router.post("/eligibility-checks/{check_id}/recheck", response_model=CheckOut)
async def recheck(check_id: str, uc: Services, access: CareTeamAccess) -> CheckOut:
    """Check again now; an appointment's scheduling hears of it only if the decision changes."""
    await _writable(uc, access, check_id)
    return CheckOut.of(await uc.eligibility.recheck(check_id))


@router.post(
    "/eligibility-checks/{check_id}/payer-responses",
    response_model=CheckOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/EDI-X12": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
async def record_payer_response(
    check_id: str,
    request: Request,
    uc: Services,
    access: CareTeamAccess,
    strict: bool = False,
    coverage_id: str | None = None,
) -> CheckOut:
    """Record a 271 that came back another way (portal, batch): the body is the X12 interchange.
    ``strict`` also refuses mismatched control numbers, which are otherwise kept as findings."""
    await _writable(uc, access, check_id)
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("the body must be UTF-8 text holding an X12 271", field="body") from None
    return CheckOut.of(await uc.eligibility.record_payer_response(check_id, text, strict, coverage_id))


@router.get(
    "/fhir/CoverageEligibilityResponse/{check_id}",
    response_class=Response,
    responses={200: {"content": {FHIR_JSON: {}}}},
    tags=["fhir"],
)
async def fhir_response(check_id: str, uc: Services, access: PatientAccess) -> Response:
    """The latest run as a FHIR R4 CoverageEligibilityResponse."""
    check = await _readable(uc, access, check_id, "CoverageEligibilityResponse")
    return Response(fhir.coverage_eligibility_response(check).model_dump_json(), media_type=FHIR_JSON)


@router.get(
    "/fhir/CoverageEligibilityResponse/{check_id}/_history/{run}",
    response_class=Response,
    responses={200: {"content": {FHIR_JSON: {}}}},
    tags=["fhir"],
)
async def fhir_response_version(check_id: str, run: int, uc: Services, access: PatientAccess) -> Response:
    """One run (its number is the resource's versionId) as a CoverageEligibilityResponse."""
    check = await _readable(uc, access, check_id, "CoverageEligibilityResponse")
    found = check.run(run)
    if found is None:
        raise NotFound(f"check {check_id} has no run {run}", field="run")
    return Response(fhir.coverage_eligibility_response(check, found).model_dump_json(), media_type=FHIR_JSON)
