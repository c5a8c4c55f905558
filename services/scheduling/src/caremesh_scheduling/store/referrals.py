"""Referrals: the repository and the worklist's and the loop's queries."""

from typing import Any

from pymongo import ASCENDING, IndexModel

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_scheduling.domain.referrals import UNSCHEDULED, Priority, Referral, Status


class ReferralStore:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Referral] = runtime.repository(
            "referrals",
            Referral,
            [
                IndexModel([("status", ASCENDING), ("received_at", ASCENDING)]),
                IndexModel([("appointment_id", ASCENDING)]),
                IndexModel([("request.patient_id", ASCENDING)]),
            ],
        )

    async def query(
        self,
        *,
        patient_id: str | None = None,
        status: list[Status] | None = None,
        overdue: bool | None = None,
        priority: Priority | None = None,
        service_code: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Referral], int]:
        """A page, oldest first, and how many match in all."""
        query: dict[str, Any] = {}
        if patient_id:
            query["request.patient_id"] = patient_id
        if status:
            query["status"] = {"$in": [s.value for s in status]}
        if overdue is not None:
            query["overdue_reported"] = overdue
        if priority:
            query["request.priority"] = priority.value
        if service_code:
            query["request.service_code"] = service_code
        total = await self.repo.collection.count_documents(query)
        cursor = self.repo.collection.find(query).sort([("received_at", ASCENDING), ("_id", ASCENDING)])
        found = [self.repo.loaded(d) async for d in cursor.skip(offset).limit(limit)]
        return found, total

    async def linked(self, appointment_id: str) -> list[Referral]:
        cursor = self.repo.collection.find({"appointment_id": appointment_id}, {"_id": 1})
        return [r async for d in cursor if (r := await self.repo.find(d["_id"])) is not None]

    async def unreported(self) -> list[str]:
        """The ids of unscheduled referrals not yet reported overdue."""
        query = {"status": {"$in": [s.value for s in UNSCHEDULED]}, "overdue_reported": False}
        return [d["_id"] async for d in self.repo.collection.find(query, {"_id": 1})]
