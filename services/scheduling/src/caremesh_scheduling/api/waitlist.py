"""The waitlist: entries, offers (accepted or declined by staff, the patient, or a signed link)
and the outstanding-offers worklist."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from caremesh_kit import context
from caremesh_kit.audit import Access, Action, AuditEntry, CoordinatorAccess, PatientAccess, Purpose
from caremesh_kit.errors import Forbidden
from caremesh_kit.http import Resource
from caremesh_kit.links import verify_offer
from caremesh_kit.openapi import Offset, limit_query
from caremesh_scheduling.api.appointments import AppointmentOut
from caremesh_scheduling.api.deps import Services
from caremesh_scheduling.domain.waitlist import Offer, Status, WaitlistEntry, Wish

router = APIRouter(tags=["waitlist"])


class EntryOut(Resource):
    wish: Wish
    status: Status
    added_at: datetime
    offer: Offer | None
    appointment_id: str | None

    @classmethod
    def of(cls, e: WaitlistEntry) -> "EntryOut":
        return cls.model_validate(e.model_dump())


class OfferPage(BaseModel):
    items: list[EntryOut]
    total: int
    limit: int
    offset: int


class Accepted(BaseModel):
    entry: EntryOut
    appointment: AppointmentOut


@router.post("/waitlist", status_code=201, response_model=EntryOut)
async def add(body: Wish, uc: Services, access: PatientAccess) -> EntryOut:
    """Coordinators add anyone; a patient only themself."""
    entry_id = context.new_id()
    await access.wrote(Action.CREATE, "WaitlistEntry", entry_id, body.patient_id)
    return EntryOut.of(await uc.waitlist.add(body, entry_id))


@router.get("/waitlist/{entry_id}", response_model=EntryOut)
async def get(entry_id: str, uc: Services, access: PatientAccess) -> EntryOut:
    entry = await uc.waitlist.get(entry_id)
    await access.read("WaitlistEntry", entry_id, entry.wish.patient_id)
    return EntryOut.of(entry)


@router.get("/waitlist", response_model=list[EntryOut])
async def of_patient(
    uc: Services,
    access: PatientAccess,
    patient_id: Annotated[str, Query(min_length=1)],
    limit: Annotated[int, limit_query(200)] = 50,
) -> list[EntryOut]:
    await access.read("WaitlistEntry", "*", patient_id)
    return [EntryOut.of(e) for e in await uc.waitlist.of_patient(patient_id, limit)]


@router.delete("/waitlist/{entry_id}", response_model=EntryOut)
async def remove(entry_id: str, uc: Services, access: PatientAccess) -> EntryOut:
    entry = await uc.waitlist.get(entry_id)
    await access.wrote(Action.UPDATE, "WaitlistEntry", entry_id, entry.wish.patient_id)
    return EntryOut.of(await uc.waitlist.remove(entry_id))


@router.get("/worklists/waitlist-offers", response_model=OfferPage)
async def outstanding(
    uc: Services,
    access: CoordinatorAccess,
    practitioner_id: str | None = None,
    limit: Annotated[int, limit_query(200)] = 50,
    offset: Offset = 0,
) -> OfferPage:
    """Offers waiting on the patient, the soonest to lapse first."""
    found, total = await uc.waitlist.outstanding(limit, offset, practitioner_id)
    for e in found:
        await access.read("WaitlistEntry", e.id, e.wish.patient_id)
    return OfferPage(items=[EntryOut.of(e) for e in found], total=total, limit=limit, offset=offset)


# Staff or the patient, with a bearer token.
@router.post("/waitlist/offers/{offer_id}/accepted", response_model=Accepted)
async def accept_signed_in(offer_id: str, uc: Services, access: PatientAccess) -> Accepted:
    await _audit(uc, access, offer_id)
    entry, appt = await uc.waitlist.accept(offer_id)
    return Accepted(entry=EntryOut.of(entry), appointment=AppointmentOut.of(appt))


@router.post("/waitlist/offers/{offer_id}/declined", response_model=EntryOut)
async def decline_signed_in(offer_id: str, uc: Services, access: PatientAccess) -> EntryOut:
    await _audit(uc, access, offer_id)
    return EntryOut.of(await uc.waitlist.decline(offer_id))


async def _audit(uc: Services, access: Access, offer_id: str) -> None:
    entry = await uc.waitlist.by_offer(offer_id)
    await access.wrote(Action.UPDATE, "WaitlistEntry", entry.id, entry.wish.patient_id)


# The links in the offer message: the signed token is the caller check (no bearer token).
Token = Annotated[str | None, Query(max_length=200)]
LINK: dict[int | str, dict[str, Any]] = {403: {"description": "the link is invalid or has expired"}}


@router.get("/waitlist/offers/{offer_id}/accept", operation_id="follow_offer_accept_link", responses=LINK)
@router.post("/waitlist/offers/{offer_id}/accept", operation_id="post_offer_accept_link", responses=LINK)
async def accept_link(offer_id: str, request: Request, uc: Services, token: Token = None) -> dict[str, Any]:
    await _check_link(request, uc, offer_id, "accept", token)
    _, appt = await uc.waitlist.accept(offer_id)
    return {"status": "booked", "offer_id": offer_id, "appointment_id": appt.id, "start": appt.start}


@router.get("/waitlist/offers/{offer_id}/decline", operation_id="follow_offer_decline_link", responses=LINK)
@router.post("/waitlist/offers/{offer_id}/decline", operation_id="post_offer_decline_link", responses=LINK)
async def decline_link(offer_id: str, request: Request, uc: Services, token: Token = None) -> dict[str, Any]:
    await _check_link(request, uc, offer_id, "decline", token)
    await uc.waitlist.decline(offer_id)
    return {"status": "declined", "offer_id": offer_id}


async def _check_link(request: Request, uc: Services, offer_id: str, action: str, token: str | None) -> None:
    now = uc.clock()
    if not verify_offer(uc.offer_link_secret, offer_id, action, token, now):
        raise Forbidden("the link is invalid or has expired")
    entry = await uc.waitlist.by_offer(offer_id)
    trail = uc.audit
    await trail.record(
        AuditEntry(
            id=context.new_id(),
            at=now,
            service=trail.service,
            actor="offer-link",
            roles=[],
            action=Action.UPDATE,
            resource_type="WaitlistEntry",
            resource_id=entry.id,
            patient_id=entry.wish.patient_id,
            purpose=Purpose.PATRQT,
            allowed=True,
            route=f"{request.method} /waitlist/offers/{{offer_id}}/{action}",
            correlation_id=context.correlation_id.get(),
        )
    )
