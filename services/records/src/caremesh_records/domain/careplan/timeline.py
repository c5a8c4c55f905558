"""Care-plan changes as timeline entries, from the plan's own events. Pure Python: no I/O.

An entry's id is the id of the event it came from, fixed when the change was committed, so a
redelivered or replayed event adds nothing.
"""

from datetime import datetime

from caremesh_contracts import CarePlanChanged, CareTaskOverdue
from caremesh_records.domain.careplan.model import Change
from caremesh_records.domain.careplan.plan import CarePlan
from caremesh_records.domain.timeline import TimelineEntry, TimelineKind


def _describe(e: CarePlanChanged, plan: CarePlan | None) -> str:
    title = f"“{plan.title}”" if plan else e.care_plan_id
    goals = {g.id: g for g in plan.goals} if plan else {}
    tasks = {t.id: t for t in plan.tasks} if plan else {}
    item = e.item_id or ""
    match e.change:
        case Change.CREATED:
            return f"Care plan {title} created ({e.status})"
        case Change.IMPORTED:
            return f"Care plan {title} imported ({e.status})"
        case Change.STATUS_CHANGED:
            return f"Care plan {title} is now {e.status}"
        case Change.GOAL_ADDED:
            return (
                f"Goal added to care plan {title}: {goals[item].description}"
                if item in goals
                else f"Goal added to care plan {title}"
            )
        case Change.TASK_ADDED if item in tasks:
            t = tasks[item]
            who = f", assigned to the {t.assignee.role}" if t.assignee else ""
            due = f", due {t.due_date}" if t.due_date else ""
            return f"Task added to care plan {title}: {t.description}{who}{due}"
        case Change.TASK_STATUS_CHANGED if item in tasks:
            return f"Task {tasks[item].description} ({title}) is now {e.status}"
        case Change.OBSERVATION_RECORDED:
            for g in goals.values():
                for o in g.observations:
                    if o.id == item:
                        return f"Observation for goal {g.description} ({title}): {o.value:g} {o.unit}"
            return f"Observation recorded in care plan {title}"
    return f"Care plan {title}: {e.change.replace('_', ' ')}"


def entry_for_change(
    event_id: str, e: CarePlanChanged, plan: CarePlan | None, *, recorded_at: datetime
) -> TimelineEntry:
    return TimelineEntry(
        id=event_id,
        recorded_at=recorded_at,
        patient_id=e.patient_id,
        kind=TimelineKind.CARE_PLAN_CHANGED,
        occurred_at=e.changed_at,
        care_plan_id=e.care_plan_id,
        summary=_describe(e, plan),
    )


def entry_for_overdue(
    event_id: str, flagged_at: datetime, e: CareTaskOverdue, plan: CarePlan | None, *, recorded_at: datetime
) -> TimelineEntry:
    task = next((t for t in plan.tasks if t.id == e.task_id), None) if plan else None
    what = f"Task {task.description}" if task else "A care-plan task"
    return TimelineEntry(
        id=event_id,
        recorded_at=recorded_at,
        patient_id=e.patient_id,
        kind=TimelineKind.CARE_PLAN_TASK_OVERDUE,
        occurred_at=flagged_at,
        care_plan_id=e.care_plan_id,
        summary=f"{what} is overdue (due {e.due_date})",
    )
