"""HTTP API of care plans, and the coordinator's worklist of overdue tasks and goals at risk.

Writes are for the care team, reads for anyone who may see the patient; every one is audited
(resource types CarePlan and Goal). A change may carry the plan's ``version``: it then applies only
to that version (else 409 with ``current_version``); without it, it applies to the latest.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from caremesh_kit.audit import Action, CareTeamAccess, CoordinatorAccess, PatientAccess
from caremesh_kit.http import Resource
from caremesh_kit.openapi import Limit, Offset
from caremesh_records.api.deps import Services
from caremesh_records.domain.careplan import (
    CarePlan,
    CareTask,
    Goal,
    NewCarePlan,
    NewGoal,
    NewObservation,
    NewTask,
    PlanStatus,
    Progress,
    TaskStatus,
    WorklistItem,
)
from caremesh_records.domain.careplan.plan import Source
from caremesh_records.domain.codes import Coding, Text
from caremesh_records.domain.history import StatusChange

router = APIRouter(tags=["care plans"])
PLANS = "/patients/{patient_id}/care-plans"
PLAN = PLANS + "/{plan_id}"


# -- representations ------------------------------------------------------------------------------


class GoalOut(Goal):
    progress: Progress | None = Field(description="on-track, at-risk or met; null without a target")

    @classmethod
    def of(cls, plan: CarePlan, goal: Goal, now: datetime) -> "GoalOut":
        return cls(**goal.model_dump(), progress=plan.progress(goal, now))


class TaskOut(CareTask):
    overdue: bool = Field(description="open and past its due date where the patient lives")

    @classmethod
    def of(cls, plan: CarePlan, task: CareTask, now: datetime) -> "TaskOut":
        return cls(**task.model_dump(), overdue=plan.is_overdue(task, now))


class CarePlanOut(Resource):
    patient_id: str
    title: str
    description: str | None
    status: PlanStatus
    category: Coding | None
    period_start: date | None
    period_end: date | None
    addresses: list[Coding]
    created_by: str
    created_at: datetime
    source: Source
    status_history: list[StatusChange]
    goals: list[GoalOut]
    tasks: list[TaskOut]

    @classmethod
    def of(cls, plan: CarePlan, now: datetime) -> "CarePlanOut":
        fields = plan.model_dump(include=set(cls.model_fields) - {"goals", "tasks"})
        return cls(
            **fields,
            goals=[GoalOut.of(plan, g, now) for g in plan.goals],
            tasks=[TaskOut.of(plan, t, now) for t in plan.tasks],
        )


class InPlan(BaseModel):
    care_plan_id: str
    care_plan_version: int = Field(description="the plan's version after this change")


class GoalResult(GoalOut, InPlan):
    pass


class TaskResult(TaskOut, InPlan):
    pass


# -- bodies ---------------------------------------------------------------------------------------


class Versioned(BaseModel):
    version: int | None = Field(
        default=None,
        ge=1,
        description=(
            "the care plan's version this change is meant for: a 409 if it changed since. Omitted: the latest"
        ),
    )


class GoalIn(NewGoal, Versioned):
    pass


class TaskIn(NewTask, Versioned):
    pass


class ObservationIn(NewObservation, Versioned):
    pass


class PlanStatusIn(Versioned):
    status: PlanStatus
    reason: Text | None = None


class TaskStatusIn(Versioned):
    status: TaskStatus
    reason: Text | None = None


# -- routes ---------------------------------------------------------------------------------------


@router.post(PLANS, status_code=201, response_model=CarePlanOut, summary="Start a care plan")
async def create_plan(patient_id: str, body: NewCarePlan, uc: Services, access: CareTeamAccess) -> CarePlanOut:
    plan = await uc.care_plans.create(patient_id, body, access.who.subject)
    await access.wrote(Action.CREATE, "CarePlan", plan.id, patient_id)
    return CarePlanOut.of(plan, uc.clock())


@router.get(PLANS, response_model=list[CarePlanOut], summary="A patient's care plans, newest first")
async def list_plans(
    patient_id: str,
    uc: Services,
    access: PatientAccess,
    status: Annotated[PlanStatus | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[CarePlanOut]:
    await access.read("CarePlan", "*", patient_id)
    now = uc.clock()
    return [CarePlanOut.of(p, now) for p in await uc.care_plans.of_patient(patient_id, status, limit, offset)]


@router.get(PLAN, response_model=CarePlanOut, summary="A care plan, with each goal's progress")
async def get_plan(patient_id: str, plan_id: str, uc: Services, access: PatientAccess) -> CarePlanOut:
    await access.read("CarePlan", plan_id, patient_id)
    return CarePlanOut.of(await uc.care_plans.get(patient_id, plan_id), uc.clock())


@router.post(PLAN + "/status", response_model=CarePlanOut, summary="Change a care plan's status")
async def change_plan_status(
    patient_id: str, plan_id: str, body: PlanStatusIn, uc: Services, access: CareTeamAccess
) -> CarePlanOut:
    await access.wrote(Action.UPDATE, "CarePlan", plan_id, patient_id)
    plan = await uc.care_plans.change_status(
        patient_id, plan_id, body.status, access.who.subject, body.reason, body.version
    )
    return CarePlanOut.of(plan, uc.clock())


@router.post(PLAN + "/goals", status_code=201, response_model=GoalResult, summary="Add a goal")
async def add_goal(patient_id: str, plan_id: str, body: GoalIn, uc: Services, access: CareTeamAccess) -> GoalResult:
    await access.wrote(Action.UPDATE, "CarePlan", plan_id, patient_id)
    plan, goal = await uc.care_plans.add_goal(patient_id, plan_id, body, access.who.subject, body.version)
    await access.wrote(Action.CREATE, "Goal", goal.id, patient_id)
    return GoalResult(
        **GoalOut.of(plan, goal, uc.clock()).model_dump(), care_plan_id=plan.id, care_plan_version=plan.version
    )


@router.post(
    PLAN + "/goals/{goal_id}/observations",
    status_code=201,
    response_model=GoalResult,
    summary="Record an observation against a goal; answers the goal with its progress",
)
async def record_observation(
    patient_id: str, plan_id: str, goal_id: str, body: ObservationIn, uc: Services, access: CareTeamAccess
) -> GoalResult:
    await access.wrote(Action.UPDATE, "Goal", goal_id, patient_id)
    plan, goal = await uc.care_plans.record_observation(
        patient_id, plan_id, goal_id, body, access.who.subject, body.version
    )
    return GoalResult(
        **GoalOut.of(plan, goal, uc.clock()).model_dump(), care_plan_id=plan.id, care_plan_version=plan.version
    )


@router.post(
    PLAN + "/tasks", status_code=201, response_model=TaskResult, summary="Add a task (activity) for a care-team member"
)
async def add_task(patient_id: str, plan_id: str, body: TaskIn, uc: Services, access: CareTeamAccess) -> TaskResult:
    await access.wrote(Action.UPDATE, "CarePlan", plan_id, patient_id)
    plan, task = await uc.care_plans.add_task(patient_id, plan_id, body, access.who.subject, body.version)
    return TaskResult(
        **TaskOut.of(plan, task, uc.clock()).model_dump(), care_plan_id=plan.id, care_plan_version=plan.version
    )


@router.post(PLAN + "/tasks/{task_id}/status", response_model=TaskResult, summary="Change a task's status")
async def change_task_status(
    patient_id: str, plan_id: str, task_id: str, body: TaskStatusIn, uc: Services, access: CareTeamAccess
) -> TaskResult:
    await access.wrote(Action.UPDATE, "CarePlan", plan_id, patient_id)
    plan, task = await uc.care_plans.change_task_status(
        patient_id, plan_id, task_id, body.status, access.who.subject, body.reason, body.version
    )
    return TaskResult(
        **TaskOut.of(plan, task, uc.clock()).model_dump(), care_plan_id=plan.id, care_plan_version=plan.version
    )


@router.get(
    "/worklists/care-plans",
    response_model=list[WorklistItem],
    summary="Overdue tasks and goals at risk across active care plans, longest waiting first",
)
async def worklist(
    uc: Services,
    access: CoordinatorAccess,
    assignee: Annotated[str | None, Query(description="a care-team member's tasks and the goals they serve")] = None,
    patient_id: Annotated[str | None, Query()] = None,
    kind: Annotated[Literal["task", "goal"] | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[WorklistItem]:
    items = await uc.care_plans.worklist(assignee, patient_id, kind, limit, offset)
    # One read per patient shown: the trail is kept by patient.
    for pid in dict.fromkeys(i.patient_id for i in items):
        await access.read("CarePlan", "*", pid)
    if patient_id and not items:
        await access.read("CarePlan", "*", patient_id)
    return items
