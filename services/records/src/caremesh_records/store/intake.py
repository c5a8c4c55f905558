"""Intake responses as received, one document each (``_id``: patient and response id)."""

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from caremesh_kit.runtime import Runtime


class IntakeResponses:
    def __init__(self, runtime: Runtime) -> None:
        runtime.indexes["intake_responses"] = [IndexModel([("patient_id", ASCENDING), ("received_at", ASCENDING)])]
        self.collection = runtime.store.db["intake_responses"]

    async def add(self, doc: dict[str, Any]) -> bool:
        """False if a response of that ``_id`` was received before (it is kept as it was)."""
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def resources_of(self, patient_id: str) -> list[dict[str, Any]]:
        """The patient's responses as received, oldest first."""
        cursor = self.collection.find({"patient_id": patient_id}).sort("received_at", ASCENDING)
        return [d["resource"] async for d in cursor]
