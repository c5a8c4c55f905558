"""A patient's messages, with each one's channel, template version and delivery status."""

from datetime import datetime
from typing import Annotated

from caremesh_kit.audit import PatientAccess
from caremesh_kit.http import use_cases
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from caremesh_notifications.domain import Message
from caremesh_notifications.usecases import Notifications

router = APIRouter(tags=["messages"])
Uc = Annotated[Notifications, Depends(use_cases)]


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
    replaces: str | None

    @classmethod
    def of(cls, m: Message) -> "MessageOut":
        return cls.model_validate(m.model_dump(include=set(cls.model_fields)))


@router.get("/messages", response_model=list[MessageOut])
async def list_messages(uc: Uc, access: PatientAccess, patient_id: Annotated[str, Query(min_length=1)],
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[MessageOut]:
    await access.read("Message", "*", patient_id)
    return [MessageOut.of(m) for m in await uc.messages_of(patient_id, limit)]


@router.get("/messages/{message_id}", response_model=MessageOut)
async def get_message(message_id: str, uc: Uc, access: PatientAccess) -> MessageOut:
    message = await uc.messages.repo.get(message_id)
    await access.read("Message", message_id, message.patient_id)
    return MessageOut.of(message)
