"""Patients (with outbox), the medical record numbers they hold, and the logs of facts learned
from events: the timeline and the encounters."""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_records.domain import Encounter, Patient, TimelineEntry

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
            doc = item.model_dump()
            doc["_id"] = doc.pop("id")
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def find(self, item_id: str) -> M | None:
        doc = await self.collection.find_one({"_id": item_id})
        return self.model.model_validate(doc | {"id": doc["_id"]}) if doc else None

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

    async def mrn_holder(self, mrn: str) -> str | None:
        """The patient a medical record number is reserved for, if any."""
        held: dict[str, Any] | None = await self.mrns.find_one({"_id": mrn})
        return held.get("patient_id") if held is not None else None

    async def possible_duplicates(self, patient: Patient) -> list[Patient]:
        query = {"$or": [{"match_key": patient.match_key}, {"identifier_keys": {"$in": patient.identifier_keys}}]}
        cursor = self.patients.collection.find(query).limit(50)
        return [Patient.from_document(d) async for d in cursor]

    async def with_identifier(self, key: str) -> Patient | None:
        """The patient holding an identifier (``system|value``), if any."""
        doc = await self.patients.collection.find_one({"identifier_keys": key})
        return Patient.from_document(doc) if doc is not None else None
