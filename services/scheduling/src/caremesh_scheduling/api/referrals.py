"""Referrals: receive, triage, schedule, withdraw, read, and the coordinators' worklist."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from caremesh_kit.audit import Access, Action, CoordinatorAccess, PatientAccess, access_for
from caremesh_kit.auth import Role
from caremesh_kit.errors import Invalid
from caremesh_kit.http import Resource
from caremesh_kit.openapi import Offset, limit_query
from caremesh_scheduling.api.appointments import AppointmentOut, AppointmentRequest
from caremesh_scheduling.api.deps import Services
from caremesh_scheduling.domain.referrals import Priority, Referral, ReferralRequest, Status, Transition

router = APIRouter(tags=["referrals"])
# Referring systems post referrals with a service token; coordinators may enter them by hand.
IntakeAccess = Annotated[Access, Depends(access_for(Role.COORDINATOR, Role.SERVICE))]


class ReferralOut(Resource):
    request: ReferralRequest
    status: Status
    received_at: datetime
    appointment_id: str | None
    appointment_start: datetime | None
    rejection_reason: str | None
    overdue: bool
    history: list[Transition]

    @classmethod
    def of(cls, r: Referral) -> "ReferralOut":
        return cls.model_validate(r.model_dump() | {"overdue": r.overdue})


class Page(BaseModel):
    items: list[ReferralOut]
    total: int
    limit: int
    offset: int


class RejectRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class WithdrawRequest(BaseModel):
    note: str | None = Field(default=None, max_length=500)


class LinkRequest(BaseModel):
    appointment_id: str = Field(min_length=1, max_length=100)


class BookForReferral(AppointmentRequest):
    """A slot to book for the referral's patient (``patient_id`` may be left out)."""

    # Optional, unlike the base's: the referral already names the patient.
    patient_id: str | None = Field(default=None, min_length=1, max_length=100)  # type: ignore[assignment] # see above


class Booked(BaseModel):
    referral: ReferralOut
    appointment: AppointmentOut


@router.post("/referrals", status_code=201, response_model=ReferralOut)
async def receive(body: ReferralRequest, uc: Services, access: IntakeAccess) -> ReferralOut:
    referral = await uc.referrals.receive(body, access.who.subject)
    await access.wrote(Action.CREATE, "Referral", referral.id, body.patient_id)
    return ReferralOut.of(referral)


@router.get("/referrals/{referral_id}", response_model=ReferralOut)
async def get(referral_id: str, uc: Services, access: PatientAccess) -> ReferralOut:
    referral = await uc.referrals.get(referral_id)
    await access.read("Referral", referral_id, referral.request.patient_id)
    return ReferralOut.of(referral)


@router.get("/referrals", response_model=Page)
async def list_for_patient(
    uc: Services,
    access: PatientAccess,
    patient_id: Annotated[str, Query(min_length=1)],
    limit: Annotated[int, limit_query(200)] = 50,
    offset: Offset = 0,
) -> Page:
    await access.read("Referral", "*", patient_id)
    found, total = await uc.referrals.query(patient_id=patient_id, limit=limit, offset=offset)
    return Page(items=[ReferralOut.of(r) for r in found], total=total, limit=limit, offset=offset)


@router.get("/worklists/referrals", response_model=Page)
async def worklist(
    uc: Services,
    access: CoordinatorAccess,
    status: Annotated[list[Status] | None, Query()] = None,
    overdue: bool | None = None,
    priority: Priority | None = None,
    service_code: str | None = None,
    limit: Annotated[int, limit_query(200)] = 50,
    offset: Offset = 0,
) -> Page:
    """Referrals waiting to be scheduled (received or accepted), oldest first; ``overdue=true``
    for those reported overdue."""
    wanted: list[Status] = [
        s for s in (status or [Status.RECEIVED, Status.ACCEPTED]) if s in (Status.RECEIVED, Status.ACCEPTED)
    ]
    found, total = await uc.referrals.query(
        status=wanted or [Status.RECEIVED, Status.ACCEPTED],
        overdue=overdue,
        priority=priority,
        service_code=service_code,
        limit=limit,
        offset=offset,
    )
    for r in found:
        await access.read("Referral", r.id, r.request.patient_id)
    return Page(items=[ReferralOut.of(r) for r in found], total=total, limit=limit, offset=offset)


@router.post("/referrals/{referral_id}/accept", response_model=ReferralOut)
async def accept(referral_id: str, uc: Services, access: CoordinatorAccess) -> ReferralOut:
    await _audit(uc, access, referral_id)
    return ReferralOut.of(await uc.referrals.accept(referral_id, access.who.subject))


@router.post("/referrals/{referral_id}/reject", response_model=ReferralOut)
async def reject(referral_id: str, body: RejectRequest, uc: Services, access: CoordinatorAccess) -> ReferralOut:
    await _audit(uc, access, referral_id)
    return ReferralOut.of(await uc.referrals.reject(referral_id, body.reason, access.who.subject))


@router.post("/referrals/{referral_id}/withdraw", response_model=ReferralOut)
async def withdraw(referral_id: str, body: WithdrawRequest, uc: Services, access: IntakeAccess) -> ReferralOut:
    await _audit(uc, access, referral_id)
    return ReferralOut.of(await uc.referrals.withdraw(referral_id, access.who.subject, body.note))


@router.post("/referrals/{referral_id}/link", response_model=ReferralOut)
async def link(referral_id: str, body: LinkRequest, uc: Services, access: CoordinatorAccess) -> ReferralOut:
    """Link an appointment already booked for the referral's patient."""
    await _audit(uc, access, referral_id)
    return ReferralOut.of(await uc.referrals.link(referral_id, body.appointment_id, access.who.subject))


@router.post("/referrals/{referral_id}/appointments", status_code=201, response_model=Booked)
async def book(referral_id: str, body: BookForReferral, uc: Services, access: CoordinatorAccess) -> Booked:
    """Book a slot for the referral's patient (as ``POST /appointments`` does), and link it."""
    patient_id = await _audit(uc, access, referral_id)
    if body.patient_id not in (None, patient_id):
        raise Invalid("the referral is for another patient", field="patient_id")
    referral, appt = await uc.referrals.book(referral_id, body.slot(), access.who.subject)
    await access.wrote(Action.CREATE, "Appointment", appt.id, appt.patient_id)
    return Booked(referral=ReferralOut.of(referral), appointment=AppointmentOut.of(appt))


async def _audit(uc: Services, access: Access, referral_id: str) -> str:
    referral = await uc.referrals.get(referral_id)
    await access.wrote(Action.UPDATE, "Referral", referral_id, referral.request.patient_id)
    return referral.request.patient_id
