"""Care plans' store and use cases, for the HTTP and FHIR APIs, the importer, the timeline
handlers and the overdue sweeper."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from pymongo import ASCENDING, DESCENDING, IndexModel

from caremesh_contracts import CarePlanChanged, CareTaskOverdue
from caremesh_kit import context, logs
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, NotFound, VersionConflict
from caremesh_kit.periodic import every
from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_records.careplan import (
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
from caremesh_records.domain import Patient, TimelineEntry
from caremesh_records.store import PatientLog
from caremesh_records.usecases import utcnow

log = logs.get("caremesh.records.care_plans")
T = TypeVar("T")
ATTEMPTS = 5
SWEEP_BATCH = 200  # plans per sweep; the rest are found by the next one


def care_plans(runtime: Runtime) -> Repository[CarePlan]:
    return runtime.repository(
        "care_plans",
        CarePlan,
        [
            IndexModel([("patient_id", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("status", ASCENDING), ("next_overdue_at", ASCENDING)]),
            IndexModel([("status", ASCENDING), ("attention_from", ASCENDING)]),
            IndexModel([("goal_ids", ASCENDING)]),
        ],
    )


@dataclass
class CarePlans:
    patients: Repository[Patient]
    plans: Repository[CarePlan]
    timeline: PatientLog[TimelineEntry]
    overdue_scan_seconds: float = 60.0

    # -- plans -----------------------------------------------------------------------------------

    async def create(self, patient_id: str, new: NewCarePlan, by: str) -> CarePlan:
        patient = await self.patients.get(patient_id)
        return await self.plans.add(CarePlan.create(context.new_id(), patient, new, by, utcnow()))

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
        made = CarePlan.imported(plan_id, patient, plan, list(goals), list(tasks), by, utcnow(), reference)
        if await self.plans.add_once(made):
            return made, True
        existing = await self.plans.get(plan_id)
        if existing.patient_id != patient_id:
            raise Conflict(f"care plan {plan_id} belongs to another patient", field="plan_id")
        return existing, False

    async def get(self, patient_id: str, plan_id: str) -> CarePlan:
        plan = await self.plans.find(plan_id)
        if plan is None or plan.patient_id != patient_id:  # another patient's plan is not found here
            raise NotFound(f"care plan {plan_id} not found")
        return plan

    async def of_patient(
        self, patient_id: str, status: PlanStatus | None = None, limit: int = 100, offset: int = 0
    ) -> list[CarePlan]:
        """Newest first."""
        await self.patients.get(patient_id)
        query = {"patient_id": patient_id} | ({"status": status.value} if status else {})
        cursor = (
            self.plans.collection.find(query)
            .sort([("created_at", DESCENDING), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [CarePlan.from_document(d) async for d in cursor]  # type: ignore[misc]

    async def with_goal(self, goal_id: str) -> CarePlan | None:
        doc = await self.plans.collection.find_one({"goal_ids": goal_id}, {"_id": 1})
        return await self.plans.find(doc["_id"]) if doc else None

    async def change_status(
        self,
        patient_id: str,
        plan_id: str,
        status: PlanStatus,
        by: str,
        reason: str | None = None,
        version: int | None = None,
    ) -> CarePlan:
        now = utcnow()
        plan, _ = await self._change(patient_id, plan_id, version, lambda p: p.change_status(status, by, now, reason))
        return plan

    # -- goals, tasks, observations --------------------------------------------------------------

    async def add_goal(
        self, patient_id: str, plan_id: str, new: NewGoal, by: str, version: int | None = None
    ) -> tuple[CarePlan, Goal]:
        goal_id, now = context.new_id(), utcnow()
        return await self._change(patient_id, plan_id, version, lambda p: p.add_goal(goal_id, new, by, now))

    async def add_task(
        self, patient_id: str, plan_id: str, new: NewTask, by: str, version: int | None = None
    ) -> tuple[CarePlan, CareTask]:
        task_id, now = context.new_id(), utcnow()
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
        now = utcnow()
        plan, _ = await self._change(
            patient_id, plan_id, version, lambda p: p.change_task_status(task_id, status, by, now, reason)
        )
        return plan, plan.task(task_id)

    async def record_observation(
        self, patient_id: str, plan_id: str, goal_id: str, new: NewObservation, by: str, version: int | None = None
    ) -> tuple[CarePlan, Goal]:
        observation_id, now = context.new_id(), utcnow()
        plan, _ = await self._change(
            patient_id, plan_id, version, lambda p: p.record_observation(goal_id, observation_id, new, by, now)
        )
        return plan, plan.goal(goal_id)

    async def _change(
        self, patient_id: str, plan_id: str, version: int | None, change: Callable[[CarePlan], T]
    ) -> tuple[CarePlan, T]:
        """Compare-and-set: against ``version`` if given, else retried on the latest version.
        Nothing is written when ``change`` returns False (a repeat)."""
        for attempt in range(ATTEMPTS):
            plan = await self.get(patient_id, plan_id)
            if version is not None and version != plan.version:
                raise VersionConflict(
                    f"care plan {plan_id} is at version {plan.version}, not {version}", current_version=plan.version
                )
            result = change(plan)
            if result is False:
                return plan, result
            try:
                await self.plans.save(plan)
                return plan, result
            except VersionConflict:
                if version is not None or attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

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
        """Overdue tasks and goals at risk in active plans, longest waiting first. The store keeps
        when each plan first needs attention, so only those plans are read."""
        now = now or utcnow()
        query: dict = {"status": PlanStatus.ACTIVE.value, "attention_from": {"$lte": now}}
        if patient_id:
            query["patient_id"] = patient_id
        if assignee:
            query["assignee_ids"] = assignee
        items: list[WorklistItem] = []
        async for doc in self.plans.collection.find(query):
            plan: CarePlan = CarePlan.from_document(doc)  # type: ignore[assignment]
            items += [i for i in plan.worklist(now, assignee) if kind is None or i.kind == kind]
        items.sort(key=lambda i: (i.since, i.kind, i.patient_id, i.item_id))
        return items[offset : offset + limit]

    # -- overdue tasks ---------------------------------------------------------------------------

    async def flag_overdue_tasks(self, now: datetime | None = None) -> int:
        """Mark tasks past their due date overdue, each raising its event in the same commit; how
        many were marked. Safe with any number of replicas sweeping at once: of two writers of one
        plan only one commit succeeds, and the other's retry finds the tasks already marked."""
        now = now or utcnow()
        cursor = self.plans.collection.find(
            {"status": PlanStatus.ACTIVE.value, "next_overdue_at": {"$lte": now}}, {"_id": 1}
        ).limit(SWEEP_BATCH)
        marked = 0
        for plan_id in [d["_id"] async for d in cursor]:
            counted = 0

            def flag(plan: CarePlan) -> bool:
                nonlocal counted
                counted = plan.flag_overdue(now)
                return counted > 0

            try:
                with context.bound(correlation=context.new_id()):  # one per plan: its logs and events
                    await self.plans.mutate(plan_id, flag)
            except Exception:
                log.exception("marking a care plan's overdue tasks failed")
                continue
            marked += counted
        return marked

    async def overdue_sweeper(self) -> None:
        await every(self.overdue_scan_seconds, self.flag_overdue_tasks, "marked care-plan tasks overdue")

    # -- the timeline, from the plans' own events ------------------------------------------------

    async def on_changed(self, event: CarePlanChanged, env: Envelope) -> None:
        await self.timeline.add(entry_for_change(env.id, event, await self.plans.find(event.care_plan_id)))

    async def on_task_overdue(self, event: CareTaskOverdue, env: Envelope) -> None:
        await self.timeline.add(entry_for_overdue(env.id, env.time, event, await self.plans.find(event.care_plan_id)))
