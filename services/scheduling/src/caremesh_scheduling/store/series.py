"""Recurring series: the repository and a patient's series."""

from pymongo import ASCENDING, IndexModel

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_scheduling.domain.series import Series


class SeriesStore:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Series] = runtime.repository("series", Series, [IndexModel([("patient_id", ASCENDING)])])

    async def of_patient(self, patient_id: str, limit: int) -> list[Series]:
        cursor = self.repo.collection.find({"patient_id": patient_id}).sort("created_at", ASCENDING).limit(limit)
        return [self.repo.loaded(d) async for d in cursor]
