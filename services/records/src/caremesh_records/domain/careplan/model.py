"""The parts of a care plan and what callers send to make them. Pure Python: no I/O."""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, FiniteFloat, StringConstraints

from caremesh_records.domain.careplan import progress as rules
from caremesh_records.domain.careplan.progress import Reading
from caremesh_records.domain.careplan.targets import Target, Unit
from caremesh_records.domain.codes import Coding, Text
from caremesh_records.domain.history.base import Short, StatusChange

LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
# A clock a little ahead of ours is not an observation from the future.
CLOCK_SKEW = timedelta(minutes=5)


class PlanStatus(StrEnum):
    """FHIR CarePlan status."""

    DRAFT = "draft"
    ACTIVE = "active"
    ON_HOLD = "on-hold"
    REVOKED = "revoked"
    COMPLETED = "completed"


PLAN_TRANSITIONS: Mapping[str, frozenset[PlanStatus]] = {
    PlanStatus.DRAFT: frozenset({PlanStatus.ACTIVE, PlanStatus.REVOKED}),
    PlanStatus.ACTIVE: frozenset({PlanStatus.ON_HOLD, PlanStatus.COMPLETED, PlanStatus.REVOKED}),
    PlanStatus.ON_HOLD: frozenset({PlanStatus.ACTIVE, PlanStatus.COMPLETED, PlanStatus.REVOKED}),
    PlanStatus.REVOKED: frozenset(),
    PlanStatus.COMPLETED: frozenset(),
}
CLOSED = frozenset({PlanStatus.REVOKED, PlanStatus.COMPLETED})


class TaskStatus(StrEnum):
    """A subset of FHIR Task status."""

    REQUESTED = "requested"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


TASK_TRANSITIONS: Mapping[str, frozenset[TaskStatus]] = {
    TaskStatus.REQUESTED: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED, TaskStatus.CANCELLED}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.COMPLETED, TaskStatus.CANCELLED}),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}
OPEN = frozenset({TaskStatus.REQUESTED, TaskStatus.IN_PROGRESS})


class Change(StrEnum):
    """The ``change`` of ``records.care_plan.changed``."""

    CREATED = "created"
    IMPORTED = "imported"
    STATUS_CHANGED = "status_changed"
    GOAL_ADDED = "goal_added"
    TASK_ADDED = "task_added"
    TASK_STATUS_CHANGED = "task_status_changed"
    OBSERVATION_RECORDED = "observation_recorded"


class CareTeamRole(StrEnum):
    COORDINATOR = "coordinator"
    CLINICIAN = "clinician"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    DIETITIAN = "dietitian"
    SOCIAL_WORKER = "social-worker"
    PATIENT = "patient"
    CAREGIVER = "caregiver"


class Assignee(BaseModel):
    id: Short = Field(description="the care-team member's user id (token subject)")
    role: CareTeamRole


# -- what callers send ----------------------------------------------------------------------------


class NewCarePlan(BaseModel):
    title: Text
    description: LongText | None = None
    status: PlanStatus = Field(default=PlanStatus.DRAFT, description="draft or active when created")
    category: Coding | None = Field(default=None, description="SNOMED CT, e.g. 698360004 Diabetes self management plan")
    period_start: date | None = None
    period_end: date | None = None
    addresses: list[Coding] = Field(
        default_factory=list, max_length=20, description="the conditions it treats: ICD-10-CM or SNOMED CT"
    )


class NewGoal(BaseModel):
    description: Text = Field(description="e.g. HbA1c under 7%")
    target: Target | None = Field(default=None, description="without one, progress is not computed")


class NewTask(BaseModel):
    description: Text
    code: Coding | None = Field(default=None, description="SNOMED CT, e.g. 698472009 Diabetes education")
    assignee: Assignee
    due_date: date | None = None
    goal_id: str | None = Field(default=None, description="the goal of this plan it serves")


class NewObservation(BaseModel):
    value: FiniteFloat
    unit: Unit = Field(description="UCUM; the same as the goal target's")
    effective_at: datetime = Field(description="when it was measured")


class ImportedGoal(NewGoal):
    id: Short = Field(description="deterministic, so a re-import finds the same goal")
    observations: list[NewObservation] = Field(default_factory=list)


class ImportedTask(NewTask):
    id: Short = Field(description="deterministic, so a re-import finds the same task")
    assignee: Assignee | None = None  # type: ignore[assignment]  # other systems may not say
    status: TaskStatus = TaskStatus.REQUESTED


# -- what the plan holds --------------------------------------------------------------------------


class Observation(BaseModel):
    id: str
    value: float
    unit: str
    effective_at: datetime
    recorded_by: str
    recorded_at: datetime


class Goal(BaseModel):
    id: str
    description: str
    target: Target | None = None
    created_by: str
    created_at: datetime
    observations: list[Observation] = Field(default_factory=list)  # by effective time, oldest first

    def readings(self) -> list[Reading]:
        return [
            Reading(value=o.value, effective_at=o.effective_at, recorded_at=o.recorded_at) for o in self.observations
        ]


class CareTask(BaseModel):
    id: str
    description: str
    code: Coding | None = None
    assignee: Assignee | None = None
    due_date: date | None = None
    goal_id: str | None = None
    status: TaskStatus
    status_history: list[StatusChange]
    created_by: str
    created_at: datetime
    overdue_at: datetime | None = None  # when it was marked overdue (and the event raised)

    def overdue_from(self, time_zone: str) -> datetime | None:
        """When this open task is overdue: as its due date ends where the patient lives."""
        if self.status not in OPEN or self.due_date is None:
            return None
        return rules.start_of(self.due_date + timedelta(days=1), time_zone)
