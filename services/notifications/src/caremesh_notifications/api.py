"""Notifications' HTTP API: a patient's message history."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from caremesh_kit.auth import Principal, Role, require
from caremesh_notifications.domain import Message
from caremesh_notifications.usecases import Notifications

router = APIRouter(tags=["messages"])

Anyone = Annotated[Principal, Depends(require(Role.COORDINATOR, Role.CLINICIAN, Role.PATIENT))]


def notifications(request: Request) -> Notifications:
    return request.app.state.notifications


Uc = Annotated[Notifications, Depends(notifications)]


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
async def list_messages(uc: Uc, who: Anyone, patient_id: Annotated[str, Query(min_length=1)],
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[MessageOut]:
    if not who.may_see_patient(patient_id):
        raise HTTPException(403, "patients may only see their own messages")
    return [MessageOut.of(m) for m in await uc.messages_of(patient_id, limit)]
