"""FHIR clinical resources as records' health history (encounters: ``encounters``). Pure: no I/O.

Statuses are FHIR's own value sets, as in the history kinds, so most pass through; those that say
the resource is not a fact about the patient (entered in error, refuted, not taken) are skipped.
Codes go through the history kinds' own checks (``codes.py``), so a code records would refuse
from a form is refused here too, with the same reason.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.reference import Reference
from pydantic import ValidationError

from caremesh_kit.errors import Invalid
from caremesh_records.domain import codes
from caremesh_records.domain.codes import ICD10CM, ROLE_CODE, SNOMED, Coding
from caremesh_records.domain.history import (
    KINDS,
    Imported,
    Kind,
    NewAllergy,
    NewCondition,
    NewEntry,
    NewFamilyHistory,
    NewImmunization,
    NewMedication,
    NewProcedure,
)
from caremesh_records.usecases.fhir_import.bundle import Entry, ParsedBundle, ResourceInvalid, validation_reason
from caremesh_records.usecases.fhir_import.plan import Item, Reject, Skip


@dataclass(frozen=True)
class HistoryData:
    kind: Kind
    new: NewEntry


# -- shared pieces --------------------------------------------------------------------------------


def coded(path: str, concept: CodeableConcept | None, systems: tuple[str, ...]) -> Coding:
    """The first coding in an accepted system whose code passes its format check; else Reject
    with the check's reason for the first coding that was tried."""
    codings = (concept.coding if concept else None) or []
    if not codings:
        raise Reject(f"{path} has no coding")
    tried = [(i, c) for i, c in enumerate(codings) if c.system in systems] or [(0, codings[0])]
    reasons = []
    for i, c in tried:
        if not (c.system and c.code):
            reasons.append(f"{path}.coding.{i} needs a system and a code")
            continue
        display = (c.display or (concept.text if concept else None) or "").strip()
        try:
            coding = Coding(system=c.system, code=c.code, display=display[:500] or "-")
            codes.check(f"{path}.coding.{i}", coding, systems)
        except ValidationError as exc:  # e.g. a code longer than any system's
            reasons.append("; ".join(f"{path}.coding.{i}.{e['loc'][0]}: {e['msg']}" for e in exc.errors()))
            continue
        except Invalid as exc:
            reasons.append(exc.detail)
            continue
        if not display:
            raise Reject(f"{path}.coding.{i} has no display text: records keeps one with every code")
        return coding
    raise Reject(reasons[0])


def status_code(concept: CodeableConcept | None) -> str | None:
    return next((c.code for c in (concept.coding if concept else None) or [] if c.code), None)


def day(value: Any) -> date | None:
    """A FHIR date or dateTime as a calendar date, as written; None for a partial date."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def patient_of(entry: Entry, bundle: ParsedBundle, ref: Reference | None, element: str) -> int:
    target = bundle.resolve(ref.reference if ref else None)
    if target is None or target.resource_type != "Patient":
        raise Reject(f"{entry.resource_type}.{element} must reference a Patient in the bundle")
    return target.index


def history_item(
    entry: Entry,
    bundle: ParsedBundle,
    patient: int,
    kind: Kind,
    fields: dict[str, Any],
    part: str = "",
    warnings: tuple[str, ...] = (),
) -> Item:
    body = {k: v for k, v in fields.items() if v is not None}
    reference = f"{bundle.source}:{entry.resource_type}/{entry.source_id}{part}"[:500]
    try:
        new = NEW[kind](source=Imported(type="imported", reference=reference), **body)
    except ValidationError as exc:
        raise Reject(f"{entry.resource_type}: {validation_reason(exc)}") from None
    return Item(
        entry=entry.index,
        resource_type=entry.resource_type,
        source_id=entry.source_id + part,
        key=f"{entry.resource_type}/{entry.source_id}{part}",
        patient=patient,
        data=HistoryData(kind, new),
        warnings=warnings,
    )


NEW: dict[Kind, type[NewEntry]] = {
    Kind.ALLERGY: NewAllergy,
    Kind.MEDICATION: NewMedication,
    Kind.CONDITION: NewCondition,
    Kind.PROCEDURE: NewProcedure,
    Kind.FAMILY_HISTORY: NewFamilyHistory,
    Kind.IMMUNIZATION: NewImmunization,
}


def _systems(kind: Kind, field: str) -> tuple[str, ...]:
    return tuple(KINDS[kind].CODED[field])


# -- the history ----------------------------------------------------------------------------------


def allergy(entry: Entry, bundle: ParsedBundle) -> list[Item]:
    a = entry.resource
    verification = status_code(a.verificationStatus)
    if verification == "entered-in-error":
        raise Skip("verificationStatus is entered-in-error")
    status = status_code(a.clinicalStatus)
    if status is None:
        raise Reject("AllergyIntolerance.clinicalStatus is missing")
    reactions = a.reaction or []
    seen = [
        m.text or next((c.display for c in m.coding or [] if c.display), None)
        for r in reactions
        for m in r.manifestation or []
    ]
    reaction = ", ".join(dict.fromkeys(t for t in seen if t))[:500] or None
    return [
        history_item(
            entry,
            bundle,
            patient_of(entry, bundle, a.patient, "patient"),
            Kind.ALLERGY,
            {
                "substance": coded("AllergyIntolerance.code", a.code, _systems(Kind.ALLERGY, "substance")),
                "type": a.type,
                "reaction": reaction,
                "severity": next((r.severity for r in reactions if r.severity), None),
                "status": status,
                "verification": verification,
            },
        )
    ]


# MedicationRequest and MedicationStatement statuses -> records' medication status; the rest are
# not a medication the patient takes or took (draft, entered-in-error, not-taken, unknown…).
REQUEST_STATUS = {
    "active": "active",
    "on-hold": "on-hold",
    "completed": "completed",
    "stopped": "stopped",
    "cancelled": "stopped",
}
STATEMENT_STATUS = {"active": "active", "on-hold": "on-hold", "completed": "completed", "stopped": "stopped"}


def medication_request(entry: Entry, bundle: ParsedBundle) -> list[Item]:
    m = entry.resource
    return _medication(entry, bundle, REQUEST_STATUS, m.subject, m.authoredOn, None, (m.dosageInstruction or [None])[0])


def medication_statement(entry: Entry, bundle: ParsedBundle) -> list[Item]:
    m = entry.resource
    period = m.effectivePeriod
    start = m.effectiveDateTime or (period.start if period else None)
    return _medication(
        entry, bundle, STATEMENT_STATUS, m.subject, start, period.end if period else None, (m.dosage or [None])[0]
    )


def _medication(
    entry: Entry,
    bundle: ParsedBundle,
    statuses: dict[str, str],
    subject: Reference | None,
    start: Any,
    end: Any,
    dosage: Any,
) -> list[Item]:
    m = entry.resource
    if m.status not in statuses:
        raise Skip(f"a {m.status} {entry.resource_type} is not a medication the patient takes or took")
    concept = m.medicationCodeableConcept
    if concept is None and m.medicationReference is not None:
        target = bundle.resolve(m.medicationReference.reference)
        if target is None or target.resource_type != "Medication":
            raise Reject(f"{entry.resource_type}.medicationReference must point to a Medication in the bundle")
        try:
            concept = target.resource.code
        except ResourceInvalid as exc:
            raise Reject(f"its Medication: {exc}") from None
    path = f"{entry.resource_type}.medication" + ("CodeableConcept" if m.medicationCodeableConcept else "Reference")
    return [
        history_item(
            entry,
            bundle,
            patient_of(entry, bundle, subject, "subject"),
            Kind.MEDICATION,
            {
                "medication": coded(path, concept, _systems(Kind.MEDICATION, "medication")),
                "status": statuses[m.status],
                "start_date": day(start),
                "end_date": day(end),
                **dose(dosage),
            },
        )
    ]


PERIOD_UNITS = {"s": "second", "min": "minute", "h": "hour", "d": "day", "wk": "week", "mo": "month", "a": "year"}


def dose(dosage: Any) -> dict[str, str | None]:
    """Dose, route and frequency as short texts, from a Dosage."""
    if dosage is None:
        return {}
    amount = None
    for dr in dosage.doseAndRate or []:
        if q := dr.doseQuantity:
            amount = " ".join(x for x in (f"{q.value:g}" if q.value is not None else None, q.unit) if x)
            break
    route = (
        dosage.route.text or next((c.display for c in dosage.route.coding or [] if c.display), None)
        if dosage.route
        else None
    )
    frequency = None
    repeat = dosage.timing.repeat if dosage.timing else None
    if repeat and repeat.frequency and repeat.period and repeat.periodUnit:
        unit = PERIOD_UNITS.get(repeat.periodUnit, repeat.periodUnit)
        every = unit if repeat.period == 1 else f"{repeat.period:g} {unit}s"
        frequency = f"{repeat.frequency} times per {every}" if repeat.frequency != 1 else f"once per {every}"
    if dosage.asNeededBoolean:
        frequency = f"{frequency}, as needed" if frequency else "as needed"
    frequency = frequency or dosage.text
    return {"dose": amount and amount[:100], "route": route and route[:100], "frequency": frequency and frequency[:100]}


def condition(entry: Entry, bundle: ParsedBundle) -> list[Item]:
    c = entry.resource
    verification = status_code(c.verificationStatus)
    if verification in ("entered-in-error", "refuted"):
        raise Skip(f"verificationStatus is {verification}")
    status = status_code(c.clinicalStatus)
    if status is None:
        raise Reject("Condition.clinicalStatus is missing")
    onset = day(c.onsetDateTime) or day(c.onsetPeriod.start if c.onsetPeriod else None)
    return [
        history_item(
            entry,
            bundle,
            patient_of(entry, bundle, c.subject, "subject"),
            Kind.CONDITION,
            {
                "condition": coded("Condition.code", c.code, _systems(Kind.CONDITION, "condition")),
                "status": status,
                "onset_date": onset,
            },
        )
    ]


def procedure(entry: Entry, bundle: ParsedBundle) -> list[Item]:
    p = entry.resource
    if p.status in ("entered-in-error", "unknown"):
        raise Skip(f"status is {p.status}")
    performed = day(p.performedDateTime) or day(p.performedPeriod.start if p.performedPeriod else None)
    return [
        history_item(
            entry,
            bundle,
            patient_of(entry, bundle, p.subject, "subject"),
            Kind.PROCEDURE,
            {
                "procedure": coded("Procedure.code", p.code, _systems(Kind.PROCEDURE, "procedure")),
                "status": p.status,
                # Not performed (yet): no date, as the kind's rule says.
                "performed_date": None if p.status in ("preparation", "not-done") else performed,
            },
        )
    ]


def immunization(entry: Entry, bundle: ParsedBundle) -> list[Item]:
    i = entry.resource
    if i.status == "entered-in-error":
        raise Skip("status is entered-in-error")
    given = day(i.occurrenceDateTime)
    if given is None:
        raise Reject("Immunization.occurrenceDateTime must be a date: records keeps the day it was given")
    return [
        history_item(
            entry,
            bundle,
            patient_of(entry, bundle, i.patient, "patient"),
            Kind.IMMUNIZATION,
            {
                "vaccine": coded("Immunization.vaccineCode", i.vaccineCode, _systems(Kind.IMMUNIZATION, "vaccine")),
                "date_given": given,
                "status": i.status,
                "lot_number": i.lotNumber[:100] if i.lotNumber and i.status == "completed" else None,
            },
        )
    ]


def family_history(entry: Entry, bundle: ParsedBundle) -> list[Item]:
    """One entry per condition of the relative (records keeps one condition per entry)."""
    f = entry.resource
    if f.status in ("entered-in-error", "health-unknown"):
        raise Skip(f"status is {f.status}")
    if not f.condition:
        raise Skip("no condition of the relative is recorded")
    patient = patient_of(entry, bundle, f.patient, "patient")
    relationship = coded("FamilyMemberHistory.relationship", f.relationship, (ROLE_CODE,))
    items, problems = [], []
    for n, c in enumerate(f.condition):
        try:
            condition_code = coded(f"FamilyMemberHistory.condition.{n}.code", c.code, (ICD10CM, SNOMED))
        except Reject as exc:
            problems.append(str(exc))
            continue
        age = c.onsetAge
        years = (
            int(age.value) if age and age.value is not None and (age.code or age.unit) in ("a", "yr", "years") else None
        )
        part = f"#condition.{n}" if len(f.condition) > 1 else ""
        items.append(
            (part, {"relationship": relationship, "condition": condition_code, "onset_age": years, "status": f.status})
        )
    if not items:
        raise Reject("; ".join(problems))
    notes = tuple(f"not imported: {p}" for p in problems)
    return [history_item(entry, bundle, patient, Kind.FAMILY_HISTORY, fields, part, notes) for part, fields in items]
