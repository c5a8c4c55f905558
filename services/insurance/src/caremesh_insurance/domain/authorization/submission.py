"""What a submission adapter is asked and what it answers, and the X12 278 a prior-authorization
request (or an appeal) becomes. Pure: the adapters that send it are in ``adapters.submission``."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from caremesh_insurance.domain.authorization.model import PriorAuthorization
from caremesh_insurance.domain.authorization.parts import Priority
from caremesh_insurance.domain.coverage import Coverage, Person, Relationship
from caremesh_insurance.domain.plans import Payer
from caremesh_insurance.domain.x12 import Person270, X12Identity
from caremesh_insurance.domain.x12.review import Review278
from caremesh_kit.errors import Invalid

X12_278 = "x12-278"
# UM02 by what is asked and how fast (an appeal of an urgent request is an immediate appeal).
CERTIFICATION = {
    ("initial", Priority.URGENT): "I",
    ("initial", Priority.STANDARD): "I",
    ("appeal", Priority.URGENT): "1",
    ("appeal", Priority.STANDARD): "2",
}
LEVEL_OF_SERVICE = {Priority.URGENT: "U", Priority.STANDARD: "E"}
Kind = Literal["initial", "appeal"]


@dataclass(frozen=True)
class ReviewRequest:
    authorization: PriorAuthorization
    coverage: Coverage
    payer: Payer | None
    kind: Kind
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


def _person(p: Person) -> Person270:
    return Person270(p.family_name, p.given_name, p.birth_date)


def review_278(r: ReviewRequest, identity: X12Identity, control_number: int, trace: str) -> Review278:
    """The 278 for the request; Invalid when the payer or the coverage lacks what a 278 needs."""
    t = r.coverage.terms
    p = r.payer.terms if r.payer else None
    if p is None or p.payer_identifier is None:
        raise Invalid("the payer has no payer_identifier, which a 278 needs", field="payer")
    umo_id = p.payer_identifier
    if t.subscriber is None:
        raise Invalid("the coverage lacks the subscriber's name, which a 278 needs", field="coverage")
    dependent = None
    if t.relationship is not Relationship.SELF:
        if t.dependent is None:
            raise Invalid("the coverage lacks the patient's name as a dependent, which a 278 needs", field="coverage")
        dependent = _person(t.dependent)
    return Review278(
        umo_name=p.name,
        umo_id=umo_id,
        requester_name=identity.provider_name,
        requester_npi=identity.provider_npi,
        member_id=t.member_id,
        subscriber=_person(t.subscriber),
        dependent=dependent,
        procedure_code=r.authorization.service_code,
        units=r.units,
        certification=CERTIFICATION[(r.kind, r.priority)],
        level_of_service=LEVEL_OF_SERVICE[r.priority],
        trace=trace,
        trace_originator=identity.trace_originator,
        sender_id=identity.sender_id,
        receiver_id=p.x12_receiver_id or umo_id,
        control_number=control_number,
        created=r.now,
        service_from=r.service_from,
        service_to=r.service_to,
        diagnosis_codes=r.diagnosis_codes,
        usage=identity.usage,
    )
