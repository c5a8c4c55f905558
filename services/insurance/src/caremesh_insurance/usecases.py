"""Insurance use cases, shared by the HTTP API and the event handlers."""

from dataclasses import dataclass
from datetime import UTC, datetime

from caremesh_contracts import AppointmentRequested
from caremesh_kit import context
from caremesh_kit.envelope import Envelope
from caremesh_kit.store import Repository

from caremesh_insurance.domain import Coverage, CoverageTerms, EligibilityCheck, decide
from caremesh_insurance.store import Coverages


@dataclass
class Insurance:
    coverages: Coverages
    checks: Repository[EligibilityCheck]

    async def register_coverage(self, terms: CoverageTerms) -> Coverage:
        return await self.coverages.repo.add(Coverage.register(context.new_id(), terms, datetime.now(UTC)))

    async def get_coverage(self, coverage_id: str) -> Coverage:
        return await self.coverages.repo.get(coverage_id)

    async def coverages_of(self, patient_id: str) -> list[Coverage]:
        return await self.coverages.for_patient(patient_id)

    async def get_check(self, appointment_id: str) -> EligibilityCheck:
        return await self.checks.get(appointment_id)

    async def on_appointment_requested(self, event: AppointmentRequested, env: Envelope) -> None:
        if await self.checks.find(event.appointment_id):
            return  # already decided; its events are in (or through) the outbox
        day = event.service_date
        decision = decide(await self.coverages.for_patient(event.patient_id), day, event.service_code)
        check = EligibilityCheck.record(event.appointment_id, event.patient_id, event.service_code, day,
                                        decision, datetime.now(UTC))
        await self.checks.add_once(check)  # a concurrent redelivery may have decided it first
