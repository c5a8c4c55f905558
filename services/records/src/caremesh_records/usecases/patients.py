"""Patients: registration (with possible duplicates named), merges, and what is known of them."""

import secrets

from caremesh_kit import context
from caremesh_kit.clock import Clock
from caremesh_kit.store import Repository
from caremesh_records.domain import (
    Demographics,
    DuplicateCandidate,
    Encounter,
    Patient,
    TimelineEntry,
    mrn_with_check_digit,
)
from caremesh_records.store import PatientIndex, PatientLog


class Patients:
    def __init__(
        self,
        patients: Repository[Patient],
        index: PatientIndex,
        timeline: PatientLog[TimelineEntry],
        encounters: PatientLog[Encounter],
        clock: Clock,
    ) -> None:
        self.patients, self.index, self.clock = patients, index, clock
        self.timeline, self.encounters = timeline, encounters

    async def register(self, demographics: Demographics) -> tuple[Patient, list[DuplicateCandidate]]:
        """Register, and name any existing patients this one may duplicate (for the caller to
        review and merge); registration itself goes ahead."""
        patient_id = context.new_id()
        if (earlier := await self.patients.made_earlier(patient_id)) is not None:
            # A retry under the key of a registration that went through: no new number for it.
            return earlier, earlier.candidates_among(await self.index.possible_duplicates(earlier))
        while not await self.index.reserve_mrn(
            mrn := mrn_with_check_digit(f"{secrets.randbelow(10**9):09d}"), patient_id
        ):
            pass  # taken: draw again
        patient = Patient.register(patient_id, demographics, self.clock(), mrn)
        candidates = patient.candidates_among(await self.index.possible_duplicates(patient))
        return await self.patients.add(patient), candidates

    async def merge(self, source_id: str, target_id: str) -> Patient:
        target = await self.patients.get(target_id)
        now = self.clock()
        return await self.patients.mutate(source_id, lambda p: p.merge_into(target, now))

    async def get(self, patient_id: str) -> Patient:
        return await self.patients.get(patient_id)

    async def timeline_of(self, patient_id: str, limit: int, offset: int) -> list[TimelineEntry]:
        return await self.timeline.for_patient(patient_id, limit, offset)

    async def encounters_of(self, patient_id: str, limit: int, offset: int) -> list[Encounter]:
        return await self.encounters.for_patient(patient_id, limit, offset)

    async def encounter(self, encounter_id: str) -> Encounter | None:
        return await self.encounters.find(encounter_id)
