"""A patient's coded health history: allergies, medications, conditions, procedures, family
history and immunizations. Each entry is a versioned aggregate. Pure Python: no I/O."""

from caremesh_records.history.base import (
    KINDS,
    Entered,
    FromEncounter,
    HistoryEntry,
    Imported,
    Kind,
    NewEntry,
    Provenance,
    StatusChange,
    StatusUpdate,
)
from caremesh_records.history.kinds import (
    Allergy,
    AllergyStatus,
    AllergyStatusUpdate,
    Condition,
    ConditionStatus,
    ConditionStatusUpdate,
    FamilyHistory,
    FamilyHistoryStatus,
    FamilyHistoryStatusUpdate,
    Immunization,
    ImmunizationStatus,
    ImmunizationStatusUpdate,
    Medication,
    MedicationStatus,
    MedicationStatusUpdate,
    NewAllergy,
    NewCondition,
    NewFamilyHistory,
    NewImmunization,
    NewMedication,
    NewProcedure,
    Procedure,
    ProcedureStatus,
    ProcedureStatusUpdate,
)

__all__ = [
    "KINDS", "Allergy", "AllergyStatus", "AllergyStatusUpdate", "Condition", "ConditionStatus",
    "ConditionStatusUpdate", "Entered", "FamilyHistory", "FamilyHistoryStatus", "FamilyHistoryStatusUpdate",
    "FromEncounter", "HistoryEntry", "Immunization", "ImmunizationStatus", "ImmunizationStatusUpdate", "Imported",
    "Kind", "Medication", "MedicationStatus", "MedicationStatusUpdate", "NewAllergy", "NewCondition", "NewEntry",
    "NewFamilyHistory", "NewImmunization", "NewMedication", "NewProcedure", "Procedure", "ProcedureStatus",
    "ProcedureStatusUpdate", "Provenance", "StatusChange", "StatusUpdate",
]
