"""Prior authorizations over HTTP: coordinators record what happens with the payer, the care team
and the patient read. Every change is a compare-and-set write with its events: with ``version``
it applies only to that version (else 409 with ``current_version``); a move the lifecycle does not
allow is a 409 naming ``current`` and ``requested``. Every access is audited (PriorAuthorization).
"""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, model_validator

from caremesh_insurance.api.deps import Services
from caremesh_insurance.domain.authorization import (
    AWAITING_PAYER,
    AppointmentLink,
    Approval,
    Cycle,
    Denial,
    PriorAuthorization,
    Priority,
    Status,
    Transition,
)
from caremesh_insurance.domain.plans import ServiceCode
from caremesh_insurance.domain.x12 import EDI_X12
from caremesh_insurance.usecases import UseCases
from caremesh_kit import codes
from caremesh_kit.audit import Action, CoordinatorAccess, PatientAccess
from caremesh_kit.errors import NotFound
from caremesh_kit.http import Resource
from caremesh_kit.openapi import Limit, Offset

router = APIRouter(tags=["prior authorizations"])
RESOURCE = "PriorAuthorization"


def _icd10(code: str) -> str:
    if why := codes.problem(codes.ICD10CM, code):
        raise ValueError(f"not an ICD-10-CM code: {why}")
    return code


Diagnosis = Annotated[str, AfterValidator(_icd10)]


class SubmissionOut(BaseModel):
    number: int
    kind: str
    adapter: str
    at: datetime
    format: str | None
    control_number: str | None
    has_document: bool = Field(description="GET …/submissions/{number} serves it")
    sent: bool
    has_response: bool


class AuthorizationOut(Resource):
    patient_id: str
    coverage_id: str
    payer: str
    service_code: str
    appointment_id: str | None = Field(description="the appointment that first required it")
    status: Status
    priority: Priority
    units_requested: int
    units_used: int
    units_remaining: int
    units_held: int = Field(description="units held for covered appointments still to come")
    created_at: datetime
    submitted_at: datetime | None = Field(description="when the payer received the request awaiting a decision")
    decision_due: datetime | None
    overdue: bool = Field(description="awaiting the payer past the decision deadline")
    approval: Approval | None
    denial: Denial | None
    diagnosis_codes: list[str]
    appointments: list[AppointmentLink]
    requests: list[Cycle] = Field(description="each request awaiting a decision: the submission, then appeals")
    submissions: list[SubmissionOut]
    thresholds_reported: list[str]
    next_review_at: datetime | None
    history: list[Transition]

    @classmethod
    def of(cls, a: PriorAuthorization, now: datetime) -> "AuthorizationOut":
        overdue = a.status in AWAITING_PAYER and a.decision_due is not None and now > a.decision_due
        subs = [
            SubmissionOut(
                **s.model_dump(exclude={"document", "response"}),
                has_document=s.document is not None,
                has_response=s.response is not None,
            )
            for s in a.submissions
        ]
        return cls(
            id=a.id,
            version=a.version,
            patient_id=a.patient_id,
            coverage_id=a.coverage_id,
            payer=a.payer,
            service_code=a.service_code,
            appointment_id=a.appointment_id,
            status=a.status,
            priority=a.priority,
            units_requested=a.units_requested,
            units_used=a.units_used,
            units_remaining=a.units_remaining,
            units_held=a.units_held,
            created_at=a.created_at,
            submitted_at=a.submitted_at,
            decision_due=a.decision_due,
            overdue=overdue,
            approval=a.approval,
            denial=a.denial,
            diagnosis_codes=a.diagnosis_codes,
            appointments=a.links,
            requests=a.cycles,
            submissions=subs,
            thresholds_reported=a.thresholds_reported,
            next_review_at=a.next_review_at,
            history=a.history,
        )


class Change(BaseModel):
    version: int | None = Field(None, description="apply only to this version (else 409)")
    note: str | None = Field(None, max_length=500, description="for the history; no clinical detail")


class NewAuthorization(BaseModel):
    patient_id: str = Field(min_length=1)
    coverage_id: str = Field(min_length=1)
    service_code: ServiceCode


class SubmitIn(Change):
    priority: Priority = Priority.STANDARD
    units_requested: int = Field(ge=1, le=10_000)
    received_at: AwareDatetime | None = Field(
        None, description="when the payer received it (default now); the decision clock runs from it; not in the future"
    )
    diagnosis_codes: list[Diagnosis] | None = Field(None, max_length=12, description="ICD-10-CM, principal first")
    service_from: date | None = Field(
        None, description="the period of service asked for (default: the waiting appointments' dates)"
    )
    service_to: date | None = None

    @model_validator(mode="after")
    def _period(self) -> "SubmitIn":
        if (self.service_from is None) != (self.service_to is None):
            raise ValueError("give service_from and service_to together")
        if self.service_from and self.service_to and self.service_to < self.service_from:
            raise ValueError("service_to is before service_from")
        return self


class ApproveIn(Change, Approval):
    partial: bool | None = Field(
        None,
        description="the payer approved less than asked (e.g. a shorter period); "
        "fewer units or another service are partial anyway",
    )
    decided_at: AwareDatetime | None = Field(None, description="when the payer decided (default now)")


class DenyIn(Change, Denial):
    decided_at: AwareDatetime | None = Field(None, description="when the payer decided (default now)")


class AppealIn(Change):
    priority: Priority | None = Field(None, description="default: the request's")
    received_at: AwareDatetime | None = Field(None, description="when the payer received the appeal (default now)")


async def _writable(uc: UseCases, access: CoordinatorAccess, auth_id: str) -> PriorAuthorization:
    auth = await uc.authorizations.get(auth_id)
    await access.wrote(Action.UPDATE, RESOURCE, auth_id, auth.patient_id)
    return auth


def _out(uc: UseCases, a: PriorAuthorization) -> AuthorizationOut:
    return AuthorizationOut.of(a, uc.clock())


@router.post("/authorizations", status_code=201, response_model=AuthorizationOut)
async def create(body: NewAuthorization, uc: Services, access: CoordinatorAccess) -> AuthorizationOut:
    """Ask for one outside an appointment (a renewal, a planned course of care): status required."""
    auth = await uc.authorizations.create(body.patient_id, body.coverage_id, body.service_code, access.who.subject)
    await access.wrote(Action.CREATE, RESOURCE, auth.id, body.patient_id)
    return _out(uc, auth)


@router.get("/authorizations", response_model=list[AuthorizationOut])
async def list_authorizations(
    uc: Services,
    access: PatientAccess,
    patient_id: Annotated[str, Query(min_length=1)],
    status: Status | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuthorizationOut]:
    """A patient's prior authorizations, newest first."""
    await access.read(RESOURCE, "*", patient_id)
    return [_out(uc, a) for a in await uc.authorizations.of_patient(patient_id, status, limit, offset)]


@router.get("/authorizations/{auth_id}", response_model=AuthorizationOut)
async def get(auth_id: str, uc: Services, access: PatientAccess) -> AuthorizationOut:
    auth = await uc.authorizations.get(auth_id)
    await access.read(RESOURCE, auth_id, auth.patient_id)
    return _out(uc, auth)


@router.post("/authorizations/{auth_id}/draft", response_model=AuthorizationOut)
async def draft(auth_id: str, body: Change, uc: Services, access: CoordinatorAccess) -> AuthorizationOut:
    await _writable(uc, access, auth_id)
    return _out(uc, await uc.authorizations.draft(auth_id, access.who.subject, body.version, body.note))


@router.post("/authorizations/{auth_id}/submit", response_model=AuthorizationOut)
async def submit(auth_id: str, body: SubmitIn, uc: Services, access: CoordinatorAccess) -> AuthorizationOut:
    """Submitted to the payer through its submission adapter (an X12 278 for ``x12_278``); the
    CMS-0057-F clock runs from ``received_at``: 72 hours when urgent, 7 calendar days when standard."""
    await _writable(uc, access, auth_id)
    period = (body.service_from, body.service_to) if body.service_from and body.service_to else None
    return _out(
        uc,
        await uc.authorizations.submit(
            auth_id,
            priority=body.priority,
            units=body.units_requested,
            by=access.who.subject,
            version=body.version,
            received_at=body.received_at,
            diagnosis_codes=body.diagnosis_codes,
            period=period,
            note=body.note,
        ),
    )


@router.post("/authorizations/{auth_id}/pend", response_model=AuthorizationOut)
async def pend(auth_id: str, body: Change, uc: Services, access: CoordinatorAccess) -> AuthorizationOut:
    """The payer asked for more information; its clock keeps running."""
    await _writable(uc, access, auth_id)
    return _out(uc, await uc.authorizations.pend(auth_id, access.who.subject, body.version, body.note))


@router.post("/authorizations/{auth_id}/approve", response_model=AuthorizationOut)
async def approve(auth_id: str, body: ApproveIn, uc: Services, access: CoordinatorAccess) -> AuthorizationOut:
    """Approved in full or in part; each appointment waiting on it is covered or not (and hears so)."""
    await _writable(uc, access, auth_id)
    approval = Approval.model_validate(body.model_dump(include=set(Approval.model_fields)))
    return _out(
        uc,
        await uc.authorizations.approve(
            auth_id,
            approval,
            access.who.subject,
            version=body.version,
            partial=body.partial,
            decided_at=body.decided_at,
            note=body.note,
        ),
    )


@router.post("/authorizations/{auth_id}/deny", response_model=AuthorizationOut)
async def deny(auth_id: str, body: DenyIn, uc: Services, access: CoordinatorAccess) -> AuthorizationOut:
    """``reason_code`` is the payer's; ``reason`` is plain language, told to the patient."""
    await _writable(uc, access, auth_id)
    denial = Denial(reason_code=body.reason_code, reason=body.reason)
    return _out(
        uc,
        await uc.authorizations.deny(
            auth_id, denial, access.who.subject, version=body.version, decided_at=body.decided_at
        ),
    )


@router.post("/authorizations/{auth_id}/appeal", response_model=AuthorizationOut)
async def appeal(auth_id: str, body: AppealIn, uc: Services, access: CoordinatorAccess) -> AuthorizationOut:
    """A denial or a partial approval appealed: a new request with its own clock."""
    await _writable(uc, access, auth_id)
    return _out(
        uc,
        await uc.authorizations.appeal(
            auth_id,
            access.who.subject,
            version=body.version,
            received_at=body.received_at,
            priority=body.priority,
            note=body.note,
        ),
    )


@router.post("/authorizations/{auth_id}/cancel", response_model=AuthorizationOut)
async def cancel(auth_id: str, body: Change, uc: Services, access: CoordinatorAccess) -> AuthorizationOut:
    """Withdrawn; appointments waiting on it or covered by it are released (and hear so)."""
    await _writable(uc, access, auth_id)
    return _out(uc, await uc.authorizations.cancel(auth_id, access.who.subject, body.version, body.note))


@router.get(
    "/authorizations/{auth_id}/submissions/{number}",
    response_class=Response,
    responses={200: {"content": {EDI_X12: {}}}},
)
async def submission_document(
    auth_id: str,
    number: int,
    uc: Services,
    access: CoordinatorAccess,
    part: Annotated[str, Query(pattern="^(request|response)$")] = "request",
) -> Response:
    """What went to the payer (the X12 278), or with ``part=response`` what came back, as received."""
    auth = await uc.authorizations.get(auth_id)
    await access.read(RESOURCE, auth_id, auth.patient_id)
    found = next((s for s in auth.submissions if s.number == number), None)
    if found is None:
        raise NotFound(f"authorization {auth_id} has no submission {number}", field="number")
    text = found.document if part == "request" else found.response
    if text is None:
        raise NotFound(f"submission {number} has no {part} document (submitted {found.adapter})", field="part")
    return Response(text, media_type=EDI_X12 if part == "request" else "text/plain")
