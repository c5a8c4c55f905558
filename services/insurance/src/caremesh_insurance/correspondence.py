"""The payer correspondence log: calls, faxes, portal messages and documents exchanged with payers,
each with its time, who, a summary and a reference, linked to a coverage, an authorization or an
appointment (at least one). Append-only: entries are never changed or removed.

The patient an entry is about comes from what it links to, which must all be the same patient's.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from caremesh_insurance import store
from caremesh_kit import context
from caremesh_kit.errors import Invalid, NotFound


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


@dataclass
class CorrespondenceLog:
    log: store.Correspondence
    authorizations: store.Authorizations
    coverages: store.Coverages
    checks: store.Checks
    clock: Callable[[], datetime]

    async def _patient_of(self, e: NewEntry) -> tuple[str, str | None]:
        """The one patient the links name, and the payer; 422 naming the link that does not fit."""
        found: list[tuple[str, str, str | None]] = []  # (field, patient, payer)
        if e.authorization_id:
            auth = await self.authorizations.repo.find(e.authorization_id)
            if auth is None:
                raise Invalid(f"authorization {e.authorization_id} not found", field="authorization_id")
            if e.coverage_id and auth.coverage_id != e.coverage_id:
                raise Invalid("the authorization is for another coverage", field="coverage_id")
            found.append(("authorization_id", auth.patient_id, auth.payer))
        if e.coverage_id:
            coverage = await self.coverages.repo.find(e.coverage_id)
            if coverage is None:
                raise Invalid(f"coverage {e.coverage_id} not found", field="coverage_id")
            found.append(("coverage_id", coverage.terms.patient_id, coverage.payer))
        if e.appointment_id:
            check = await self.checks.repo.find(e.appointment_id)
            if check is None or check.appointment_id is None:
                raise Invalid(f"appointment {e.appointment_id} not known to insurance", field="appointment_id")
            found.append(("appointment_id", check.patient_id, None))
        patient = found[0][1]
        for name, other, _ in found[1:]:
            if other != patient:
                raise Invalid("the linked records belong to different patients", field=name)
        return patient, next((payer for _, _, payer in found if payer), None)

    async def append(self, e: NewEntry, by: str) -> Entry:
        now = self.clock()
        if e.occurred_at > now:
            raise Invalid("occurred_at is in the future", field="occurred_at")
        patient_id, payer = await self._patient_of(e)
        entry = Entry(
            id=context.new_id(), patient_id=patient_id, payer=payer, recorded_by=by, recorded_at=now, **e.model_dump()
        )
        await self.log.append(entry.model_dump(exclude={"id"}) | {"_id": entry.id})
        return entry

    async def get(self, entry_id: str) -> Entry:
        doc = await self.log.get(entry_id)
        if doc is None:
            raise NotFound(f"correspondence {entry_id} not found")
        return Entry.model_validate(doc | {"id": doc["_id"]})

    async def find(self, filters: dict[str, str], limit: int, offset: int) -> list[Entry]:
        return [Entry.model_validate(d | {"id": d["_id"]}) for d in await self.log.find(filters, limit, offset)]
