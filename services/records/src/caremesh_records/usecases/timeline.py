"""The timeline learns of other services' events: one entry each, insert-once by the event id."""

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
    CoverageRegistered,
    EligibilityConfirmed,
    EligibilityDenied,
)
from caremesh_kit.clock import Clock
from caremesh_kit.envelope import Envelope
from caremesh_records.domain import (
    Encounter,
    TimelineEntry,
    encounter_from,
    entry_for_booking,
    entry_for_cancellation,
    entry_for_coverage,
    entry_for_decline,
    entry_for_eligibility,
    entry_for_encounter,
    entry_for_ineligibility,
    entry_for_no_show,
)
from caremesh_records.store import PatientLog


class Timeline:
    def __init__(self, timeline: PatientLog[TimelineEntry], encounters: PatientLog[Encounter], clock: Clock) -> None:
        self.timeline, self.encounters, self.clock = timeline, encounters, clock

    async def on_appointment_booked(self, event: AppointmentBooked, env: Envelope) -> None:
        await self.timeline.add(entry_for_booking(env.id, event, recorded_at=self.clock()))

    async def on_appointment_declined(self, event: AppointmentDeclined, env: Envelope) -> None:
        await self.timeline.add(entry_for_decline(env.id, event, recorded_at=self.clock()))

    async def on_appointment_cancelled(self, event: AppointmentCancelled, env: Envelope) -> None:
        await self.timeline.add(entry_for_cancellation(env.id, env.time, event, recorded_at=self.clock()))

    async def on_no_show_recorded(self, event: AppointmentNoShowRecorded, env: Envelope) -> None:
        await self.timeline.add(entry_for_no_show(env.id, event, recorded_at=self.clock()))

    async def on_appointment_fulfilled(self, event: AppointmentFulfilled, env: Envelope) -> None:
        """The visit becomes an encounter in the history; both writes are insert-once, so a
        redelivery after a crash between them completes the pair."""
        encounter = encounter_from(event)
        await self.encounters.add(encounter)
        await self.timeline.add(entry_for_encounter(env.id, encounter, recorded_at=self.clock()))

    async def on_coverage_registered(self, event: CoverageRegistered, env: Envelope) -> None:
        await self.timeline.add(entry_for_coverage(env.id, env.time, event, recorded_at=self.clock()))

    async def on_eligibility_confirmed(self, event: EligibilityConfirmed, env: Envelope) -> None:
        await self.timeline.add(entry_for_eligibility(env.id, env.time, event, recorded_at=self.clock()))

    async def on_eligibility_denied(self, event: EligibilityDenied, env: Envelope) -> None:
        await self.timeline.add(entry_for_ineligibility(env.id, env.time, event, recorded_at=self.clock()))
