"""What every health history entry has: provenance, a status with a lifecycle, and a duplicate key."""

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, Field, StringConstraints

from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict, Invalid
from caremesh_kit.lifecycle import guard
from caremesh_records.domain import codes
from caremesh_records.domain.codes import Text
from caremesh_records.domain.patient import Patient

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Kind(StrEnum):
    ALLERGY = "allergy"
    MEDICATION = "medication"
    CONDITION = "condition"
    PROCEDURE = "procedure"
    FAMILY_HISTORY = "family-history"
    IMMUNIZATION = "immunization"


# -- provenance ---------------------------------------------------------------------------------


class Entered(BaseModel):
    """Typed in by the care team member who recorded it."""

    type: Literal["entered"] = "entered"


class Imported(BaseModel):
    """Taken from another record; ``reference`` says which (a document, a system, a file)."""

    type: Literal["imported"]
    reference: Text | None = None


class FromEncounter(BaseModel):
    """Recorded during a visit (an appointment id, or another system's encounter id)."""

    type: Literal["encounter"]
    encounter_id: Short


Source = Annotated[Entered | Imported | FromEncounter, Field(discriminator="type")]


class Provenance(BaseModel):
    recorded_by: str  # the ``sub`` of the caller
    recorded_at: datetime
    source: Source


class StatusChange(BaseModel):
    """One status an entry took, who set it and when (the first one is set when it is recorded)."""

    status: str
    by: str
    at: datetime
    reason: str | None = None


S = TypeVar("S", bound=StrEnum)


class StatusUpdate(BaseModel, Generic[S]):
    status: S
    reason: Text | None = None
    version: int | None = Field(
        default=None,
        ge=1,
        description=("the entry's version this change is meant for: a 409 if it changed since. Omitted: the latest"),
    )


class NewEntry(BaseModel):
    """Base of the bodies that record an entry."""

    source: Source = Field(default_factory=Entered)


# -- the entry ----------------------------------------------------------------------------------


class HistoryEntry(Aggregate):
    """One entry of a patient's coded health history. A subclass per kind declares its fields,
    which codes it takes, its lifecycle and what makes two entries the same."""

    KIND: ClassVar[Kind]
    NOUN: ClassVar[str]
    RESOURCE: ClassVar[str]  # the FHIR resource type; also the audit trail's resource type
    CODED: ClassVar[Mapping[str, tuple[str, ...]]]  # coded field -> the systems it accepts
    PAST_DATES: ClassVar[tuple[str, ...]] = ()  # dates that lie between birth and today
    TRANSITIONS: ClassVar[Mapping[str, frozenset[str]]]
    CURRENT: ClassVar[frozenset[str]]  # statuses in which the same code cannot be recorded twice

    kind: Kind
    patient_id: str
    status: str  # each kind narrows it to its own values
    provenance: Provenance
    status_history: list[StatusChange]

    @classmethod
    def record(cls, entry_id: str, patient: Patient, new: NewEntry, by: str, now: datetime) -> Self:
        """A new entry for ``patient``, entered by ``by``; Invalid (naming the field) if a rule is broken."""
        fields = new.model_dump(exclude={"source"})
        entry = cls(
            id=entry_id,
            kind=cls.KIND,
            patient_id=patient.id,
            provenance=Provenance(recorded_by=by, recorded_at=now, source=new.source),
            status_history=[StatusChange(status=fields["status"], by=by, at=now)],
            **fields,
        )
        for field, systems in cls.CODED.items():
            codes.check(field, getattr(entry, field), systems)
        today = patient.today(now)
        for field in cls.PAST_DATES:
            value = getattr(entry, field)
            if value is not None and value > today:
                raise Invalid(f"{field} is in the future", field=field)
            if value is not None and value < patient.demographics.birth_date:
                raise Invalid(f"{field} is before the patient's birth date", field=field)
        entry._check(today)
        return entry

    def change_status(self, update: StatusUpdate[Any], by: str, now: datetime, today: date) -> bool:
        """Move to ``update.status``, keeping who and when. False if already there (a repeat);
        409 for a move the lifecycle does not allow."""
        target = update.status
        if not guard(self.status, target, self.TRANSITIONS, f"a {self.NOUN}"):
            return False
        changes = {"status": target, **self._status_details(update)}
        self.model_copy(update=changes)._check(today)  # the rules first: a refused change leaves no trace
        for name, value in changes.items():
            setattr(self, name, value)
        self.status_history = [*self.status_history, StatusChange(status=target, by=by, at=now, reason=update.reason)]
        return True

    @property
    def identity(self) -> str:
        """What two entries of this kind for one patient must not share while both are current."""
        raise NotImplementedError

    @property
    def claim_key(self) -> str | None:
        """The key this entry holds while current (so no other current entry can); None otherwise."""
        return f"{self.KIND}/{self.identity}" if self.status in self.CURRENT else None

    def duplicate(self) -> Conflict:
        """The 409 for recording again what this entry already records."""
        return Conflict(
            f"this {self.NOUN} is already recorded for the patient and {self.status}: entry {self.id}",
            field=next(iter(self.CODED)),
            existing_id=self.id,
        )

    def _check(self, today: date) -> None:
        """Rules that hold in every state (Invalid naming the field); none by default."""

    def _status_details(self, update: StatusUpdate[Any]) -> dict[str, Any]:
        """Fields a kind's status change also sets (e.g. a medication's end date)."""
        return {}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "HistoryEntry":
        # One collection holds every kind: the document says which class reads it.
        if cls is HistoryEntry:
            return KINDS[Kind(doc["kind"])].from_document(doc)
        return super().from_document(doc)


KINDS: dict[Kind, type[HistoryEntry]] = {}


def register(entry_class: type[HistoryEntry]) -> type[HistoryEntry]:
    """Class decorator: register an entry class for its KIND."""
    KINDS[entry_class.KIND] = entry_class
    return entry_class
