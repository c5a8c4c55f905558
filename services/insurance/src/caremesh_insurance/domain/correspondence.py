"""The payer correspondence log: calls, faxes, portal messages and documents exchanged with payers,
each with its time, who, a summary and a reference, linked to a coverage, an authorization or an
appointment (at least one). Append-only: entries are never changed or removed. The models only;
recording and reading them is ``usecases.correspondence``.

The patient an entry is about comes from what it links to, which must all be the same patient's.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field, model_validator


class Kind(StrEnum):
    CALL = "call"
    FAX = "fax"
    PORTAL_MESSAGE = "portal_message"
    DOCUMENT = "document"


class Direction(StrEnum):
    INBOUND = "inbound"  # from the payer
    OUTBOUND = "outbound"  # to the payer


class NewEntry(BaseModel):
    kind: Kind
    direction: Direction | None = None
    occurred_at: AwareDatetime = Field(description="when the call, fax, message or document took place")
    contact: str = Field(
        min_length=1, max_length=200, description="who: the person or department at the payer, or the sender"
    )
    summary: str = Field(min_length=1, max_length=4000)
    reference: str = Field(
        min_length=1,
        max_length=200,
        description="the call reference, fax number or id, portal message id or document id",
    )
    coverage_id: str | None = Field(None, min_length=1)
    authorization_id: str | None = Field(None, min_length=1)
    appointment_id: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _linked(self) -> "NewEntry":
        if not (self.coverage_id or self.authorization_id or self.appointment_id):
            raise ValueError("link the entry to a coverage_id, an authorization_id or an appointment_id")
        return self


class Entry(NewEntry):
    id: str
    patient_id: str
    payer: str | None = Field(None, description="the payer's name, from the coverage or authorization")
    recorded_by: str
    recorded_at: datetime
