"""Care plans: plans, goals, tasks and observations for the HTTP and FHIR APIs and the importer,
the coordinator's worklist, the overdue sweep, and the timeline entries of the plans' own events."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal, TypeVar

from caremesh_contracts import CarePlanChanged, CareTaskOverdue
from caremesh_kit import context, logs
from caremesh_kit.clock import Clock
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, NotFound
from caremesh_kit.store import Repository
from caremesh_records.domain import Patient, TimelineEntry
from caremesh_records.domain.careplan import (
    CarePlan,
    CareTask,
    Goal,
    ImportedGoal,
    ImportedTask,
    NewCarePlan,
    NewGoal,
    NewObservation,
    NewTask,
    PlanStatus,
    TaskStatus,
    WorklistItem,
    entry_for_change,
    entry_for_overdue,
)
from caremesh_records.store import CarePlanStore, PatientLog

log = logs.get("caremesh.records.care_plans")
T = TypeVar("T")
SWEEP_BATCH = 200  # plans per sweep; the rest are found by the next one


class CarePlans:
    def __init__(
        self,
        patients: Repository[Patient],
        plans: CarePlanStore,
        timeline: PatientLog[TimelineEntry],
        clock: Clock,
    ) -> None:
        self.patients, self.plans, self.timeline, self.clock = patients, plans, timeline, clock

    # -- plans -----------------------------------------------------------------------------------

    async def create(self, patient_id: str, new: NewCarePlan, by: str) -> CarePlan:
        patient = await self.patients.get(patient_id)
        return await self.plans.repo.add(CarePlan.create(context.new_id(), patient, new, by, self.clock()))

    async def import_plan(
        self,
        plan_id: str,
        patient_id: str,
        plan: NewCarePlan,
        goals: Sequence[ImportedGoal] = (),
        tasks: Sequence[ImportedTask] = (),
        *,
        by: str,
        reference: str | None = None,
    ) -> tuple[CarePlan, bool]:
        """Create a plan with its goals (and their observations) and tasks from already-parsed
        data, once. ``plan_id`` and every goal's and task's ``id`` must be deterministic (e.g.
        the importer's ``derived_id`` of the source's resource ids), so a re-import finds the plan and changes
        nothing. Returns the plan and whether this call created it. Invalid (422, naming the field,
        e.g. ``goals.0.target.measure.code``) if the data breaks a rule; Conflict if ``plan_id`` is
        another patient's plan."""
        patient = await self.patients.get(patient_id)
        made = CarePlan.imported(plan_id, patient, plan, list(goals), list(tasks), by, self.clock(), reference)
        if await self.plans.repo.add_once(made):
            return made, True
        existing = await self.plans.repo.get(plan_id)
        if existing.patient_id != patient_id:
            raise Conflict(f"care plan {plan_id} belongs to another patient", field="plan_id")
        return existing, False

    async def get(self, patient_id: str, plan_id: str) -> CarePlan:
        plan = await self.plans.repo.find(plan_id)
        if plan is None or plan.patient_id != patient_id:  # another patient's plan is not found here
            raise NotFound(f"care plan {plan_id} not found")
        return plan

    async def of_patient(
        self, patient_id: str, status: PlanStatus | None = None, limit: int = 100, offset: int = 0
    ) -> list[CarePlan]:
        """Newest first."""
        await self.patients.get(patient_id)
        return await self.plans.of_patient(patient_id, status, limit, offset)

    async def with_goal(self, goal_id: str) -> CarePlan | None:
        return await self.plans.with_goal(goal_id)

    async def find(self, plan_id: str) -> CarePlan | None:
        """Any patient's plan (the FHIR read audits the patient it finds)."""
        return await self.plans.repo.find(plan_id)

    async def change_status(
        self,
        patient_id: str,
        plan_id: str,
        status: PlanStatus,
        by: str,
        reason: str | None = None,
        version: int | None = None,
    ) -> CarePlan:
        now = self.clock()
        plan, _ = await self._change(patient_id, plan_id, version, lambda p: p.change_status(status, by, now, reason))
        return plan

    # -- goals, tasks, observations --------------------------------------------------------------

    async def add_goal(
        self, patient_id: str, plan_id: str, new: NewGoal, by: str, version: int | None = None
    ) -> tuple[CarePlan, Goal]:
        goal_id, now = context.new_id(), self.clock()
        return await self._change(patient_id, plan_id, version, lambda p: p.add_goal(goal_id, new, by, now))

    async def add_task(
        self, patient_id: str, plan_id: str, new: NewTask, by: str, version: int | None = None
    ) -> tuple[CarePlan, CareTask]:
        task_id, now = context.new_id(), self.clock()
        return await self._change(patient_id, plan_id, version, lambda p: p.add_task(task_id, new, by, now))

    async def change_task_status(
        self,
        patient_id: str,
        plan_id: str,
        task_id: str,
        status: TaskStatus,
        by: str,
        reason: str | None = None,
        version: int | None = None,
    ) -> tuple[CarePlan, CareTask]:
        now = self.clock()
        plan, _ = await self._change(
            patient_id, plan_id, version, lambda p: p.change_task_status(task_id, status, by, now, reason)
        )
        return plan, plan.task(task_id)

    async def record_observation(
        self, patient_id: str, plan_id: str, goal_id: str, new: NewObservation, by: str, version: int | None = None
    ) -> tuple[CarePlan, Goal]:
        observation_id, now = context.new_id(), self.clock()
        plan, _ = await self._change(
            patient_id, plan_id, version, lambda p: p.record_observation(goal_id, observation_id, new, by, now)
        )
        return plan, plan.goal(goal_id)

    async def _change(
        self, patient_id: str, plan_id: str, version: int | None, change: Callable[[CarePlan], T]
    ) -> tuple[CarePlan, T]:
        """Compare-and-set: against ``version`` if given, else retried on the latest version.
        Nothing is written when ``change`` returns False (a repeat)."""
        plan = await self.get(patient_id, plan_id)
        plan, result = await self.plans.repo.apply(plan_id, change, loaded=plan, expected_version=version)
        return plan, result

    # -- the coordinator's worklist --------------------------------------------------------------

    async def worklist(
        self,
        assignee: str | None = None,
        patient_id: str | None = None,
        kind: Literal["task", "goal"] | None = None,
        limit: int = 100,
        offset: int = 0,
        now: datetime | None = None,
    ) -> list[WorklistItem]:
        """Overdue tasks and goals at risk in active plans, longest waiting first."""
        now = now or self.clock()
        items: list[WorklistItem] = []
        for plan in await self.plans.needing_attention(now, patient_id, assignee):
            items += [i for i in plan.worklist(now, assignee) if kind is None or i.kind == kind]
        items.sort(key=lambda i: (i.since, i.kind, i.patient_id, i.item_id))
        return items[offset : offset + limit]

    # -- overdue tasks ---------------------------------------------------------------------------

    async def flag_overdue_tasks(self, now: datetime | None = None) -> int:
        """Mark tasks past their due date overdue, each raising its event in the same commit; how
        many were marked. Safe with any number of replicas sweeping at once: of two writers of one
        plan only one commit succeeds, and the other's retry finds the tasks already marked."""
        at = now or self.clock()
        marked = 0
        for plan_id in await self.plans.with_tasks_due(at, SWEEP_BATCH):
            counted = 0

            def flag(plan: CarePlan) -> bool:
                nonlocal counted
                counted = plan.flag_overdue(at)
                return counted > 0

            try:
                with context.bound(correlation=context.new_id()):  # one per plan: its logs and events
                    await self.plans.repo.mutate(plan_id, flag)
            except Exception:
                log.exception("marking a care plan's overdue tasks failed")
                continue
            marked += counted
        return marked

    # -- the timeline, from the plans' own events ------------------------------------------------

    async def on_changed(self, event: CarePlanChanged, env: Envelope) -> None:
        plan = await self.plans.repo.find(event.care_plan_id)
        await self.timeline.add(entry_for_change(env.id, event, plan, recorded_at=self.clock()))

    async def on_task_overdue(self, event: CareTaskOverdue, env: Envelope) -> None:
        plan = await self.plans.repo.find(event.care_plan_id)
        await self.timeline.add(entry_for_overdue(env.id, env.time, event, plan, recorded_at=self.clock()))
