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

from caremesh_insurance.adapters.x12_transport import X12Transport
from caremesh_insurance.domain.authorization.submission import X12_278, ReviewRequest, Sent, review_278
from caremesh_insurance.domain.plans import SubmissionAdapterName
from caremesh_insurance.domain.x12 import PayerUnavailable, X12Identity
from caremesh_insurance.domain.x12.review import build_278
from caremesh_insurance.domain.x12.review_check import read_278
from caremesh_kit.errors import DomainError, Invalid


class PayerUnreachable(DomainError):
    """The payer's endpoint did not take the request: nothing was recorded, try again."""

    status = 502
    title = "Bad gateway"


class ManualSubmission:
    name = SubmissionAdapterName.MANUAL.value

    async def submit(self, request: ReviewRequest) -> Sent:
        return Sent()


class X12ReviewAdapter:
    name = SubmissionAdapterName.X12_278.value

    def __init__(self, transport: X12Transport, identity: X12Identity) -> None:
        self.transport, self.identity = transport, identity

    async def submit(self, request: ReviewRequest) -> Sent:
        control = secrets.randbelow(999_999_999) + 1
        document = review_278(request, self.identity, control, uuid.uuid4().hex)
        try:
            text = build_278(document)
        except ValueError as exc:  # data X12 cannot carry (e.g. a name without letters)
            raise Invalid(f"a 278 cannot be made: {exc}", field="coverage") from None
        read_278(text)  # our own output must pass the strict check before it leaves
        endpoint = request.payer.terms.x12_278_endpoint if request.payer else None
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
