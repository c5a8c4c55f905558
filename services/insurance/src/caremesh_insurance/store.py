"""Insurance's collections: coverages and eligibility checks, both with an outbox."""

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from pymongo import ASCENDING, IndexModel

from caremesh_insurance.domain import Coverage, EligibilityCheck


class Coverages:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Coverage] = runtime.repository(
            "coverages", Coverage, [IndexModel([("terms.patient_id", ASCENDING)])])

    async def for_patient(self, patient_id: str) -> list[Coverage]:
        cursor = self.repo.collection.find({"terms.patient_id": patient_id}, {"outbox": 0})
        return [Coverage.from_document(d) async for d in cursor]  # type: ignore[misc]


def checks(runtime: Runtime) -> Repository[EligibilityCheck]:
    return runtime.repository("eligibility_checks", EligibilityCheck, [IndexModel([("patient_id", ASCENDING)])])
