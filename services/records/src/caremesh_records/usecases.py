"""Records' use cases: called by the HTTP API and the event handlers alike."""

from dataclasses import dataclass
from datetime import UTC, datetime

from caremesh_contracts import AppointmentBooked, AppointmentDeclined
from caremesh_kit import context
from caremesh_kit.envelope import Envelope
from caremesh_kit.store import Repository

from caremesh_records.domain import Demographics, Patient, TimelineEntry, entry_for_booking, entry_for_decline
from caremesh_records.store import Timeline


@dataclass
class Records:
    patients: Repository[Patient]
    timeline: Timeline

    async def register_patient(self, demographics: Demographics) -> Patient:
        patient = Patient.register(context.new_id(), demographics, datetime.now(UTC))
        return await self.patients.add(patient)

    async def get_patient(self, patient_id: str) -> Patient:
        return await self.patients.get(patient_id)

    async def timeline_of(self, patient_id: str, limit: int, offset: int) -> list[TimelineEntry]:
        return await self.timeline.for_patient(patient_id, limit, offset)

    async def on_appointment_booked(self, event: AppointmentBooked, env: Envelope) -> None:
        await self.timeline.add(entry_for_booking(env.id, event))

    async def on_appointment_declined(self, event: AppointmentDeclined, env: Envelope) -> None:
        await self.timeline.add(entry_for_decline(env.id, event))
