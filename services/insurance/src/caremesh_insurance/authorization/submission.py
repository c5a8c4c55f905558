"""Submission adapters: how a prior-authorization request (or an appeal) reaches the payer,
chosen by the payer's ``authorization_adapter``.

- ``manual``: nothing is generated or sent; the coordinator used the payer's portal, fax or phone
  (and logs it in the correspondence).
- ``x12_278``: an X12 278 request (005010X217) is generated and checked, then POSTed through an
  ``X12Transport`` when the payer has an ``x12_278_endpoint``; without one it is kept for the
  coordinator to upload. The payer's answer is kept as received; its decision is recorded by a
  coordinator.
"""

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

from caremesh_insurance.authorization.model import PriorAuthorization
from caremesh_insurance.authorization.parts import Priority
from caremesh_insurance.coverage import Coverage, Relationship
from caremesh_insurance.eligibility.adapters import X12Identity
from caremesh_insurance.plans import Payer, SubmissionAdapterName
from caremesh_insurance.x12 import PayerUnavailable, X12Transport
from caremesh_insurance.x12.request import Person270
from caremesh_insurance.x12.review import Review278, build_278
from caremesh_insurance.x12.review_check import read_278
from caremesh_kit.errors import DomainError, Invalid

X12_278 = "x12-278"
# UM02 by what is asked and how fast (an appeal of an urgent request is an immediate appeal).
CERTIFICATION = {
    ("initial", Priority.URGENT): "I",
    ("initial", Priority.STANDARD): "I",
    ("appeal", Priority.URGENT): "1",
    ("appeal", Priority.STANDARD): "2",
}
LEVEL_OF_SERVICE = {Priority.URGENT: "U", Priority.STANDARD: "E"}


class PayerUnreachable(DomainError):
    """The payer's endpoint did not take the request: nothing was recorded, try again."""

    status = 502
    title = "Bad gateway"


@dataclass(frozen=True)
class ReviewRequest:
    authorization: PriorAuthorization
    coverage: Coverage
    payer: Payer
    kind: Literal["initial", "appeal"]
    priority: Priority
    units: int
    now: datetime
    diagnosis_codes: list[str] = field(default_factory=list)
    service_from: date | None = None
    service_to: date | None = None


@dataclass(frozen=True)
class Sent:
    format: str | None = None
    control_number: str | None = None
    document: str | None = None
    sent: bool = False
    response: str | None = None


class SubmissionAdapter(Protocol):
    name: str

    async def submit(self, request: ReviewRequest) -> Sent: ...


class ManualSubmission:
    name = SubmissionAdapterName.MANUAL.value

    async def submit(self, request: ReviewRequest) -> Sent:
        return Sent()


def _person(p) -> Person270:
    return Person270(p.family_name, p.given_name, p.birth_date)


class X12ReviewAdapter:
    name = SubmissionAdapterName.X12_278.value

    def __init__(self, transport: X12Transport, identity: X12Identity, clock: Callable[[], datetime]) -> None:
        self.transport, self.identity, self.clock = transport, identity, clock

    def document(self, r: ReviewRequest, control_number: int) -> Review278:
        t, p = r.coverage.terms, r.payer.terms
        if p.payer_identifier is None:
            raise Invalid("the payer has no payer_identifier, which a 278 needs", field="payer")
        if t.subscriber is None:
            raise Invalid("the coverage lacks the subscriber's name, which a 278 needs", field="coverage")
        dependent = None
        if t.relationship is not Relationship.SELF:
            if t.dependent is None:
                raise Invalid(
                    "the coverage lacks the patient's name as a dependent, which a 278 needs", field="coverage"
                )
            dependent = _person(t.dependent)
        return Review278(
            umo_name=p.name,
            umo_id=p.payer_identifier,
            requester_name=self.identity.provider_name,
            requester_npi=self.identity.provider_npi,
            member_id=t.member_id,
            subscriber=_person(t.subscriber),
            dependent=dependent,
            procedure_code=r.authorization.service_code,
            units=r.units,
            certification=CERTIFICATION[(r.kind, r.priority)],
            level_of_service=LEVEL_OF_SERVICE[r.priority],
            trace=uuid.uuid4().hex,
            trace_originator=self.identity.trace_originator,
            sender_id=self.identity.sender_id,
            receiver_id=p.x12_receiver_id or p.payer_identifier,
            control_number=control_number,
            created=r.now,
            service_from=r.service_from,
            service_to=r.service_to,
            diagnosis_codes=r.diagnosis_codes,
            usage=self.identity.usage,
        )

    async def submit(self, request: ReviewRequest) -> Sent:
        control = secrets.randbelow(999_999_999) + 1
        try:
            text = build_278(self.document(request, control))
        except ValueError as exc:  # data X12 cannot carry (e.g. a name without letters)
            raise Invalid(f"a 278 cannot be made: {exc}", field="coverage") from None
        read_278(text)  # our own output must pass the strict check before it leaves
        endpoint = request.payer.terms.x12_278_endpoint
        response = None
        if endpoint is not None:
            try:
                response = await self.transport.exchange(str(endpoint), text)
            except PayerUnavailable as exc:
                raise PayerUnreachable(f"the payer did not take the 278: {exc}") from None
        return Sent(
            format=X12_278,
            control_number=f"{control:09d}",
            document=text,
            sent=endpoint is not None,
            response=response[:20_000] if response else None,
        )
