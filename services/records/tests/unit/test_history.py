"""Unit tests of the health history's pure domain: recording, provenance, status lifecycles, duplicates."""

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from caremesh_kit.errors import Conflict, Invalid
from caremesh_records.domain import Demographics, Patient
from caremesh_records.domain.codes import CPT, CVX, ICD10CM, ROLE_CODE, RXNORM, SNOMED
from caremesh_records.domain.history import (
    KINDS,
    AllergyStatus,
    AllergyStatusUpdate,
    ConditionStatus,
    ConditionStatusUpdate,
    FamilyHistoryStatusUpdate,
    HistoryEntry,
    ImmunizationStatusUpdate,
    Kind,
    Medication,
    MedicationStatus,
    MedicationStatusUpdate,
    NewAllergy,
    NewCondition,
    NewFamilyHistory,
    NewImmunization,
    NewMedication,
    NewProcedure,
    ProcedureStatus,
    ProcedureStatusUpdate,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
TODAY = date(2026, 5, 1)
PATIENT = Patient(
    id="pat-1",
    registered_at=NOW,
    demographics=Demographics(
        given_name="Amara",
        family_name="Nwosu",
        birth_date=date(1984, 2, 29),
        email="amara@example.org",
        time_zone="Europe/London",
    ),
)

METFORMIN = {"system": RXNORM, "code": "6809", "display": "metformin"}
DIABETES = {"system": SNOMED, "code": "44054006", "display": "Diabetes mellitus type 2"}
ASTHMA_ICD = {"system": ICD10CM, "code": "J45.909", "display": "Asthma, unspecified"}
FLU = {"system": CVX, "code": "140", "display": "Influenza, injectable"}
MOTHER = {"system": ROLE_CODE, "code": "MTH", "display": "mother"}

NEW = {
    Kind.ALLERGY: NewAllergy(substance={"system": SNOMED, "code": "227493005", "display": "Cashew nut"}),
    Kind.MEDICATION: NewMedication(medication=METFORMIN, start_date=date(2024, 1, 10)),
    Kind.CONDITION: NewCondition(condition=DIABETES),
    Kind.PROCEDURE: NewProcedure(procedure={"system": CPT, "code": "44950", "display": "Appendectomy"}),
    Kind.FAMILY_HISTORY: NewFamilyHistory(relationship=MOTHER, condition=ASTHMA_ICD, onset_age=12),
    Kind.IMMUNIZATION: NewImmunization(vaccine=FLU, date_given=date(2025, 10, 1)),
}


def record(kind: Kind, new=None, by: str = "dr-a", patient: Patient = PATIENT, now: datetime = NOW):
    return KINDS[kind].record(f"{kind}-1", patient, new or NEW[kind], by, now)


def medication(**over) -> Medication:
    return record(Kind.MEDICATION, NewMedication(**({"medication": METFORMIN, "start_date": date(2024, 1, 10)} | over)))


# -- recording and provenance --------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(Kind))
def test_recording_keeps_who_when_and_the_source(kind):
    entry = record(kind, by="dr-a")
    assert isinstance(entry, KINDS[kind]) and entry.kind is kind
    assert (entry.id, entry.patient_id, entry.version) == (f"{kind}-1", "pat-1", 0)
    assert entry.provenance.recorded_by == "dr-a" and entry.provenance.recorded_at == NOW
    assert entry.provenance.source.type == "entered"
    [first] = entry.status_history
    assert (first.status, first.by, first.at, first.reason) == (entry.status, "dr-a", NOW, None)
    assert entry.take_events() == []  # nothing leaves records: no consumer needs it


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_reads_back_from_its_document(kind):
    entry = record(kind)
    entry.version = 3
    back = HistoryEntry.from_document(entry.to_document() | {"version": 3})
    assert type(back) is KINDS[kind]
    assert back == entry


def test_sources_imported_and_encounter():
    imported = NewCondition(condition=DIABETES, source={"type": "imported", "reference": "CCD 2024-03-01"})
    assert record(Kind.CONDITION, imported).provenance.source.reference == "CCD 2024-03-01"
    assert NewCondition(condition=DIABETES, source={"type": "imported"}).source.reference is None
    visit = NewCondition(condition=DIABETES, source={"type": "encounter", "encounter_id": "appt-7"})
    assert record(Kind.CONDITION, visit).provenance.source.encounter_id == "appt-7"
    with pytest.raises(ValidationError):
        NewCondition(condition=DIABETES, source={"type": "encounter"})
    with pytest.raises(ValidationError):
        NewCondition(condition=DIABETES, source={"type": "rumour"})


def test_defaults_of_each_kind():
    assert record(Kind.ALLERGY).status is AllergyStatus.ACTIVE
    assert record(Kind.ALLERGY).verification == "unconfirmed"
    assert record(Kind.MEDICATION).status is MedicationStatus.ACTIVE
    assert record(Kind.CONDITION).status is ConditionStatus.ACTIVE
    assert record(Kind.PROCEDURE).status is ProcedureStatus.COMPLETED
    assert record(Kind.FAMILY_HISTORY).status == "completed"
    assert record(Kind.IMMUNIZATION).status == "completed"


# -- codes and dates at recording ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "new", "field"),
    [
        (Kind.MEDICATION, NewMedication(medication=DIABETES), "medication.system"),
        (Kind.MEDICATION, NewMedication(medication=METFORMIN | {"code": "06809"}), "medication.code"),
        (Kind.ALLERGY, NewAllergy(substance=ASTHMA_ICD), "substance.system"),
        (Kind.CONDITION, NewCondition(condition=DIABETES | {"code": "44054060"}), "condition.code"),
        (Kind.CONDITION, NewCondition(condition=METFORMIN), "condition.system"),
        (Kind.PROCEDURE, NewProcedure(procedure=DIABETES | {"code": "80146003"}), "procedure.code"),
        (Kind.PROCEDURE, NewProcedure(procedure=ASTHMA_ICD), "procedure.system"),
        (
            Kind.FAMILY_HISTORY,
            NewFamilyHistory(relationship=MOTHER | {"code": "MUM"}, condition=DIABETES),
            "relationship.code",
        ),
        (Kind.FAMILY_HISTORY, NewFamilyHistory(relationship=DIABETES, condition=DIABETES), "relationship.system"),
        (Kind.IMMUNIZATION, NewImmunization(vaccine=METFORMIN, date_given=date(2025, 1, 1)), "vaccine.system"),
    ],
)
def test_codes_are_checked_against_the_systems_of_their_field(kind, new, field):
    with pytest.raises(Invalid) as exc:
        record(kind, new)
    assert exc.value.extra == {"field": field}


@pytest.mark.parametrize(
    ("kind", "new", "field"),
    [
        (Kind.CONDITION, NewCondition(condition=DIABETES, onset_date=date(2026, 5, 2)), "onset_date"),
        (Kind.CONDITION, NewCondition(condition=DIABETES, onset_date=date(1984, 2, 28)), "onset_date"),
        (Kind.MEDICATION, NewMedication(medication=METFORMIN, start_date=date(2026, 6, 1)), "start_date"),
        (
            Kind.PROCEDURE,
            NewProcedure(procedure=NEW[Kind.PROCEDURE].procedure, performed_date=date(1900, 1, 1)),
            "performed_date",
        ),
        (Kind.IMMUNIZATION, NewImmunization(vaccine=FLU, date_given=date(2027, 1, 1)), "date_given"),
    ],
)
def test_clinical_dates_lie_between_birth_and_today(kind, new, field):
    with pytest.raises(Invalid) as exc:
        record(kind, new)
    assert exc.value.extra == {"field": field}


def test_today_is_the_patients_today():
    # 12:00 UTC on 1 May is already 2 May in Kiritimati (UTC+14).
    far_east = PATIENT.model_copy(
        update={"demographics": PATIENT.demographics.model_copy(update={"time_zone": "Pacific/Kiritimati"})}
    )
    new = NewCondition(condition=DIABETES, onset_date=date(2026, 5, 2))
    assert record(Kind.CONDITION, new, patient=far_east).onset_date == date(2026, 5, 2)
    with pytest.raises(Invalid):
        record(Kind.CONDITION, new)
    assert record(Kind.CONDITION, NewCondition(condition=DIABETES, onset_date=PATIENT.demographics.birth_date))


@pytest.mark.parametrize(
    ("new", "field"),
    [
        (NewMedication(medication=METFORMIN, start_date=date(2024, 1, 10), end_date=date(2024, 1, 9)), "end_date"),
        (NewMedication(medication=METFORMIN, status="completed", end_date=date(2026, 5, 2)), "end_date"),
        (
            NewProcedure(procedure=NEW[Kind.PROCEDURE].procedure, status="not-done", performed_date=date(2020, 1, 1)),
            "performed_date",
        ),
        (
            NewProcedure(
                procedure=NEW[Kind.PROCEDURE].procedure, status="preparation", performed_date=date(2020, 1, 1)
            ),
            "performed_date",
        ),
        (NewImmunization(vaccine=FLU, date_given=date(2025, 1, 1), status="not-done", lot_number="AB1"), "lot_number"),
    ],
)
def test_rules_of_each_kind_at_recording(new, field):
    kind = {NewMedication: Kind.MEDICATION, NewProcedure: Kind.PROCEDURE, NewImmunization: Kind.IMMUNIZATION}
    with pytest.raises(Invalid) as exc:
        record(kind[type(new)], new)
    assert exc.value.extra == {"field": field}


def test_an_active_medication_may_have_a_planned_end():
    assert medication(end_date=date(2026, 8, 1)).end_date == date(2026, 8, 1)


def test_family_history_onset_age_is_in_years():
    with pytest.raises(ValidationError):
        NewFamilyHistory(relationship=MOTHER, condition=DIABETES, onset_age=-1)
    with pytest.raises(ValidationError):
        NewFamilyHistory(relationship=MOTHER, condition=DIABETES, onset_age=151)


# -- status changes ------------------------------------------------------------------------------


def test_a_status_change_keeps_who_when_and_why():
    med = medication()
    assert (
        med.change_status(
            MedicationStatusUpdate(status="stopped", reason="GI upset", end_date=date(2026, 4, 30)),
            "dr-b",
            LATER,
            TODAY,
        )
        is True
    )
    assert med.status is MedicationStatus.STOPPED and med.end_date == date(2026, 4, 30)
    change = med.status_history[-1]
    assert (change.status, change.by, change.at, change.reason) == ("stopped", "dr-b", LATER, "GI upset")
    assert med.provenance.recorded_by == "dr-a"  # the first recording is unchanged
    assert len(med.status_history) == 2


def test_the_same_status_again_is_a_repeat_that_changes_nothing():
    med = medication()
    assert med.change_status(MedicationStatusUpdate(status="active"), "dr-b", LATER, TODAY) is False
    assert len(med.status_history) == 1


MEDICATION_MOVES = [
    ("active", "on-hold", True),
    ("active", "completed", True),
    ("active", "stopped", True),
    ("on-hold", "active", True),
    ("on-hold", "stopped", True),
    ("on-hold", "completed", True),
    ("stopped", "active", False),
    ("stopped", "on-hold", False),
    ("stopped", "completed", False),
    ("completed", "active", False),
    ("completed", "stopped", False),
]
CONDITION_MOVES = [
    ("active", "resolved", True),
    ("active", "remission", True),
    ("active", "inactive", True),
    ("active", "relapse", False),
    ("active", "recurrence", False),
    ("resolved", "recurrence", True),
    ("resolved", "active", False),
    ("resolved", "relapse", False),
    ("resolved", "inactive", False),
    ("remission", "relapse", True),
    ("remission", "resolved", True),
    ("remission", "active", False),
    ("remission", "recurrence", False),
    ("inactive", "recurrence", True),
    ("inactive", "relapse", True),
    ("inactive", "active", False),
    ("relapse", "remission", True),
    ("recurrence", "resolved", True),
    ("recurrence", "relapse", False),
]
PROCEDURE_MOVES = [
    ("preparation", "in-progress", True),
    ("preparation", "not-done", True),
    ("preparation", "completed", True),
    ("in-progress", "on-hold", True),
    ("in-progress", "completed", True),
    ("in-progress", "stopped", True),
    ("on-hold", "in-progress", True),
    ("in-progress", "not-done", False),
    ("in-progress", "preparation", False),
    ("completed", "stopped", False),
    ("completed", "in-progress", False),
    ("not-done", "completed", False),
    ("stopped", "in-progress", False),
]
FAMILY_MOVES = [
    ("completed", "partial", True),
    ("partial", "completed", True),
    ("completed", "entered-in-error", True),
    ("entered-in-error", "completed", False),
    ("entered-in-error", "partial", False),
]
ALLERGY_MOVES = [(a, b, True) for a in AllergyStatus for b in AllergyStatus if a != b]
IMMUNIZATION_MOVES = [("completed", "not-done", True), ("not-done", "completed", True)]


def _entry_in(kind: Kind, status: str) -> HistoryEntry:
    entry = record(kind)
    entry.status = status  # a state reached earlier; the move under test is what matters
    return entry


UPDATES = {
    Kind.MEDICATION: MedicationStatusUpdate,
    Kind.CONDITION: ConditionStatusUpdate,
    Kind.PROCEDURE: ProcedureStatusUpdate,
    Kind.FAMILY_HISTORY: FamilyHistoryStatusUpdate,
    Kind.ALLERGY: AllergyStatusUpdate,
    Kind.IMMUNIZATION: ImmunizationStatusUpdate,
}


@pytest.mark.parametrize(
    ("kind", "current", "target", "allowed"),
    [
        *[(Kind.MEDICATION, *m) for m in MEDICATION_MOVES],
        *[(Kind.CONDITION, *m) for m in CONDITION_MOVES],
        *[(Kind.PROCEDURE, *m) for m in PROCEDURE_MOVES],
        *[(Kind.FAMILY_HISTORY, *m) for m in FAMILY_MOVES],
        *[(Kind.ALLERGY, *m) for m in ALLERGY_MOVES],
        *[(Kind.IMMUNIZATION, *m) for m in IMMUNIZATION_MOVES],
    ],
)
def test_status_lifecycles(kind, current, target, allowed):
    entry = _entry_in(kind, current)
    update = UPDATES[kind](status=target)
    if allowed:
        assert entry.change_status(update, "dr-b", LATER, TODAY) is True
        assert entry.status == target and entry.status_history[-1].status == target
    else:
        with pytest.raises(Conflict) as exc:
            entry.change_status(update, "dr-b", LATER, TODAY)
        assert exc.value.status == 409
        assert exc.value.extra == {"current": current, "requested": target}
        assert entry.status == current and len(entry.status_history) == 1


def test_every_status_of_every_kind_has_a_lifecycle_entry():
    for cls in KINDS.values():
        statuses = set(cls.model_fields["status"].annotation)
        assert set(cls.TRANSITIONS) == statuses, cls.__name__
        assert all(targets <= statuses for targets in cls.TRANSITIONS.values())
        assert statuses >= cls.CURRENT


@pytest.mark.parametrize(
    ("update", "says"),
    [
        (MedicationStatusUpdate(status="on-hold", end_date=date(2026, 4, 1)), "goes with completing or stopping"),
        (MedicationStatusUpdate(status="stopped", end_date=date(2024, 1, 9)), "before start_date"),
        (MedicationStatusUpdate(status="completed", end_date=date(2026, 5, 2)), "after today"),
    ],
)
def test_a_refused_medication_change_leaves_it_as_it_was(update, says):
    med = medication()
    before = med.model_dump()
    with pytest.raises(Invalid) as exc:
        med.change_status(update, "dr-b", LATER, TODAY)
    assert exc.value.extra == {"field": "end_date"} and says in exc.value.detail
    assert med.model_dump() == before


def test_stopping_a_medication_planned_to_end_later_needs_the_real_end_date():
    med = medication(end_date=date(2026, 8, 1))
    with pytest.raises(Invalid):
        med.change_status(MedicationStatusUpdate(status="stopped"), "dr-b", LATER, TODAY)
    assert med.change_status(MedicationStatusUpdate(status="stopped", end_date=TODAY), "dr-b", LATER, TODAY)
    assert med.end_date == TODAY


def test_a_vaccine_with_a_lot_number_cannot_become_not_done():
    shot = record(Kind.IMMUNIZATION, NewImmunization(vaccine=FLU, date_given=date(2025, 10, 1), lot_number="AB1"))
    with pytest.raises(Invalid) as exc:
        shot.change_status(ImmunizationStatusUpdate(status="not-done"), "dr-b", LATER, TODAY)
    assert exc.value.extra == {"field": "lot_number"}
    assert shot.status == "completed"


# -- duplicates ----------------------------------------------------------------------------------


def test_a_current_entry_holds_its_code_and_releases_it_when_no_longer_current():
    condition = record(Kind.CONDITION)
    assert condition.claim_key == f"condition/{SNOMED}|44054006"
    condition.change_status(ConditionStatusUpdate(status="resolved"), "dr-b", LATER, TODAY)
    assert condition.claim_key is None
    condition.change_status(ConditionStatusUpdate(status="recurrence"), "dr-b", LATER, TODAY)
    assert condition.claim_key == f"condition/{SNOMED}|44054006"


@pytest.mark.parametrize(
    ("kind", "current", "not_current"),
    [
        (Kind.ALLERGY, ["active"], ["inactive", "resolved"]),
        (Kind.MEDICATION, ["active", "on-hold"], ["completed", "stopped"]),
        (Kind.CONDITION, ["active", "recurrence", "relapse"], ["inactive", "remission", "resolved"]),
        (Kind.PROCEDURE, ["preparation", "in-progress", "on-hold"], ["completed", "stopped", "not-done"]),
        (Kind.FAMILY_HISTORY, ["completed", "partial"], ["entered-in-error"]),
        (Kind.IMMUNIZATION, ["completed"], ["not-done"]),
    ],
)
def test_which_statuses_block_a_duplicate(kind, current, not_current):
    for status in current:
        assert _entry_in(kind, status).claim_key is not None, status
    for status in not_current:
        assert _entry_in(kind, status).claim_key is None, status


def test_what_makes_two_entries_the_same():
    # Kind and code; for a relative also who; for a vaccine also the day it was given.
    assert record(Kind.MEDICATION).claim_key != record(Kind.ALLERGY, NewAllergy(substance=METFORMIN)).claim_key
    father = NewFamilyHistory(relationship=MOTHER | {"code": "FTH"}, condition=ASTHMA_ICD)
    assert record(Kind.FAMILY_HISTORY).claim_key == f"family-history/MTH/{ICD10CM}|J45.909"
    assert record(Kind.FAMILY_HISTORY, father).claim_key == f"family-history/FTH/{ICD10CM}|J45.909"
    booster = NewImmunization(vaccine=FLU, date_given=date(2025, 10, 2))
    assert record(Kind.IMMUNIZATION).claim_key == f"immunization/{CVX}|140@2025-10-01"
    assert record(Kind.IMMUNIZATION, booster).claim_key == f"immunization/{CVX}|140@2025-10-02"
    # The display text is not part of it, and neither are a CVX code's leading zeros.
    assert (
        record(Kind.MEDICATION, NewMedication(medication=METFORMIN | {"display": "Glucophage"})).claim_key
        == record(Kind.MEDICATION).claim_key
    )
    mmr = NewImmunization(vaccine={"system": CVX, "code": "03", "display": "MMR"}, date_given=date(2025, 1, 1))
    mmr_short = NewImmunization(vaccine={"system": CVX, "code": "3", "display": "MMR"}, date_given=date(2025, 1, 1))
    assert record(Kind.IMMUNIZATION, mmr).claim_key == record(Kind.IMMUNIZATION, mmr_short).claim_key


def test_the_duplicate_error_names_the_existing_entry_and_the_field():
    conflict = record(Kind.MEDICATION).duplicate()
    assert conflict.status == 409
    assert conflict.extra == {"field": "medication", "existing_id": "medication-1"}
    assert "medication-1" in conflict.detail and "active" in conflict.detail
    assert record(Kind.FAMILY_HISTORY).duplicate().extra["field"] == "condition"
