"""A patient's messages, with each one's channel, template version and delivery status; and the care
team's own messages to a patient or their consenting family. Every read and send is audited."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from caremesh_kit import context
from caremesh_kit.audit import Action, CoordinatorAccess, PatientAccess
from caremesh_kit.openapi import Limit, Offset
from caremesh_notifications.api.deps import Services
from caremesh_notifications.domain import Category, Message

router = APIRouter(tags=["messages"])


class MessageOut(BaseModel):
    id: str
    patient_id: str
    recipient_id: str | None
    appointment_id: str | None
    channel: str
    template: str
    template_version: int
    language: str
    category: str
    subject: str | None
    sent_by: str | None
    status: str
    created_at: datetime
    not_before: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    provider_message_id: str | None
    provider_status: str | None
    attempts: int
    failure: str | None
    superseded_by: str | None  # status "superseded": the appointment event that made it obsolete
    replaces: str | None

    @classmethod
    def of(cls, m: Message) -> "MessageOut":
        return cls.model_validate(m.model_dump(include=set(cls.model_fields)))


class MessagePage(BaseModel):
    items: list[MessageOut]
    limit: int
    offset: int
    next_offset: int | None  # None on the last page


class OwnMessageIn(BaseModel):
    """A coordinator's message. ``category`` decides whose consent and opt-outs apply."""

    category: Literal[Category.APPOINTMENTS, Category.CARE_PLAN, Category.INSURANCE]
    subject: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=4000)  # by email only: it may say anything
    # For SMS and the app (lock screens): nothing clinical. Without it they only say a message is waiting.
    short_text: str | None = Field(default=None, max_length=160)
    to_patient: bool = True
    to_family: bool = False  # the family members and caregivers whose consent covers the category
    related_person_ids: list[str] | None = Field(default=None, min_length=1)  # only these (implies to_family)


class OwnMessageOut(BaseModel):
    id: str
    messages: list[MessageOut]
    left_out: dict[str, int]  # recipients who got nothing, by reason: no_consent, opted_out, no_channel


@router.get("/messages", response_model=list[MessageOut])
async def list_messages(
    uc: Services,
    access: PatientAccess,
    patient_id: Annotated[str, Query(min_length=1)],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[MessageOut]:
    await access.read("Message", "*", patient_id)
    return [MessageOut.of(m) for m in await uc.history.of_patient(patient_id, limit, offset)]


@router.get("/messages/{message_id}", response_model=MessageOut)
async def get_message(message_id: str, uc: Services, access: PatientAccess) -> MessageOut:
    message = await uc.history.get(message_id)
    await access.read("Message", message_id, message.patient_id)
    return MessageOut.of(message)


@router.get("/patients/{patient_id}/messages", response_model=MessagePage)
async def message_history(
    patient_id: str, uc: Services, access: PatientAccess, limit: Limit = 50, offset: Offset = 0
) -> MessagePage:
    """Everything sent (or held, or cancelled) for this patient and to their family, newest first."""
    await access.read("Message", "*", patient_id)
    found = await uc.history.of_patient(patient_id, limit + 1, offset)
    return MessagePage(
        items=[MessageOut.of(m) for m in found[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(found) > limit else None,
    )


@router.post("/patients/{patient_id}/messages", response_model=OwnMessageOut, status_code=201)
async def send_message(patient_id: str, body: OwnMessageIn, uc: Services, access: CoordinatorAccess) -> OwnMessageOut:
    """Send the coordinator's own message to the patient and/or their consenting family, now or when
    each recipient's quiet hours end."""
    source = f"care-team:{context.new_id()}"  # with recipient and channel, each message's key
    await access.wrote(Action.CREATE, "Communication", source, patient_id)
    sent = await uc.care_team.send(
        patient_id,
        source,
        category=Category(body.category),
        subject=body.subject,
        text=body.text,
        short_text=body.short_text,
        to_patient=body.to_patient,
        to_family=body.to_family,
        family_ids=body.related_person_ids,
        by=access.who.subject,
    )
    return OwnMessageOut(
        id=sent.id,
        messages=[MessageOut.of(m) for _, m in sent.results],
        left_out={k.value: n for k, n in sent.left_out.items()},
    )
