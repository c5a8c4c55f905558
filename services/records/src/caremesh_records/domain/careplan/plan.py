"""The care plan aggregate. Pure Python: no I/O.

Every change keeps who made it and when, and raises ``records.care_plan.changed``. A task that
passes its due date while open is marked overdue once: ``overdue_at`` is set in the same commit
that raises ``records.care_plan.task_overdue``, so of two sweepers (or one restarted)
only the first commit raises it, and the other finds the task already marked.
"""

import bisect
from datetime import UTC, date, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, computed_field

from caremesh_contracts import CarePlanChanged, CareTaskOverdue
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict, Invalid, NotFound
from caremesh_kit.lifecycle import guard
from caremesh_records.domain import codes
from caremesh_records.domain.careplan.model import (
    CLOCK_SKEW,
    CLOSED,
    OPEN,
    PLAN_TRANSITIONS,
    TASK_TRANSITIONS,
    Assignee,
    CareTask,
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
from caremesh_records.domain.careplan.progress import Progress, ProgressState, assess, at_risk_from
from caremesh_records.domain.codes import ICD10CM, SNOMED, Coding
from caremesh_records.domain.history.base import Entered, Imported, StatusChange
from caremesh_records.domain.patient import Patient, PatientStatus

Source = Annotated[Entered | Imported, Field(discriminator="type")]


class WorklistItem(BaseModel):
    """An overdue task or a goal at risk, for the coordinator's worklist."""

    kind: Literal["task", "goal"]
    patient_id: str
    care_plan_id: str
    care_plan_title: str
    item_id: str
    description: str
    since: datetime = Field(description="when the task became overdue, or the goal at risk")
    due_date: date | None = None
    assignee: Assignee | None = None
    status: TaskStatus | None = None
    progress: Progress | None = None


class CarePlan(Aggregate):
    patient_id: str
    title: str
    description: str | None = None
    status: PlanStatus
    category: Coding | None = None
    period_start: date | None = None
    period_end: date | None = None
    addresses: list[Coding] = Field(default_factory=list)
    time_zone: str  # the patient's: due dates end at midnight where they live
    created_by: str
    created_at: datetime
    source: Source = Field(default_factory=Entered)
    status_history: list[StatusChange]
    goals: list[Goal] = Field(default_factory=list)
    tasks: list[CareTask] = Field(default_factory=list)

    # -- kept in the stored document, for lookups ------------------------------------------------

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy wants @property first
    @property
    def goal_ids(self) -> list[str]:
        return [g.id for g in self.goals]

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy wants @property first
    @property
    def assignee_ids(self) -> list[str]:
        return sorted({t.assignee.id for t in self.tasks if t.assignee})

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy wants @property first
    @property
    def next_overdue_at(self) -> datetime | None:
        """When the sweeper has a task to mark overdue (open, due, not marked yet)."""
        return min(
            (at for t in self.tasks if t.overdue_at is None and (at := t.overdue_from(self.time_zone))), default=None
        )

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy wants @property first
    @property
    def attention_from(self) -> datetime | None:
        """When this plan first has an item for the worklist, if nothing changes meanwhile."""
        times = [at for t in self.tasks if (at := t.overdue_from(self.time_zone))]
        times += [at for g in self.goals if (at := at_risk_from(g.target, g.readings(), g.created_at, self.time_zone))]
        return min(times, default=None)

    # -- making one ------------------------------------------------------------------------------

    @classmethod
    def create(cls, plan_id: str, patient: Patient, new: NewCarePlan, by: str, now: datetime) -> Self:
        if new.status not in (PlanStatus.DRAFT, PlanStatus.ACTIVE):
            raise Invalid("a new care plan is draft or active", field="status")
        plan = cls._new(plan_id, patient, new, by, now, Entered())
        plan._changed(Change.CREATED, now, status=plan.status)
        return plan

    @classmethod
    def imported(
        cls,
        plan_id: str,
        patient: Patient,
        new: NewCarePlan,
        goals: list[ImportedGoal],
        tasks: list[ImportedTask],
        by: str,
        now: datetime,
        reference: str | None = None,
    ) -> Self:
        """A plan taken from another record, in any status, with its goals, their observations and
        its tasks; their ids are the caller's, so a re-import can name the same ones."""
        plan = cls._new(plan_id, patient, new, by, now, Imported(type="imported", reference=reference))
        for i, g in enumerate(goals):
            if g.id in plan.goal_ids:
                raise Invalid(f"goal id {g.id} is given twice", field=f"goals.{i}.id")
            plan._add_goal(g.id, g, by, now, f"goals.{i}.")
            for j, o in enumerate(g.observations):
                plan._add_observation(plan.goals[-1], f"{g.id}:{j}", o, by, now, f"goals.{i}.observations.{j}.")
        for i, t in enumerate(tasks):
            if any(x.id == t.id for x in plan.tasks):
                raise Invalid(f"task id {t.id} is given twice", field=f"tasks.{i}.id")
            plan._add_task(t.id, t, by, now, f"tasks.{i}.", status=t.status)
        plan._changed(Change.IMPORTED, now, status=plan.status)
        return plan

    @classmethod
    def _new(
        cls, plan_id: str, patient: Patient, new: NewCarePlan, by: str, now: datetime, source: Entered | Imported
    ) -> Self:
        if patient.status is PatientStatus.MERGED:
            raise Conflict(f"patient {patient.id} was merged into {patient.merged_into}", field="patient_id")
        if new.period_start and new.period_end and new.period_end < new.period_start:
            raise Invalid("period_end is before period_start", field="period_end")
        if new.category:
            codes.check("category", new.category, (SNOMED,))
        for i, c in enumerate(new.addresses):
            codes.check(f"addresses.{i}", c, (ICD10CM, SNOMED))
        return cls(
            id=plan_id,
            patient_id=patient.id,
            time_zone=patient.demographics.time_zone,
            created_by=by,
            created_at=now,
            source=source,
            status_history=[StatusChange(status=new.status, by=by, at=now)],
            **new.model_dump(),
        )

    # -- changes ---------------------------------------------------------------------------------

    def change_status(self, target: PlanStatus, by: str, now: datetime, reason: str | None = None) -> bool:
        """Move the plan; False if already there. Completing or revoking it cancels its open tasks:
        nothing is left to do on a closed plan."""
        if not guard(self.status, target, PLAN_TRANSITIONS, "a care plan"):
            return False
        self.status = target
        self.status_history = [*self.status_history, StatusChange(status=target, by=by, at=now, reason=reason)]
        if target in CLOSED:
            for task in self.tasks:
                if task.status in OPEN:
                    self._set_task_status(task, TaskStatus.CANCELLED, by, now, f"care plan {target}")
        self._changed(Change.STATUS_CHANGED, now, status=target)
        return True

    def add_goal(self, goal_id: str, new: NewGoal, by: str, now: datetime) -> Goal:
        self._open_for_changes()
        goal = self._add_goal(goal_id, new, by, now)
        self._changed(Change.GOAL_ADDED, now, item_id=goal_id)
        return goal

    def add_task(self, task_id: str, new: NewTask, by: str, now: datetime) -> CareTask:
        self._open_for_changes()
        task = self._add_task(task_id, new, by, now)
        self._changed(Change.TASK_ADDED, now, item_id=task_id)
        return task

    def change_task_status(
        self, task_id: str, target: TaskStatus, by: str, now: datetime, reason: str | None = None
    ) -> bool:
        """Move a task; False if already there; 409 naming both states for a move not allowed."""
        task = self.task(task_id)
        if target == task.status:
            return False
        self._open_for_changes()
        guard(task.status, target, TASK_TRANSITIONS, "a task")
        self._set_task_status(task, target, by, now, reason)
        self._changed(Change.TASK_STATUS_CHANGED, now, item_id=task_id, status=target)
        return True

    def record_observation(
        self, goal_id: str, observation_id: str, new: NewObservation, by: str, now: datetime
    ) -> Observation:
        self._open_for_changes()
        observation = self._add_observation(self.goal(goal_id), observation_id, new, by, now)
        self._changed(Change.OBSERVATION_RECORDED, now, item_id=observation_id)
        return observation

    def flag_overdue(self, now: datetime) -> int:
        """Mark each open task past its due date overdue, raising its event; how many were marked.
        Only an active plan's tasks are expected to be done (a draft's or paused plan's are not)."""
        if self.status is not PlanStatus.ACTIVE:
            return 0
        marked = 0
        for task in self.tasks:
            if task.overdue_at is None and (at := task.overdue_from(self.time_zone)) and at <= now:
                task.overdue_at = now
                self.raise_event(
                    CareTaskOverdue(
                        care_plan_id=self.id,
                        task_id=task.id,
                        patient_id=self.patient_id,
                        due_date=task.due_date,
                        assignee_id=task.assignee.id if task.assignee else None,
                        assignee_role=task.assignee.role.value if task.assignee else None,
                    )
                )
                marked += 1
        return marked

    # -- reading ---------------------------------------------------------------------------------

    def goal(self, goal_id: str) -> Goal:
        for goal in self.goals:
            if goal.id == goal_id:
                return goal
        raise NotFound(f"goal {goal_id} not found in care plan {self.id}")

    def task(self, task_id: str) -> CareTask:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise NotFound(f"task {task_id} not found in care plan {self.id}")

    def progress(self, goal: Goal, now: datetime) -> Progress | None:
        return assess(goal.target, goal.readings(), goal.created_at, self.time_zone, now)

    def is_overdue(self, task: CareTask, now: datetime) -> bool:
        at = task.overdue_from(self.time_zone)
        return at is not None and at <= now

    def worklist(self, now: datetime, assignee: str | None = None) -> list[WorklistItem]:
        """The plan's overdue tasks and goals at risk (an active plan's only), optionally only
        those of ``assignee``: their tasks, and the goals those tasks serve."""
        if self.status is not PlanStatus.ACTIVE:
            return []
        base = {"patient_id": self.patient_id, "care_plan_id": self.id, "care_plan_title": self.title}
        mine = [t for t in self.tasks if assignee is None or (t.assignee and t.assignee.id == assignee)]
        items = [
            WorklistItem(
                kind="task",
                item_id=t.id,
                description=t.description,
                since=at,
                due_date=t.due_date,
                assignee=t.assignee,
                status=t.status,
                **base,
            )
            for t in mine
            if (at := t.overdue_from(self.time_zone)) and at <= now
        ]
        served = {t.goal_id for t in mine}
        for g in self.goals:
            if assignee is not None and g.id not in served:
                continue
            p = self.progress(g, now)
            if p is not None and p.state is ProgressState.AT_RISK:
                items.append(
                    WorklistItem(
                        kind="goal",
                        item_id=g.id,
                        description=g.description,
                        since=p.since,
                        due_date=g.target.due_date if g.target else None,
                        progress=p,
                        **base,
                    )
                )
        return items

    @property
    def last_changed_at(self) -> datetime:
        times = [self.created_at, *(s.at for s in self.status_history)]
        times += [g.created_at for g in self.goals] + [o.recorded_at for g in self.goals for o in g.observations]
        times += [s.at for t in self.tasks for s in t.status_history]
        times += [t.overdue_at for t in self.tasks if t.overdue_at]
        return max(times)

    # -- helpers ---------------------------------------------------------------------------------

    def _open_for_changes(self) -> None:
        if self.status in CLOSED:
            raise Conflict(f"care plan {self.id} is {self.status}: it takes no more changes", current=str(self.status))

    def _add_goal(self, goal_id: str, new: NewGoal, by: str, now: datetime, at: str = "") -> Goal:
        if new.target is not None:
            new.target.check(f"{at}target")
        goal = Goal(id=goal_id, description=new.description, target=new.target, created_by=by, created_at=now)
        self.goals = [*self.goals, goal]
        return goal

    def _add_task(
        self,
        task_id: str,
        new: NewTask,
        by: str,
        now: datetime,
        at: str = "",
        status: TaskStatus = TaskStatus.REQUESTED,
    ) -> CareTask:
        if new.code is not None:
            codes.check(f"{at}code", new.code, (SNOMED,))
        if new.goal_id is not None and new.goal_id not in self.goal_ids:
            raise Invalid(f"goal {new.goal_id} is not in this care plan", field=f"{at}goal_id")
        task = CareTask(
            id=task_id,
            description=new.description,
            code=new.code,
            assignee=new.assignee,
            due_date=new.due_date,
            goal_id=new.goal_id,
            status=status,
            status_history=[StatusChange(status=status, by=by, at=now)],
            created_by=by,
            created_at=now,
        )
        self.tasks = [*self.tasks, task]
        return task

    def _add_observation(
        self, goal: Goal, observation_id: str, new: NewObservation, by: str, now: datetime, at: str = ""
    ) -> Observation:
        effective = new.effective_at if new.effective_at.tzinfo else new.effective_at.replace(tzinfo=UTC)
        effective = effective.astimezone(UTC)
        effective = effective.replace(microsecond=effective.microsecond // 1000 * 1000)  # what BSON keeps
        if effective > now + CLOCK_SKEW:
            raise Invalid(f"{at}effective_at is in the future", field=f"{at}effective_at")
        if goal.target is not None and new.unit != goal.target.unit:
            raise Invalid(f"{at}unit must be the target's unit, {goal.target.unit}", field=f"{at}unit")
        observation = Observation(
            id=observation_id, value=new.value, unit=new.unit, effective_at=effective, recorded_by=by, recorded_at=now
        )
        # Kept in effective-time order; a later recording of the same time goes after.
        i = bisect.bisect_right([o.effective_at for o in goal.observations], effective)
        goal.observations = [*goal.observations[:i], observation, *goal.observations[i:]]
        return observation

    def _set_task_status(self, task: CareTask, target: TaskStatus, by: str, now: datetime, reason: str | None) -> None:
        task.status = target
        task.status_history = [*task.status_history, StatusChange(status=target, by=by, at=now, reason=reason)]

    def _changed(self, change: str, now: datetime, item_id: str | None = None, status: str | None = None) -> None:
        self.raise_event(
            CarePlanChanged(
                care_plan_id=self.id,
                patient_id=self.patient_id,
                change=change,
                item_id=item_id,
                status=status,
                changed_at=now,
            )
        )
