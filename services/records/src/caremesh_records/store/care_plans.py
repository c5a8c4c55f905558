"""Care plans, indexed for the patient's list, the overdue sweep and the worklist."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_records.domain.careplan import CarePlan, PlanStatus


class CarePlanStore:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[CarePlan] = runtime.repository(
            "care_plans",
            CarePlan,
            [
                IndexModel([("patient_id", ASCENDING), ("created_at", DESCENDING)]),
                IndexModel([("status", ASCENDING), ("next_overdue_at", ASCENDING)]),
                IndexModel([("status", ASCENDING), ("attention_from", ASCENDING)]),
                IndexModel([("goal_ids", ASCENDING)]),
            ],
        )

    async def of_patient(self, patient_id: str, status: PlanStatus | None, limit: int, offset: int) -> list[CarePlan]:
        """Newest first."""
        query = {"patient_id": patient_id} | ({"status": status.value} if status else {})
        cursor = (
            self.repo.collection.find(query)
            .sort([("created_at", DESCENDING), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [CarePlan.from_document(d) async for d in cursor]

    async def with_goal(self, goal_id: str) -> CarePlan | None:
        doc = await self.repo.collection.find_one({"goal_ids": goal_id}, {"_id": 1})
        return await self.repo.find(doc["_id"]) if doc else None

    async def needing_attention(
        self, now: datetime, patient_id: str | None = None, assignee: str | None = None
    ) -> list[CarePlan]:
        """Active plans with an overdue task or a goal at risk by ``now`` (the store keeps when
        each plan first needs attention, so only those plans are read)."""
        query: dict[str, Any] = {"status": PlanStatus.ACTIVE.value, "attention_from": {"$lte": now}}
        if patient_id:
            query["patient_id"] = patient_id
        if assignee:
            query["assignee_ids"] = assignee
        return [CarePlan.from_document(d) async for d in self.repo.collection.find(query)]

    async def with_tasks_due(self, now: datetime, limit: int) -> list[str]:
        """Ids of active plans with a task past its due date at ``now`` not marked overdue yet."""
        query: Mapping[str, Any] = {"status": PlanStatus.ACTIVE.value, "next_overdue_at": {"$lte": now}}
        cursor = self.repo.collection.find(query, {"_id": 1}).limit(limit)
        return [d["_id"] async for d in cursor]
