"""Coordinators' worklists (filtered, paged) and the authorization turnaround report.

Worklists show patient data: each audits one read per patient shown. The report holds counts and
times only (no patient), so it is not in the audit trail.
"""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from caremesh_insurance.api.authorizations import AuthorizationOut
from caremesh_insurance.api.deps import Services
from caremesh_insurance.domain import DenialReason, EligibilityCheck
from caremesh_insurance.domain.authorization import PriorAuthorization
from caremesh_insurance.domain.authorization.report import TurnaroundReport
from caremesh_insurance.usecases import UseCases
from caremesh_kit.audit import CoordinatorAccess
from caremesh_kit.auth import Coordinator
from caremesh_kit.openapi import Limit, Offset

router = APIRouter(tags=["worklists"])
RESOURCE = "PriorAuthorization"


async def _shown(access: CoordinatorAccess, resource: str, patient_ids: list[str]) -> None:
    for pid in dict.fromkeys(patient_ids):
        await access.read(resource, "*", pid)


async def _authorizations(
    uc: UseCases, access: CoordinatorAccess, found: list[PriorAuthorization]
) -> list[AuthorizationOut]:
    await _shown(access, RESOURCE, [a.patient_id for a in found])
    now = uc.clock()
    return [AuthorizationOut.of(a, now) for a in found]


@router.get("/worklists/authorizations/to-submit", response_model=list[AuthorizationOut])
async def to_submit(
    uc: Services,
    access: CoordinatorAccess,
    payer: str | None = None,
    service_code: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuthorizationOut]:
    """Required or drafted: not sent to the payer yet, the oldest first."""
    return await _authorizations(uc, access, await uc.worklists.to_submit(payer, service_code, limit, offset))


@router.get("/worklists/authorizations/waiting-on-payer", response_model=list[AuthorizationOut])
async def waiting_on_payer(
    uc: Services,
    access: CoordinatorAccess,
    payer: str | None = None,
    service_code: str | None = None,
    overdue: Annotated[
        bool | None, Query(description="only past (true) or within (false) the decision deadline")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuthorizationOut]:
    """Submitted, pended or appealed, the longest waiting first; ``overdue`` marks those past their
    CMS-0057-F deadline."""
    found = await uc.worklists.waiting_on_payer(payer, service_code, overdue, limit, offset)
    return await _authorizations(uc, access, found)


@router.get("/worklists/authorizations/denials", response_model=list[AuthorizationOut])
async def denials(
    uc: Services,
    access: CoordinatorAccess,
    payer: str | None = None,
    service_code: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuthorizationOut]:
    """Denied and not appealed yet, the earliest submitted first."""
    return await _authorizations(uc, access, await uc.worklists.denials(payer, service_code, limit, offset))


class FailingVisit(BaseModel):
    appointment_id: str
    patient_id: str
    service_code: str
    service_date: date
    start: datetime | None
    reason: DenialReason | None
    checked_at: datetime
    coverages_seen: list[str] = Field(description="the coverages the latest check went through")

    @classmethod
    def of(cls, c: EligibilityCheck) -> "FailingVisit":
        return cls(
            appointment_id=c.appointment_id or c.id,
            patient_id=c.patient_id,
            service_code=c.service_code,
            service_date=c.service_date,
            start=c.start,
            reason=c.decision.reason,
            checked_at=c.checked_at,
            coverages_seen=sorted(c.coverage_versions),
        )


@router.get("/worklists/eligibility-failures", response_model=list[FailingVisit])
async def eligibility_failures(
    uc: Services,
    access: CoordinatorAccess,
    days: Annotated[int, Query(ge=0, le=90)] = 7,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[FailingVisit]:
    """Scheduled visits in the next ``days`` days (7 by default) whose coverage failed eligibility,
    the soonest first."""
    found = await uc.worklists.failing_eligibility(days, limit, offset)
    await _shown(access, "EligibilityCheck", [c.patient_id for c in found])
    return [FailingVisit.of(c) for c in found]


@router.get("/reports/authorizations/turnaround", response_model=TurnaroundReport)
async def turnaround(
    uc: Services,
    _: Coordinator,
    start: Annotated[AwareDatetime, Query(alias="from")],
    end: Annotated[AwareDatetime, Query(alias="to")],
) -> TurnaroundReport:
    """Decision times (median, 90th percentile), approval, denial and overdue rates of the requests
    payers received in [from, to), overall, by payer and by service."""
    return await uc.worklists.turnaround(start, end)
