"""Records' collections: patients (with outbox) and the timeline."""

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from caremesh_records.domain import Patient, TimelineEntry


class Timeline:
    def __init__(self, runtime: Runtime) -> None:
        self.collection = runtime.store.db["timeline"]
        runtime.indexes["timeline"] = [IndexModel([("patient_id", ASCENDING), ("occurred_at", ASCENDING)])]

    async def add(self, entry: TimelineEntry) -> bool:
        """Insert once; the event id as _id makes a redelivery a no-op."""
        doc = entry.model_dump(exclude={"id"}) | {"_id": entry.id}
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def for_patient(self, patient_id: str, limit: int, offset: int) -> list[TimelineEntry]:
        cursor = self.collection.find({"patient_id": patient_id}).sort("occurred_at", ASCENDING).skip(offset).limit(limit)
        return [TimelineEntry.model_validate(d | {"id": d["_id"]}) async for d in cursor]


def patients(runtime: Runtime) -> Repository[Patient]:
    return runtime.repository("patients", Patient, [IndexModel([("demographics.family_name", ASCENDING)])])
