"""Notifications' HTTP API: a patient's message history."""

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
    appointment_id: str | None
    channel: str
    template: str
    status: str
    created_at: datetime
    sent_at: datetime | None
    provider_message_id: str | None

    @classmethod
    def of(cls, m: Message) -> "MessageOut":
        return cls.model_validate(m.model_dump())


@router.get("/messages", response_model=list[MessageOut])
async def list_messages(uc: Uc, access: PatientAccess, patient_id: Annotated[str, Query(min_length=1)],
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[MessageOut]:
    await access.read("Message", "*", patient_id)
    return [MessageOut.of(m) for m in await uc.messages_of(patient_id, limit)]
