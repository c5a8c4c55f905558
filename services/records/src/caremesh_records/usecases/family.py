"""Family members and caregivers of a patient, and the patient's consent for each."""

from caremesh_kit import context
from caremesh_kit.clock import Clock
from caremesh_kit.errors import NotFound
from caremesh_kit.store import Repository
from caremesh_records.domain import Patient
from caremesh_records.domain.family import Category, RelatedPerson, RelatedPersonDetails
from caremesh_records.store import RelatedPersons


class Family:
    def __init__(self, patients: Repository[Patient], people: RelatedPersons, clock: Clock) -> None:
        self.patients, self.people, self.clock = patients, people, clock

    async def add(self, patient_id: str, details: RelatedPersonDetails) -> RelatedPerson:
        await self.patients.get(patient_id)
        return await self.people.repo.add(RelatedPerson.add(context.new_id(), patient_id, details))

    async def of_patient(self, patient_id: str) -> list[RelatedPerson]:
        return await self.people.of_patient(patient_id)

    async def find(self, person_id: str) -> RelatedPerson | None:
        return await self.people.repo.find(person_id)

    async def set_consent(
        self, patient_id: str, person_id: str, categories: set[Category], by: str, by_role: str
    ) -> RelatedPerson:
        person = await self.people.repo.get(person_id)
        if person.patient_id != patient_id:
            raise NotFound(f"RelatedPerson {person_id} not found")
        now = self.clock()
        return await self.people.repo.mutate(person_id, lambda p: p.set_consent(categories, by, by_role, now))
