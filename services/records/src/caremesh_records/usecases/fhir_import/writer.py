"""Writing an import plan to records' stores (I/O).

Every id is derived from the source (the patient's from its import identifier, the others from
the patient id and the resource), and every write is insert-once, so importing a bundle again,
or two imports of it at once, adds nothing and reports those resources as skipped.
"""

import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from caremesh_kit.audit import Access, Action
from caremesh_kit.clock import Clock
from caremesh_kit.errors import Conflict, Invalid
from caremesh_kit.store import Repository
from caremesh_records.domain import Deceased, Encounter, Patient, PatientStatus, mrn_with_check_digit
from caremesh_records.domain.history import KINDS
from caremesh_records.store import PatientIndex, PatientLog
from caremesh_records.usecases.care_plans import CarePlans
from caremesh_records.usecases.fhir_import.bundle import validation_reason
from caremesh_records.usecases.fhir_import.clinical import HistoryData
from caremesh_records.usecases.fhir_import.encounters import EncounterData
from caremesh_records.usecases.fhir_import.patient import PatientData, derived_id
from caremesh_records.usecases.fhir_import.plan import Handler, Item, Plan
from caremesh_records.usecases.fhir_import.report import ImportReport, Outcome, ResourceOutcome
from caremesh_records.usecases.history import HealthHistory

ALREADY = "already imported"
Progress = Callable[[int], Awaitable[None]]


@dataclass
class Result:
    outcome: Outcome
    reason: str | None = None
    id: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Targets:
    """What an import writes to: the patients and their index, the health history, the
    encounters and the care plans."""

    patients: Repository[Patient]
    index: PatientIndex
    history: HealthHistory
    encounters: PatientLog[Encounter]
    care_plans: CarePlans
    clock: Clock


@dataclass
class Sink:
    """What the writers reach: the targets, the caller (provenance and audit), and the bundle's
    patients as found or made, by their entry index."""

    records: Targets
    access: Access
    patients: dict[int, Patient] = field(default_factory=dict)
    # History entry ids already there, per patient found (not made) by this import: one query per
    # patient instead of a read per entry, which on FerretDB costs more than the write.
    existing: dict[str, set[str]] = field(default_factory=dict)
    # The outcome of a resource written as part of another (a Goal with its CarePlan), by its entry.
    carried: dict[int, Result] = field(default_factory=dict)
    _audited: set[tuple[str, str]] = field(default_factory=set)

    @property
    def by(self) -> str:
        return self.access.who.subject

    async def entries_of(self, patient_id: str) -> set[str]:
        if patient_id not in self.existing:
            self.existing[patient_id] = await self.records.history.ids_of(patient_id)
        return self.existing[patient_id]

    def patient_of(self, item: Item) -> Patient:
        """The patient an item belongs to, as found or made (``_write`` checked it was)."""
        if item.patient is None:
            raise ValueError(f"{item.resource_type} {item.source_id} names no patient")
        return self.patients[item.patient]

    async def audit(self, resource_type: str, patient_id: str) -> None:
        """One audit entry per patient and type an import writes (as the list routes record ``*``)."""
        if (resource_type, patient_id) not in self._audited:
            self._audited.add((resource_type, patient_id))
            await self.access.wrote(Action.CREATE, resource_type, "*", patient_id)


async def apply(
    plan: Plan, handlers: Mapping[str, Handler], records: Targets, access: Access, progress: Progress | None = None
) -> ImportReport:
    sink = Sink(records, access)
    outcomes = list(plan.decided)
    for n, item in enumerate(plan.items, 1):
        result = await _write(handlers, sink, item)
        outcomes.append(
            ResourceOutcome(
                entry=item.entry,
                resource_type=item.resource_type,
                source_id=item.source_id,
                outcome=result.outcome,
                reason=result.reason,
                id=result.id,
                warnings=[*item.warnings, *result.warnings],
            )
        )
        if progress is not None and n % 25 == 0:
            await progress(len(plan.decided) + n)
    patient_ids = list(dict.fromkeys(p.id for p in sink.patients.values()))
    return ImportReport.of(plan.bundle_type, plan.source, patient_ids, outcomes, plan.unresolved)


async def _write(handlers: Mapping[str, Handler], sink: Sink, item: Item) -> Result:
    if item.patient is not None and item.patient not in sink.patients:
        return Result(Outcome.REJECTED, "its Patient was not imported (see the Patient's outcome)")
    try:
        result: Result = await handlers[item.resource_type].write(sink, item)
        return result
    except Invalid as exc:  # a rule of records (e.g. a date before birth): the detail names the field
        return Result(Outcome.REJECTED, exc.detail)
    except ValidationError as exc:
        return Result(Outcome.REJECTED, validation_reason(exc))
    except Conflict as exc:
        return Result(Outcome.SKIPPED, exc.detail)


# -- the writers the handler table names ----------------------------------------------------------


async def write_patient(sink: Sink, item: Item) -> Result:
    data: PatientData = item.data
    records = sink.records
    found = await records.patients.find(data.patient_id)
    how = ALREADY
    if found is None:
        found = await records.index.with_identifier(data.import_identifier.key)
        if found is not None:
            how = "matched an existing patient by its import identifier"
    if found is not None:
        current = await _current(records, found)
        if current.id != found.id:
            how += f"; that patient was merged into {current.id}"
        sink.patients[item.entry] = current
        return Result(Outcome.SKIPPED, how, current.id)
    now, deceased, warnings = records.clock(), data.deceased, list[str]()
    if deceased is not None and deceased.at is not None and deceased.at > now:
        deceased = Deceased()
        warnings.append("Patient.deceasedDateTime is in the future: only the death is kept")
    patient = Patient.register(data.patient_id, data.demographics, now, await _mrn(records, data.patient_id), deceased)
    candidates = patient.candidates_among(await records.index.possible_duplicates(patient))
    await sink.access.wrote(Action.CREATE, "Patient", patient.id, patient.id)
    if not await records.patients.add_once(patient):  # a concurrent import of the same patient won
        sink.patients[item.entry] = await records.patients.get(patient.id)
        return Result(Outcome.SKIPPED, ALREADY, patient.id)
    sink.patients[item.entry], sink.existing[patient.id] = patient, set()  # new: no entries yet
    return Result(
        Outcome.IMPORTED,
        id=patient.id,
        warnings=(
            *warnings,
            *(
                f"possible duplicate of patient {c.patient_id} ({c.reason}): review, and merge if so"
                for c in candidates
            ),
        ),
    )


async def _current(records: Targets, patient: Patient) -> Patient:
    """The record that stayed, if this one was merged (merges are final, so this ends)."""
    for _ in range(10):
        if patient.status is not PatientStatus.MERGED or not patient.merged_into:
            break
        patient = await records.patients.get(patient.merged_into)
    return patient


async def _mrn(records: Targets, patient_id: str) -> str:
    """A medical record number derived from the patient id, so a retried import reuses the one
    it reserved; drawn at random if another patient holds it."""
    mrn = mrn_with_check_digit(f"{uuid.UUID(patient_id).int % 10**9:09d}")
    if await records.index.reserve_mrn(mrn, patient_id):
        return mrn
    if await records.index.mrn_holder(mrn) == patient_id:
        return mrn
    while not await records.index.reserve_mrn(
        mrn := mrn_with_check_digit(f"{secrets.randbelow(10**9):09d}"), patient_id
    ):
        pass
    return mrn


async def write_history(sink: Sink, item: Item) -> Result:
    data: HistoryData = item.data
    patient = sink.patient_of(item)
    entry_id = derived_id(patient.id, item.key)
    history = sink.records.history
    await sink.audit(KINDS[data.kind].RESOURCE, patient.id)
    if entry_id in await sink.entries_of(patient.id):
        return Result(Outcome.SKIPPED, ALREADY, entry_id)
    try:
        entry = await history.record(data.kind, patient.id, data.new, sink.by, entry_id=entry_id)
    except Conflict as exc:
        existing = exc.extra.get("existing_id")
        if existing in (None, entry_id):  # saved by a concurrent or an interrupted import of the same bundle
            return Result(Outcome.SKIPPED, ALREADY, entry_id)
        return Result(Outcome.SKIPPED, f"duplicate of a current entry: {exc.detail}", str(existing))
    return Result(Outcome.IMPORTED, id=entry.id)


async def write_encounter(sink: Sink, item: Item) -> Result:
    data: EncounterData = item.data
    patient = sink.patient_of(item)
    encounter = Encounter(id=derived_id(patient.id, item.key), patient_id=patient.id, **data.fields)
    await sink.audit("Encounter", patient.id)
    if await sink.records.encounters.add(encounter):
        return Result(Outcome.IMPORTED, id=encounter.id)
    return Result(Outcome.SKIPPED, ALREADY, encounter.id)
