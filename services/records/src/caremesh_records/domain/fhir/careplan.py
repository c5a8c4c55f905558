"""CarePlan and Goal resources from records' care plans. Pure functions, no I/O.

A plan's tasks are its activities (kind Task). The conditions it addresses are codes, not
references to records' entries, so each is a contained Condition the plan refers to. A goal's
progress is its ``achievementStatus``, computed at the time of the read.
"""

from datetime import datetime

from fhir.resources.R4B.careplan import CarePlan as FhirCarePlan
from fhir.resources.R4B.careplan import CarePlanActivity, CarePlanActivityDetail
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding as FhirCoding
from fhir.resources.R4B.condition import Condition as FhirCondition
from fhir.resources.R4B.goal import Goal as FhirGoal
from fhir.resources.R4B.goal import GoalTarget
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.range import Range
from fhir.resources.R4B.reference import Reference

from caremesh_records.domain.careplan import UCUM, CarePlan, Goal, PlanStatus, Progress, ProgressState, TaskStatus
from caremesh_records.domain.careplan.model import CareTask
from caremesh_records.domain.fhir.mapping import USER, concept, instant, patient_ref, source_uri, user_ref

GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
ACHIEVEMENT_DISPLAY = {
    "in-progress": "In Progress",
    "improving": "Improving",
    "worsening": "Worsening",
    "no-progress": "No Progress",
    "achieved": "Achieved",
    "not-achieved": "Not Achieved",
}
# Goal.lifecycleStatus follows its plan's status.
LIFECYCLE = {
    PlanStatus.DRAFT: "proposed",
    PlanStatus.ACTIVE: "active",
    PlanStatus.ON_HOLD: "on-hold",
    PlanStatus.COMPLETED: "completed",
    PlanStatus.REVOKED: "cancelled",
}
ACTIVITY_STATUS = {
    TaskStatus.REQUESTED: "not-started",
    TaskStatus.IN_PROGRESS: "in-progress",
    TaskStatus.COMPLETED: "completed",
    TaskStatus.CANCELLED: "cancelled",
}


def _meta(plan: CarePlan) -> Meta:
    return Meta(versionId=str(plan.version), lastUpdated=instant(plan.last_changed_at), source=source_uri(plan.source))


def achievement(p: Progress | None) -> CodeableConcept | None:
    """Our progress as a goal-achievement code."""
    if p is None:
        return None
    if p.state is ProgressState.MET:
        code = "achieved"
    elif p.state is ProgressState.AT_RISK:
        code = {"moving-away": "worsening", "overdue": "not-achieved"}.get(p.reason, "no-progress")
    else:
        code = "improving" if p.reason == "improving" else "in-progress"
    return CodeableConcept(
        coding=[FhirCoding(system=GOAL_ACHIEVEMENT, code=code, display=ACHIEVEMENT_DISPLAY[code])], text=p.detail
    )


def _quantity(value: float | None, unit: str, comparator: str | None = None) -> Quantity:
    q = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    return Quantity(**q, comparator=comparator) if comparator else Quantity(**q)


def goal(plan: CarePlan, g: Goal, now: datetime) -> FhirGoal:
    target = None
    if (t := g.target) is not None:
        detail = (
            {"detailQuantity": _quantity(t.value, t.unit, t.comparator.value)}
            if t.comparator is not None
            else {"detailRange": Range(low=_quantity(t.low, t.unit), high=_quantity(t.high, t.unit))}
        )
        target = [GoalTarget(measure=concept(t.measure), dueDate=t.due_date, **detail)]
    progress = plan.progress(g, now)
    return FhirGoal(
        **{
            k: v
            for k, v in {
                "id": g.id,
                "meta": _meta(plan),
                "lifecycleStatus": LIFECYCLE[plan.status],
                "achievementStatus": achievement(progress),
                "description": CodeableConcept(text=g.description),
                "subject": patient_ref(plan.patient_id),
                "startDate": g.created_at.date(),
                "target": target,
            }.items()
            if v is not None
        }
    )


def _activity(t: CareTask) -> CarePlanActivity:
    detail = {
        "kind": "Task",
        "code": concept(t.code) if t.code else None,
        "status": ACTIVITY_STATUS[t.status],
        "description": t.description,
        "performer": [
            Reference(
                identifier={"system": USER, "value": t.assignee.id}, display=f"{t.assignee.id} ({t.assignee.role})"
            )
        ]
        if t.assignee
        else None,
        "scheduledPeriod": Period(end=t.due_date) if t.due_date else None,
        "goal": [Reference(reference=f"Goal/{t.goal_id}")] if t.goal_id else None,
    }
    return CarePlanActivity(detail=CarePlanActivityDetail(**{k: v for k, v in detail.items() if v is not None}))


def care_plan(plan: CarePlan) -> FhirCarePlan:
    contained = [
        FhirCondition(id=f"addresses-{i}", code=concept(c), subject=patient_ref(plan.patient_id))
        for i, c in enumerate(plan.addresses)
    ]
    period = {k: v for k, v in {"start": plan.period_start, "end": plan.period_end}.items() if v}
    fields = {
        "id": plan.id,
        "meta": _meta(plan),
        "status": plan.status.value,
        "intent": "plan",
        "title": plan.title,
        "description": plan.description,
        "category": [concept(plan.category)] if plan.category else None,
        "subject": patient_ref(plan.patient_id),
        "period": Period(**period) if period else None,
        "created": instant(plan.created_at),
        "author": user_ref(plan.created_by),
        "contained": contained or None,
        "addresses": [
            Reference(reference=f"#{c.id}", display=a.display) for c, a in zip(contained, plan.addresses, strict=True)
        ]
        or None,
        "goal": [Reference(reference=f"Goal/{g.id}") for g in plan.goals] or None,
        "activity": [_activity(t) for t in plan.tasks] or None,
    }
    return FhirCarePlan(**{k: v for k, v in fields.items() if v is not None})
