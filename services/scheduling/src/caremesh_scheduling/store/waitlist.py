"""The waitlist: the repository and the offers' queries."""

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_scheduling.domain.waitlist import Status, WaitlistEntry


class WaitlistStore:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[WaitlistEntry] = runtime.repository(
            "waitlist",
            WaitlistEntry,
            [
                IndexModel([("status", ASCENDING), ("wish.service_code", ASCENDING)]),
                IndexModel([("offer.offer_id", ASCENDING)]),
                IndexModel([("wish.patient_id", ASCENDING)]),
            ],
        )

    async def of_patient(self, patient_id: str, limit: int) -> list[WaitlistEntry]:
        cursor = self.repo.collection.find({"wish.patient_id": patient_id}).sort("added_at", ASCENDING)
        return [self.repo.loaded(d) async for d in cursor.limit(limit)]

    async def outstanding(
        self, limit: int, offset: int, practitioner_id: str | None = None
    ) -> tuple[list[WaitlistEntry], int]:
        """Open offers, the soonest to lapse first, and how many there are in all."""
        query: dict[str, Any] = {"status": Status.OFFERED.value}
        if practitioner_id:
            query["offer.slot.practitioner_id"] = practitioner_id
        total = await self.repo.collection.count_documents(query)
        cursor = self.repo.collection.find(query).sort([("offer.expires_at", ASCENDING), ("_id", ASCENDING)])
        found = [self.repo.loaded(d) async for d in cursor.skip(offset).limit(limit)]
        return found, total

    async def with_offer(self, offer_id: str) -> WaitlistEntry | None:
        """The entry that holds (or held) the offer, read by id for its current state."""
        doc = await self.repo.collection.find_one({"offer.offer_id": offer_id}, {"_id": 1})
        return await self.repo.find(doc["_id"]) if doc else None

    async def waiting_for(self, service_code: str) -> list[WaitlistEntry]:
        query = {"status": Status.WAITING.value, "wish.service_code": service_code}
        return [self.repo.loaded(d) async for d in self.repo.collection.find(query)]

    async def chain_open(self, freed_appointment_id: str) -> bool:
        """Someone holds an open offer of this freed slot, or took it."""
        found = await self.repo.collection.find_one(
            {
                "offer.slot.appointment_id": freed_appointment_id,
                "status": {"$in": [Status.OFFERED.value, Status.BOOKED.value]},
            }
        )
        return found is not None

    async def offers_expired(self, now: datetime) -> list[WaitlistEntry]:
        query = {"status": Status.OFFERED.value, "offer.expires_at": {"$lt": now}}
        return [self.repo.loaded(d) async for d in self.repo.collection.find(query)]
