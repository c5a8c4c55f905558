"""Family members and caregivers of patients, with their consent."""

from pymongo import ASCENDING, IndexModel

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_records.domain.family import RelatedPerson


class RelatedPersons:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[RelatedPerson] = runtime.repository(
            "related_persons", RelatedPerson, [IndexModel([("patient_id", ASCENDING)])]
        )

    async def of_patient(self, patient_id: str) -> list[RelatedPerson]:
        cursor = self.repo.collection.find({"patient_id": patient_id})
        return [RelatedPerson.from_document(d) async for d in cursor]
