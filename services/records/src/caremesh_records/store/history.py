"""The health history: every kind of entry in one collection, and the current-code claims."""

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from caremesh_kit.errors import Conflict
from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_records.domain.history import HistoryEntry, Kind


class History:
    """Every kind of health history entry in one collection; ``kind`` tells them apart."""

    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[HistoryEntry] = runtime.repository(
            "health_history",
            HistoryEntry,
            [IndexModel([("patient_id", ASCENDING), ("kind", ASCENDING), ("status", ASCENDING)])],
        )

    async def of_patient(
        self, patient_id: str, kind: Kind, status: str | None, limit: int, offset: int
    ) -> list[HistoryEntry]:
        """Newest recorded first."""
        query = {"patient_id": patient_id, "kind": kind.value} | ({"status": status} if status else {})
        cursor = (
            self.repo.collection.find(query)
            .sort([("provenance.recorded_at", DESCENDING), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [HistoryEntry.from_document(d) async for d in cursor]

    async def ids_of_patient(self, patient_id: str) -> set[str]:
        """The ids of every entry of the patient, of any kind (one query, no documents read)."""
        cursor = self.repo.collection.find({"patient_id": patient_id}, {"_id": 1})
        return {d["_id"] async for d in cursor}


class CurrentCodes:
    """Which entry holds each code that is current for a patient.

    The document's ``_id`` is the patient and the entry's claim key (kind and code), so the
    unique ``_id`` is what makes two current entries of one code impossible, even for two
    requests at once. A claim is taken before the entry is saved, stamped with the version that
    makes the entry current, and released after a later version leaves the current statuses.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.collection = runtime.store.db["history_codes"]

    async def claim(
        self, patient_id: str, key: str, entry_id: str, version: int, now: datetime
    ) -> dict[str, Any] | None:
        """None if ``entry_id`` now holds ``key``; else the claim that holds it."""
        _id = f"{patient_id}/{key}"
        for _ in range(3):
            try:
                await self.collection.insert_one(
                    {"_id": _id, "entry_id": entry_id, "version": version, "claimed_at": now}
                )
                return None
            except DuplicateKeyError:
                if holder := await self.collection.find_one({"_id": _id}):
                    return holder
                # released meanwhile: try again
        raise Conflict("this code is being changed by another request: try again")

    async def release(self, patient_id: str, key: str, entry_id: str, below: int) -> None:
        """Drop the entry's claim if it was taken for a version below ``below``. A claim taken
        since (the entry made current again) stays, and so does anyone else's."""
        await self.collection.delete_one(
            {"_id": f"{patient_id}/{key}", "entry_id": entry_id, "version": {"$lt": below}}
        )
