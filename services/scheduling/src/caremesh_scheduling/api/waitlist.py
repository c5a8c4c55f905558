"""The waitlist: entries, offers (accepted or declined by staff, the patient, or a signed link)
and the outstanding-offers worklist.

The offer links (``/waitlist/offers/{offer_id}/accept|decline?token=``, in the offer's email and
SMS) carry a signed token (``caremesh_kit.links``) instead of a bearer token. Following one (GET)
shows the offer and what the link does, as JSON or, for a browser, a page whose button POSTs the
same link; only the POST answers the offer. Each answer is audited with the actor ``offer-link``.
A token not signed for the offer and action is a 403, an expired one a 410, and a POST on an offer
answered already a 409 naming what became of it.
"""

from datetime import UTC, datetime
from enum import StrEnum
from html import escape
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from caremesh_kit import context
from caremesh_kit.audit import Access, Action, AuditEntry, CoordinatorAccess, PatientAccess, Purpose
from caremesh_kit.errors import Conflict, DomainError, Forbidden
from caremesh_kit.http import Resource
from caremesh_kit.links import OfferAction, verify_offer
from caremesh_kit.openapi import Offset, limit_query
from caremesh_scheduling.api.appointments import AppointmentOut
from caremesh_scheduling.api.deps import Services
from caremesh_scheduling.domain.waitlist import FreedSlot, Offer, Status, WaitlistEntry, Wish

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


# -- the links in the offer message -------------------------------------------------------------
# The signed token is the caller check (no bearer token). Following a link (GET) only shows the offer
# and what the link does: mail scanners and link previews follow links, and must not book or decline
# for the patient. Only a POST of the same link, with the same token, answers the offer.
Token = Annotated[str | None, Query(max_length=200, description="the signed token from the offer link")]
HTML = "text/html"
# The token is in the URL: not to be cached, sent on as a referrer, or framed (a one-click booking button).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


class LinkExpired(DomainError):
    status = 410
    title = "Link expired"


class Answered(Conflict):
    title = "Offer already answered"


class LinkState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"  # by the patient (any way), or lapsed: the entry waits again
    WITHDRAWN = "withdrawn"  # the entry was taken off the waitlist


class OfferLink(BaseModel):
    """An offer as its link shows it; reading it changes nothing."""

    offer_id: str
    action: OfferAction = Field(description="what POSTing this link does")
    state: LinkState
    practitioner_name: str
    start: datetime
    end: datetime
    time_zone: str = Field(description="the location's")
    expires_at: datetime = Field(description="the offer, and its links, lapse then")
    does: str = Field(description="what POSTing this link does, in words; empty once the offer is answered")


class LinkAnswer(BaseModel):
    offer_id: str
    state: LinkState = Field(description="accepted or declined")
    appointment_id: str | None = Field(None, description="the appointment booked, when accepted")
    start: datetime


def _link_responses(post: bool) -> dict[int | str, dict[str, Any]]:
    header = {"required": True, "schema": {"type": "string"}}
    return {
        200: {
            "description": "the outcome (JSON, or a page for a browser that asks for text/html)"
            if post
            else "the offer and what POSTing the link does (JSON, or a page with a button that POSTs the same "
            "link for a browser that asks for text/html); nothing changes",
            "content": {HTML: {"schema": {"type": "string"}}},
            "headers": {k: {"description": v, **header} for k, v in PAGE_HEADERS.items()},
        },
        403: {"description": "the link is not valid: no token, or one not signed for this offer and action"},
        404: {"description": "no such offer (a newer offer to the same patient replaced it)"},
        409: {
            "description": "the offer was answered already (`current`: accepted, declined or withdrawn; nothing "
            "changes), or its time was taken meanwhile"
        },
        410: {"description": "the link has expired, with the offer (`expired_at`)"},
    }


def _link_routes(action: OfferAction) -> tuple[dict[str, Any], dict[str, Any]]:
    path = f"/waitlist/offers/{{offer_id}}/{action.value}"
    get_ = {"path": path, "operation_id": f"follow_offer_{action.value}_link", "response_model": OfferLink}
    post = {"path": path, "operation_id": f"post_offer_{action.value}_link", "response_model": LinkAnswer}
    get_["responses"] = {k: v for k, v in _link_responses(False).items() if k != 409}  # GET answers nothing
    post["responses"] = _link_responses(True)
    return get_, post


_ACCEPT_GET, _ACCEPT_POST = _link_routes(OfferAction.ACCEPT)
_DECLINE_GET, _DECLINE_POST = _link_routes(OfferAction.DECLINE)


@router.get(**_ACCEPT_GET)
async def follow_accept_link(offer_id: str, request: Request, uc: Services, token: Token = None) -> Response:
    return await _show(request, uc, offer_id, OfferAction.ACCEPT, token)


@router.get(**_DECLINE_GET)
async def follow_decline_link(offer_id: str, request: Request, uc: Services, token: Token = None) -> Response:
    return await _show(request, uc, offer_id, OfferAction.DECLINE, token)


@router.post(**_ACCEPT_POST)
async def accept_link(offer_id: str, request: Request, uc: Services, token: Token = None) -> Response:
    entry = await _open(request, uc, offer_id, OfferAction.ACCEPT, token)
    _, appt = await uc.waitlist.accept(offer_id)
    answer = LinkAnswer(offer_id=offer_id, state=LinkState.ACCEPTED, appointment_id=appt.id, start=appt.start)
    return _answer(request, answer, entry)


@router.post(**_DECLINE_POST)
async def decline_link(offer_id: str, request: Request, uc: Services, token: Token = None) -> Response:
    entry = await _open(request, uc, offer_id, OfferAction.DECLINE, token)
    await uc.waitlist.decline(offer_id)
    assert entry.offer is not None  # _open checked
    answer = LinkAnswer(offer_id=offer_id, state=LinkState.DECLINED, start=entry.offer.slot.start)
    return _answer(request, answer, entry)


async def _entry(
    request: Request, uc: Services, offer_id: str, action: OfferAction, token: str | None
) -> WaitlistEntry:
    """The entry holding the offer, once the token holds: 403 when it was not signed for this offer
    and action, 410 when it was but has expired."""
    now = uc.clock()
    if not verify_offer(uc.offer_link_secret, offer_id, action, token, now):
        # Signed, only too late? (Checked at the epoch, a signature over a future expiry holds.)
        if verify_offer(uc.offer_link_secret, offer_id, action, token, datetime.fromtimestamp(0, UTC)):
            expired = datetime.fromtimestamp(int((token or "").partition(".")[0]), UTC)
            raise LinkExpired(
                f"this link expired at {expired.isoformat()}; an offer not taken by then passed to the next "
                "patient waiting",
                expired_at=expired.isoformat(),
            )
        raise Forbidden("the link is not valid")
    return await uc.waitlist.by_offer(offer_id)


def _state(entry: WaitlistEntry) -> LinkState:
    return {
        Status.OFFERED: LinkState.OPEN,
        Status.BOOKED: LinkState.ACCEPTED,
        Status.WAITING: LinkState.DECLINED,
        Status.REMOVED: LinkState.WITHDRAWN,
    }[entry.status]


_DOES = {
    OfferAction.ACCEPT: "books this appointment for you",
    OfferAction.DECLINE: "lets the next patient waiting have this appointment; you stay on the waiting list",
}


async def _show(request: Request, uc: Services, offer_id: str, action: OfferAction, token: str | None) -> Response:
    entry = await _entry(request, uc, offer_id, action, token)
    await _audit_link(request, uc, entry, Action.READ)
    offer, state = entry.offer, _state(entry)
    assert offer is not None  # by_offer found the entry by it
    link = OfferLink(
        offer_id=offer_id,
        action=action,
        state=state,
        practitioner_name=offer.slot.practitioner_name,
        start=offer.slot.start,
        end=offer.slot.end,
        time_zone=offer.slot.time_zone,
        expires_at=offer.expires_at,
        does=f"POST this link (same token): it {_DOES[action]}" if state is LinkState.OPEN else "",
    )
    if not _wants_html(request.headers.get("accept", "")):
        return JSONResponse(link.model_dump(mode="json"), headers=PAGE_HEADERS)
    button = f"{action.value}?token={quote(token or '', safe='')}"  # relative: the same link, behind any prefix
    return HTMLResponse(_offer_page(link, offer.slot, _DOES[action], button), headers=PAGE_HEADERS)


async def _open(request: Request, uc: Services, offer_id: str, action: OfferAction, token: str | None) -> WaitlistEntry:
    """The entry, while its offer is open; 409 saying what became of it otherwise."""
    entry = await _entry(request, uc, offer_id, action, token)
    state = _state(entry)
    # A replay changes nothing, but its answer tells what became of the offer: a read.
    await _audit_link(request, uc, entry, Action.UPDATE if state is LinkState.OPEN else Action.READ)
    if state is not LinkState.OPEN:
        told = f": appointment {entry.appointment_id}" if entry.appointment_id else ""
        extra = {"appointment_id": entry.appointment_id} if entry.appointment_id else {}
        raise Answered(
            f"this offer was {state.value} already{told}; nothing changed",
            current=state.value,
            requested=action.value,
            **extra,
        )
    return entry


def _answer(request: Request, answer: LinkAnswer, entry: WaitlistEntry) -> Response:
    if not _wants_html(request.headers.get("accept", "")):
        return JSONResponse(answer.model_dump(mode="json"), headers=PAGE_HEADERS)
    assert entry.offer is not None
    return HTMLResponse(_answered_page(answer.state, entry.offer.slot), headers=PAGE_HEADERS)


async def _audit_link(request: Request, uc: Services, entry: WaitlistEntry, action: Action) -> None:
    trail = uc.audit
    await trail.record(
        AuditEntry(
            id=context.new_id(),
            at=uc.clock(),
            service=trail.service,
            actor="offer-link",
            roles=[],
            action=action,
            resource_type="WaitlistEntry",
            resource_id=entry.id,
            patient_id=entry.wish.patient_id,
            purpose=Purpose.PATRQT,
            allowed=True,
            route=f"{request.method} {getattr(request.scope.get('route'), 'path', request.url.path)}",
            correlation_id=context.correlation_id.get(),
        )
    )


# -- the pages a browser gets -------------------------------------------------------------------
def _wants_html(accept: str) -> bool:
    """A browser's Accept names text/html; an API client's names JSON or nothing (``*/*``)."""
    q: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        weight = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            q[media.lower()] = float(weight)
        except ValueError:
            continue
    html = q.get(HTML, 0.0)
    return html > 0 and html >= q.get("application/json", 0.0)


def _when(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%A %d %B %Y at %H:%M %Z")


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title></head>\n'
        f"<body>\n<h1>{escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def _offer_page(link: OfferLink, slot: FreedSlot, does: str, action_url: str) -> str:
    what = (
        f"<p>An appointment with {escape(slot.practitioner_name)} on <strong>{_when(slot.start, slot.time_zone)}"
        f"</strong>, held for you until <strong>{_when(link.expires_at, slot.time_zone)}</strong>.</p>"
    )
    if link.state is not LinkState.OPEN:
        return _page("This offer has been answered", f"{what}\n<p>{_TOLD[link.state]}</p>")
    button = "Yes, book this appointment" if link.action is OfferAction.ACCEPT else "No, let someone else have it"
    form = (
        f'<p>The button below {escape(does)}.</p>\n<form method="post" action="{escape(action_url)}">'
        f'<button type="submit">{button}</button></form>'
    )
    return _page("An earlier appointment is available", f"{what}\n{form}")


_TOLD = {
    LinkState.ACCEPTED: "You took this appointment: it is booked for you.",
    LinkState.DECLINED: "This offer was let go. You are still on the waiting list.",
    LinkState.WITHDRAWN: "You are no longer on the waiting list, so this offer was let go.",
    LinkState.OPEN: "",
}


def _answered_page(state: LinkState, slot: FreedSlot) -> str:
    when = f"{escape(slot.practitioner_name)} on <strong>{_when(slot.start, slot.time_zone)}</strong>"
    if state is LinkState.ACCEPTED:
        return _page("Your appointment is booked", f"<p>You are booked with {when}.</p>")
    return _page(
        "Offer declined",
        f"<p>The appointment with {when} goes to the next patient waiting. You stay on the waiting list.</p>",
    )
