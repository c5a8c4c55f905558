"""FHIR CarePlan (with the Goals it names) as a records care plan. ``care_plan`` and ``goal`` are
pure; ``write_care_plan`` stores one plan once.

A Goal is imported with the CarePlan that names it (``CarePlan.goal``), since a records goal
belongs to a plan, and is reported as the plan made it (imported, already imported, or not
imported with the plan); a Goal no plan names is skipped and reported. Activities become tasks.
"""

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from caremesh_kit.errors import Conflict, Invalid
from caremesh_records.domain.careplan import ImportedGoal, ImportedTask, NewCarePlan
from caremesh_records.domain.codes import ICD10CM, SNOMED
from caremesh_records.usecases.fhir_import.bundle import Entry, ParsedBundle, ResourceInvalid, validation_reason
from caremesh_records.usecases.fhir_import.clinical import coded, day, patient_of
from caremesh_records.usecases.fhir_import.patient import derived_id
from caremesh_records.usecases.fhir_import.plan import Item, Reject, Skip
from caremesh_records.usecases.fhir_import.report import Outcome
from caremesh_records.usecases.fhir_import.writer import ALREADY, Result, Sink

# FHIR CarePlan activity status -> our task status; others (unknown, entered-in-error) are left out.
TASK_STATUS = {
    "not-started": "requested",
    "scheduled": "requested",
    "in-progress": "in-progress",
    "on-hold": "requested",
    "completed": "completed",
    "cancelled": "cancelled",
    "stopped": "cancelled",
}


@dataclass(frozen=True)
class CarePlanData:
    plan: NewCarePlan
    goals: list[dict[str, Any]]  # ImportedGoal fields but the id (derived when written)
    tasks: list[dict[str, Any]]  # ImportedTask fields but the id
    goal_entries: tuple[int, ...] = ()  # the Goal entry each of ``goals`` came from, in order


def care_plan(entry: Entry, bundle: ParsedBundle) -> list[Item]:
    c = entry.resource
    if c.status == "entered-in-error":
        raise Skip("an entered-in-error care plan is not a fact about the patient")
    patient = patient_of(entry, bundle, c.subject, "subject")
    warnings: list[str] = []
    category = None
    for i, concept in enumerate(c.category or []):
        try:
            category = coded(f"CarePlan.category.{i}", concept, (SNOMED,))
            break
        except Reject as exc:
            warnings.append(f"category not kept: {exc}")
    addresses = []
    for i, ref in enumerate(c.addresses or []):
        target = bundle.resolve(ref.reference)
        if target is None or target.resource_type != "Condition":
            warnings.append(f"CarePlan.addresses.{i} is not a Condition in the bundle: not kept")
            continue
        # Whatever goes wrong with a Condition names it: the report reader looks it up by id.
        condition = f"CarePlan.addresses.{i} ({_named(target, ref.reference)})"
        try:
            code = target.resource.code
        except ResourceInvalid as exc:
            raise Reject(f"{condition} cannot be read: {exc}") from None
        try:
            addresses.append(coded(f"CarePlan.addresses.{i}", code, (ICD10CM, SNOMED)))
        except Reject as exc:
            warnings.append(f"{condition} not kept: {exc}")
    title = c.title or (f"Care plan: {category.display}" if category else "Care plan")
    goals, goal_entries = [], []
    for i, ref in enumerate(c.goal or []):
        target = bundle.resolve(ref.reference)
        if target is None or target.resource_type != "Goal":
            warnings.append(f"CarePlan.goal.{i} is not a Goal in the bundle: not kept")
            continue
        try:
            described = target.resource.description
        except ResourceInvalid as exc:
            raise Reject(f"CarePlan.goal.{i} ({_named(target, ref.reference)}) cannot be read: {exc}") from None
        text = described.text if described else None
        goals.append({"description": (text or "Goal")[:500]})
        goal_entries.append(target.index)
    tasks = []
    for i, activity in enumerate(c.activity or []):
        detail = activity.detail
        status = TASK_STATUS.get(detail.status) if detail else None
        if detail is None or status is None:
            warnings.append(f"CarePlan.activity.{i} has no detail or status records keeps: not kept")
            continue
        try:
            code = coded(f"CarePlan.activity.{i}.detail.code", detail.code, (SNOMED,))
        except Reject as exc:
            warnings.append(f"activity.{i} not kept: {exc}")
            continue
        tasks.append({"description": code.display, "code": code, "status": status})
    try:
        plan = NewCarePlan(
            title=title[:500],
            status=c.status,
            category=category,
            period_start=day(c.period.start) if c.period else None,
            period_end=day(c.period.end) if c.period else None,
            addresses=addresses,
        )
    except ValidationError as exc:
        raise Reject(f"CarePlan: {validation_reason(exc)}") from None
    return [
        Item(
            entry=entry.index,
            resource_type="CarePlan",
            source_id=entry.source_id,
            key=f"CarePlan/{entry.source_id}",
            patient=patient,
            data=CarePlanData(plan, goals, tasks, tuple(goal_entries)),
            warnings=tuple(warnings),
        )
    ]


def goal(entry: Entry, bundle: ParsedBundle) -> list[Item]:
    """Goals come in with the plan that names them: the item only reports what the plan did."""
    plans = tuple(
        dict.fromkeys(
            other.source_id
            for other in bundle.entries
            if other.resource_type == "CarePlan"
            for ref in _goal_refs(other)
            if ref.reference and bundle.resolve(ref.reference) is entry
        )
    )
    if not plans:
        raise Skip("no CarePlan in the bundle names this goal, and a records goal belongs to a plan")
    return [
        Item(
            entry=entry.index,
            resource_type="Goal",
            source_id=entry.source_id,
            key=f"Goal/{entry.source_id}",
            patient=patient_of(entry, bundle, entry.resource.subject, "subject"),
            data=plans,
        )
    ]


def _named(target: Entry, reference: str) -> str:
    """``Condition/<id>``, and the reference when it is another form (``urn:uuid:``)."""
    named = f"{target.resource_type}/{target.raw['id']}" if target.raw.get("id") else reference
    return named if named == reference else f"{named}, {reference}"


def _goal_refs(plan: Entry) -> list[Any]:
    try:
        return list(plan.resource.goal or [])
    except ResourceInvalid:  # the plan reports that itself
        return []


async def write_care_plan(sink: Sink, item: Item) -> Result:
    data: CarePlanData = item.data
    patient = sink.patient_of(item)
    plan_id = derived_id(patient.id, item.key)
    goals = [ImportedGoal(id=derived_id(patient.id, f"{item.key}/goal/{i}"), **g) for i, g in enumerate(data.goals)]
    tasks = [ImportedTask(id=derived_id(patient.id, f"{item.key}/task/{i}"), **t) for i, t in enumerate(data.tasks)]
    await sink.audit("CarePlan", patient.id)
    try:
        _, created = await sink.records.care_plans.import_plan(
            plan_id, patient.id, data.plan, goals, tasks, by=sink.by, reference=item.key
        )
    except (Invalid, Conflict) as exc:
        return Result(Outcome.REJECTED, exc.detail)
    for goal_entry, written in zip(data.goal_entries, goals, strict=True):
        carried = sink.carried.get(goal_entry)
        if carried is None or (created and carried.outcome is not Outcome.IMPORTED):  # one plan is enough
            sink.carried[goal_entry] = (
                Result(Outcome.IMPORTED, id=written.id) if created else Result(Outcome.SKIPPED, ALREADY, written.id)
            )
    return Result(Outcome.IMPORTED, id=plan_id) if created else Result(Outcome.SKIPPED, ALREADY, plan_id)


async def write_goal(sink: Sink, item: Item) -> Result:
    """What the CarePlans that name the goal made of it (they are written first)."""
    if (carried := sink.carried.get(item.entry)) is not None:
        return carried
    plans = ", ".join(f"CarePlan/{p}" for p in item.data)
    return Result(Outcome.REJECTED, f"not imported: the CarePlan that names it ({plans}) was not (see its outcome)")
