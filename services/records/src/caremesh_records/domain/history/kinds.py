"""The six kinds of health history entry, shaped after their FHIR resources."""

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from caremesh_kit.errors import Invalid
from caremesh_records.domain import codes
from caremesh_records.domain.codes import CPT, CVX, ICD10CM, ROLE_CODE, RXNORM, SNOMED, Coding, Text
from caremesh_records.domain.history.base import HistoryEntry, Kind, NewEntry, Short, StatusUpdate, register


def _all_to_all(statuses: type[StrEnum]) -> dict[str, frozenset[str]]:
    return {s: frozenset(statuses) - {s} for s in statuses}


# -- allergies and intolerances (AllergyIntolerance) --------------------------------------------


class AllergyStatus(StrEnum):
    """Clinical status."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    RESOLVED = "resolved"


class AllergyType(StrEnum):
    ALLERGY = "allergy"  # immune-mediated
    INTOLERANCE = "intolerance"  # not immune-mediated


class Severity(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class Verification(StrEnum):
    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    REFUTED = "refuted"


class AllergyFields(BaseModel):
    substance: Coding = Field(description="RxNorm (drugs) or SNOMED CT (substances, foods)")
    type: AllergyType = AllergyType.ALLERGY
    reaction: Text | None = Field(default=None, description="the reaction seen, in words (e.g. hives)")
    severity: Severity | None = None
    status: AllergyStatus = AllergyStatus.ACTIVE
    verification: Verification = Verification.UNCONFIRMED


class NewAllergy(AllergyFields, NewEntry):
    pass


class AllergyStatusUpdate(StatusUpdate[AllergyStatus]):
    pass


@register
class Allergy(AllergyFields, HistoryEntry):
    KIND = Kind.ALLERGY
    NOUN = "allergy"
    RESOURCE = "AllergyIntolerance"
    CODED = {"substance": (RXNORM, SNOMED)}
    # An allergy can come back (re-sensitization), so every move is allowed.
    TRANSITIONS = _all_to_all(AllergyStatus)
    CURRENT = frozenset({AllergyStatus.ACTIVE})

    @property
    def identity(self) -> str:
        return codes.canonical(self.substance)


# -- medications (MedicationStatement) ----------------------------------------------------------


class MedicationStatus(StrEnum):
    ACTIVE = "active"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    STOPPED = "stopped"


ENDED = frozenset({MedicationStatus.COMPLETED, MedicationStatus.STOPPED})


class MedicationFields(BaseModel):
    medication: Coding = Field(description="RxNorm")
    dose: Short | None = Field(default=None, description="e.g. 500 mg")
    route: Short | None = Field(default=None, description="e.g. oral")
    frequency: Short | None = Field(default=None, description="e.g. twice daily")
    status: MedicationStatus = MedicationStatus.ACTIVE
    start_date: date | None = None
    end_date: date | None = None


class NewMedication(MedicationFields, NewEntry):
    pass


class MedicationStatusUpdate(StatusUpdate[MedicationStatus]):
    end_date: date | None = Field(default=None, description="when it ended, on completing or stopping it")


@register
class Medication(MedicationFields, HistoryEntry):
    KIND = Kind.MEDICATION
    NOUN = "medication"
    RESOURCE = "MedicationStatement"
    CODED = {"medication": (RXNORM,)}
    PAST_DATES = ("start_date",)
    # Completed and stopped are final: taking it again is a new statement.
    TRANSITIONS = {
        MedicationStatus.ACTIVE: frozenset({MedicationStatus.ON_HOLD, *ENDED}),
        MedicationStatus.ON_HOLD: frozenset({MedicationStatus.ACTIVE, *ENDED}),
        MedicationStatus.COMPLETED: frozenset(),
        MedicationStatus.STOPPED: frozenset(),
    }
    CURRENT = frozenset({MedicationStatus.ACTIVE, MedicationStatus.ON_HOLD})

    @property
    def identity(self) -> str:
        return codes.canonical(self.medication)

    def _check(self, today: date) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise Invalid("end_date is before start_date", field="end_date")
        if self.status in ENDED and self.end_date and self.end_date > today:
            raise Invalid(
                f"a {self.status} medication cannot end after today: give the date it ended", field="end_date"
            )

    def _status_details(self, update: StatusUpdate[Any]) -> dict[str, Any]:
        end = getattr(update, "end_date", None)
        if end is None:
            return {}
        if update.status not in ENDED:
            raise Invalid("end_date goes with completing or stopping a medication", field="end_date")
        return {"end_date": end}


# -- conditions and problems (Condition) --------------------------------------------------------


class ConditionStatus(StrEnum):
    """Clinical status: the first three are kinds of active, the last three of inactive."""

    ACTIVE = "active"
    RECURRENCE = "recurrence"  # back after it had resolved
    RELAPSE = "relapse"  # back after a remission
    INACTIVE = "inactive"
    REMISSION = "remission"
    RESOLVED = "resolved"


_QUIET = frozenset({ConditionStatus.INACTIVE, ConditionStatus.REMISSION, ConditionStatus.RESOLVED})


class ConditionFields(BaseModel):
    condition: Coding = Field(description="ICD-10-CM or SNOMED CT")
    status: ConditionStatus = ConditionStatus.ACTIVE
    onset_date: date | None = None


class NewCondition(ConditionFields, NewEntry):
    pass


class ConditionStatusUpdate(StatusUpdate[ConditionStatus]):
    pass


@register
class Condition(ConditionFields, HistoryEntry):
    KIND = Kind.CONDITION
    NOUN = "condition"
    RESOURCE = "Condition"
    CODED = {"condition": (ICD10CM, SNOMED)}
    PAST_DATES = ("onset_date",)
    # An active condition quiets down; a quiet one comes back as a recurrence or a relapse,
    # never as plain "active" (that is how FHIR tells a first episode from a return).
    TRANSITIONS = {
        ConditionStatus.ACTIVE: _QUIET,
        ConditionStatus.RECURRENCE: _QUIET,
        ConditionStatus.RELAPSE: _QUIET,
        ConditionStatus.INACTIVE: frozenset(
            {ConditionStatus.RECURRENCE, ConditionStatus.RELAPSE, ConditionStatus.REMISSION, ConditionStatus.RESOLVED}
        ),
        ConditionStatus.REMISSION: frozenset(
            {ConditionStatus.RELAPSE, ConditionStatus.INACTIVE, ConditionStatus.RESOLVED}
        ),
        ConditionStatus.RESOLVED: frozenset({ConditionStatus.RECURRENCE}),
    }
    CURRENT = frozenset({ConditionStatus.ACTIVE, ConditionStatus.RECURRENCE, ConditionStatus.RELAPSE})

    @property
    def identity(self) -> str:
        return codes.canonical(self.condition)


# -- procedures and previous treatments (Procedure) ---------------------------------------------


class ProcedureStatus(StrEnum):
    PREPARATION = "preparation"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    STOPPED = "stopped"
    NOT_DONE = "not-done"


_NOT_PERFORMED = frozenset({ProcedureStatus.PREPARATION, ProcedureStatus.NOT_DONE})


class ProcedureFields(BaseModel):
    procedure: Coding = Field(description="CPT or SNOMED CT")
    status: ProcedureStatus = ProcedureStatus.COMPLETED
    performed_date: date | None = None


class NewProcedure(ProcedureFields, NewEntry):
    pass


class ProcedureStatusUpdate(StatusUpdate[ProcedureStatus]):
    pass


@register
class Procedure(ProcedureFields, HistoryEntry):
    KIND = Kind.PROCEDURE
    NOUN = "procedure"
    RESOURCE = "Procedure"
    CODED = {"procedure": (CPT, SNOMED)}
    PAST_DATES = ("performed_date",)
    TRANSITIONS = {
        ProcedureStatus.PREPARATION: frozenset(
            {
                ProcedureStatus.IN_PROGRESS,
                ProcedureStatus.ON_HOLD,
                ProcedureStatus.COMPLETED,
                ProcedureStatus.STOPPED,
                ProcedureStatus.NOT_DONE,
            }
        ),
        ProcedureStatus.IN_PROGRESS: frozenset(
            {ProcedureStatus.ON_HOLD, ProcedureStatus.COMPLETED, ProcedureStatus.STOPPED}
        ),
        ProcedureStatus.ON_HOLD: frozenset(
            {ProcedureStatus.IN_PROGRESS, ProcedureStatus.COMPLETED, ProcedureStatus.STOPPED}
        ),
        ProcedureStatus.COMPLETED: frozenset(),
        ProcedureStatus.STOPPED: frozenset(),
        ProcedureStatus.NOT_DONE: frozenset(),
    }
    # Only an ongoing procedure blocks the same code: the same procedure done twice is two entries.
    CURRENT = frozenset({ProcedureStatus.PREPARATION, ProcedureStatus.IN_PROGRESS, ProcedureStatus.ON_HOLD})

    @property
    def identity(self) -> str:
        return codes.canonical(self.procedure)

    def _check(self, today: date) -> None:
        if self.status in _NOT_PERFORMED and self.performed_date:
            raise Invalid(f"a procedure in status {self.status} has no performed_date", field="performed_date")


# -- family history (FamilyMemberHistory) -------------------------------------------------------


class FamilyHistoryStatus(StrEnum):
    """The record's status, as FHIR has it for family history (a relative's condition has none)."""

    COMPLETED = "completed"
    PARTIAL = "partial"  # more is known than recorded
    ENTERED_IN_ERROR = "entered-in-error"


class FamilyHistoryFields(BaseModel):
    condition: Coding = Field(description="ICD-10-CM or SNOMED CT")
    relationship: Coding = Field(description="HL7 v3 RoleCode of a family member, e.g. MTH, FTH, SIB")
    onset_age: int | None = Field(default=None, ge=0, le=150, description="the relative's age at onset, in years")
    status: FamilyHistoryStatus = FamilyHistoryStatus.COMPLETED


class NewFamilyHistory(FamilyHistoryFields, NewEntry):
    pass


class FamilyHistoryStatusUpdate(StatusUpdate[FamilyHistoryStatus]):
    pass


@register
class FamilyHistory(FamilyHistoryFields, HistoryEntry):
    KIND = Kind.FAMILY_HISTORY
    NOUN = "family history entry"
    RESOURCE = "FamilyMemberHistory"
    CODED = {"condition": (ICD10CM, SNOMED), "relationship": (ROLE_CODE,)}
    TRANSITIONS = {
        FamilyHistoryStatus.COMPLETED: frozenset({FamilyHistoryStatus.PARTIAL, FamilyHistoryStatus.ENTERED_IN_ERROR}),
        FamilyHistoryStatus.PARTIAL: frozenset({FamilyHistoryStatus.COMPLETED, FamilyHistoryStatus.ENTERED_IN_ERROR}),
        FamilyHistoryStatus.ENTERED_IN_ERROR: frozenset(),
    }
    CURRENT = frozenset({FamilyHistoryStatus.COMPLETED, FamilyHistoryStatus.PARTIAL})

    @property
    def identity(self) -> str:
        return f"{self.relationship.code}/{codes.canonical(self.condition)}"


# -- immunizations (Immunization) ---------------------------------------------------------------


class ImmunizationStatus(StrEnum):
    COMPLETED = "completed"
    NOT_DONE = "not-done"


class ImmunizationFields(BaseModel):
    vaccine: Coding = Field(description="CVX")
    date_given: date = Field(description="when it was given (or, if not done, when it was due)")
    status: ImmunizationStatus = ImmunizationStatus.COMPLETED
    lot_number: Short | None = None


class NewImmunization(ImmunizationFields, NewEntry):
    pass


class ImmunizationStatusUpdate(StatusUpdate[ImmunizationStatus]):
    pass


@register
class Immunization(ImmunizationFields, HistoryEntry):
    KIND = Kind.IMMUNIZATION
    NOUN = "immunization"
    RESOURCE = "Immunization"
    CODED = {"vaccine": (CVX,)}
    PAST_DATES = ("date_given",)
    TRANSITIONS = _all_to_all(ImmunizationStatus)
    CURRENT = frozenset({ImmunizationStatus.COMPLETED})

    @property
    def identity(self) -> str:
        # Doses repeat (boosters, yearly flu shots): the same vaccine on the same day is the duplicate.
        return f"{codes.canonical(self.vaccine)}@{self.date_given.isoformat()}"

    def _check(self, today: date) -> None:
        if self.status == ImmunizationStatus.NOT_DONE and self.lot_number:
            raise Invalid("a vaccine that was not given has no lot_number", field="lot_number")
