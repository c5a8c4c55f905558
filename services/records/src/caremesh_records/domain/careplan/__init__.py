"""Care plans: goals with measurable targets, tasks for the care team, observations against the
goals and the progress computed from them. Pure Python: no I/O."""

from caremesh_records.domain.careplan.model import (
    CLOSED,
    OPEN,
    PLAN_TRANSITIONS,
    TASK_TRANSITIONS,
    Assignee,
    CareTask,
    CareTeamRole,
    Change,
    Goal,
    ImportedGoal,
    ImportedTask,
    NewCarePlan,
    NewGoal,
    NewObservation,
    NewTask,
    Observation,
    PlanStatus,
    TaskStatus,
)
from caremesh_records.domain.careplan.plan import CarePlan, WorklistItem
from caremesh_records.domain.careplan.progress import NEAR_DUE, STALE, Progress, ProgressState, assess, at_risk_from
from caremesh_records.domain.careplan.targets import LOINC, UCUM, Comparator, Target, loinc_problem, measure_code
from caremesh_records.domain.careplan.timeline import entry_for_change, entry_for_overdue

__all__ = [
    "CLOSED",
    "LOINC",
    "NEAR_DUE",
    "OPEN",
    "PLAN_TRANSITIONS",
    "STALE",
    "TASK_TRANSITIONS",
    "UCUM",
    "Assignee",
    "CarePlan",
    "CareTask",
    "CareTeamRole",
    "Change",
    "Comparator",
    "Goal",
    "ImportedGoal",
    "ImportedTask",
    "NewCarePlan",
    "NewGoal",
    "NewObservation",
    "NewTask",
    "Observation",
    "PlanStatus",
    "Progress",
    "ProgressState",
    "Target",
    "TaskStatus",
    "WorklistItem",
    "assess",
    "at_risk_from",
    "entry_for_change",
    "entry_for_overdue",
    "loinc_problem",
    "measure_code",
]
