"""Scheduling's collections.

A slot is held by a claim document whose ``_id`` is the slot id: the unique ``_id`` is what
makes two active appointments on one slot impossible, on MongoDB and FerretDB alike.
"""

from datetime import datetime

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from caremesh_scheduling.domain import Appointment, Practitioner, Slot


class SlotClaims:
    def __init__(self, runtime: Runtime) -> None:
        self.collection = runtime.store.db["slot_claims"]
        runtime.indexes["slot_claims"] = [IndexModel([("settled", ASCENDING), ("claimed_at", ASCENDING)])]

    async def claim(self, slot_id: str, appointment_id: str, now: datetime) -> bool:
        # Unsettled until the appointment behind it is saved; only unsettled claims are swept.
        try:
            await self.collection.insert_one({"_id": slot_id, "appointment_id": appointment_id, "claimed_at": now,
                                              "settled": False})
        except DuplicateKeyError:
            return False
        return True

    async def release(self, slot_id: str, appointment_id: str) -> None:
        """Only the holder can release; a stale release of a re-claimed slot does nothing."""
        await self.collection.delete_one({"_id": slot_id, "appointment_id": appointment_id})

    async def held(self, slot_ids: list[str]) -> set[str]:
        return {d["_id"] async for d in self.collection.find({"_id": {"$in": slot_ids}}, {"_id": 1})}

    async def holder(self, slot_id: str) -> dict | None:
        return await self.collection.find_one({"_id": slot_id})

    async def settle(self, slot_id: str, appointment_id: str) -> None:
        await self.collection.update_one({"_id": slot_id, "appointment_id": appointment_id},
                                         {"$set": {"settled": True}})

    async def unsettled_before(self, cutoff: datetime) -> list[dict]:
        return [d async for d in self.collection.find({"settled": False, "claimed_at": {"$lt": cutoff}})]


class Slots:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Slot] = runtime.repository(
            "slots", Slot, [IndexModel([("practitioner_id", ASCENDING), ("start", ASCENDING)])])

    async def between(self, practitioner_id: str | None, start: datetime, end: datetime, limit: int) -> list[Slot]:
        query: dict = {"start": {"$gte": start, "$lt": end}}
        if practitioner_id:
            query["practitioner_id"] = practitioner_id
        cursor = self.repo.collection.find(query, {"outbox": 0}).sort("start", ASCENDING).limit(limit)
        return [Slot.from_document(d) async for d in cursor]  # type: ignore[misc]


class Appointments:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Appointment] = runtime.repository(
            "appointments", Appointment, [IndexModel([("patient_id", ASCENDING), ("start", ASCENDING)])])

    async def for_patient(self, patient_id: str, limit: int) -> list[Appointment]:
        cursor = self.repo.collection.find({"patient_id": patient_id}, {"outbox": 0}).sort("start", ASCENDING)
        return [Appointment.from_document(d) async for d in cursor.limit(limit)]  # type: ignore[misc]

    async def for_slot(self, slot_id: str) -> list[Appointment]:
        cursor = self.repo.collection.find({"slot_id": slot_id}, {"outbox": 0})
        return [Appointment.from_document(d) async for d in cursor]  # type: ignore[misc]


def practitioners(runtime: Runtime) -> Repository[Practitioner]:
    return runtime.repository("practitioners", Practitioner)

