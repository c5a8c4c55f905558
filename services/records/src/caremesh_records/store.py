"""Records' collections: patients (with outbox), the timeline, and the health history."""

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from caremesh_kit.errors import Conflict
from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_records.domain import Encounter, Patient, TimelineEntry
from caremesh_records.family import RelatedPerson
from caremesh_records.history import HistoryEntry, Kind

M = TypeVar("M", bound=BaseModel)


class PatientLog(Generic[M]):
    """Facts learned from events, one document each, filed by patient and time. The id of each
    is the id of what it came from (event or appointment), so a redelivery adds nothing."""

    def __init__(self, runtime: Runtime, collection: str, model: type[M], time_field: str) -> None:
        self.collection = runtime.store.db[collection]
        self.model, self.time_field = model, time_field
        runtime.indexes[collection] = [IndexModel([("patient_id", ASCENDING), (time_field, ASCENDING)])]

    async def add(self, item: M) -> bool:
        try:
            await self.collection.insert_one(item.model_dump(exclude={"id"}) | {"_id": item.id})
        except DuplicateKeyError:
            return False
        return True

    async def for_patient(self, patient_id: str, limit: int, offset: int) -> list[M]:
        cursor = self.collection.find({"patient_id": patient_id}).sort(self.time_field, ASCENDING)
        return [self.model.model_validate(d | {"id": d["_id"]}) async for d in cursor.skip(offset).limit(limit)]


def timeline(runtime: Runtime) -> PatientLog[TimelineEntry]:
    return PatientLog(runtime, "timeline", TimelineEntry, "occurred_at")


def encounters(runtime: Runtime) -> PatientLog[Encounter]:
    return PatientLog(runtime, "encounters", Encounter, "start")


def patients(runtime: Runtime) -> Repository[Patient]:
    return runtime.repository(
        "patients", Patient, [IndexModel([("match_key", ASCENDING)]), IndexModel([("identifier_keys", ASCENDING)])]
    )


class PatientIndex:
    """Lookups across patients, and the guard that keeps medical record numbers unique."""

    def __init__(self, runtime: Runtime, patients: Repository[Patient]) -> None:
        self.patients = patients
        self.mrns = runtime.store.db["mrns"]

    async def reserve_mrn(self, mrn: str, patient_id: str) -> bool:
        try:
            await self.mrns.insert_one({"_id": mrn, "patient_id": patient_id})
        except DuplicateKeyError:
            return False
        return True

    async def possible_duplicates(self, patient: Patient) -> list[Patient]:
        query = {"$or": [{"match_key": patient.match_key}, {"identifier_keys": {"$in": patient.identifier_keys}}]}
        cursor = self.patients.collection.find(query).limit(50)
        return [Patient.from_document(d) async for d in cursor]  # type: ignore[misc]


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


class CurrentCodes:
    """Which entry holds each code that is current for a patient.

    The document's ``_id`` is the patient and the entry's claim key (kind and code), so the
    unique ``_id`` is what makes two current entries of one code impossible, even for two
    requests at once. A claim is taken before the entry is saved, stamped with the version that
    makes the entry current, and released after a later version leaves the current statuses.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.collection = runtime.store.db["history_codes"]

    async def claim(self, patient_id: str, key: str, entry_id: str, version: int, now: datetime) -> dict | None:
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


def family(runtime: Runtime) -> Repository[RelatedPerson]:
    return runtime.repository("related_persons", RelatedPerson, [IndexModel([("patient_id", ASCENDING)])])


def intake_responses(runtime: Runtime):
    """Intake responses as received, one document each (``_id``: patient and response id)."""
    runtime.indexes["intake_responses"] = [IndexModel([("patient_id", ASCENDING), ("received_at", ASCENDING)])]
    return runtime.store.db["intake_responses"]
