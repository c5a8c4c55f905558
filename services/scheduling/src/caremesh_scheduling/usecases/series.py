"""Recurring series: each occurrence booked through the public booking use case, conflicts reported
per occurrence; cancelling one, this and the following, or all."""

from caremesh_kit import context
from caremesh_kit.clock import Clock
from caremesh_kit.errors import DomainError
from caremesh_scheduling.domain import CancelReason, SlotRef
from caremesh_scheduling.domain.series import Occurrence, Recurrence, Scope, Series, occurrences
from caremesh_scheduling.store import SeriesStore
from caremesh_scheduling.usecases.booking import Booking
from caremesh_scheduling.usecases.calendar import CalendarAdmin
from caremesh_scheduling.usecases.lifecycle import AppointmentChanges


class RecurringSeries:
    def __init__(
        self,
        store: SeriesStore,
        calendar: CalendarAdmin,
        booking: Booking,
        changes: AppointmentChanges,
        clock: Clock,
    ) -> None:
        self.store = store
        self.repo = store.repo
        self.calendar = calendar
        self.booking = booking
        self.changes = changes
        self.clock = clock

    async def create(self, patient_id: str, first: SlotRef | str, recurrence: Recurrence, by: str) -> Series:
        """Book every occurrence; one that cannot be booked is kept with its reason. The series is
        saved after the bookings, so a crash midway leaves plain appointments and no series."""
        ref = SlotRef.of(first) if isinstance(first, str) else first
        location = await self.calendar.location(ref.location_id, "location_id")
        service = await self.calendar.service_type(ref.service_type_id, "service_type_id")
        starts = occurrences(ref.start, recurrence, location.time_zone)
        done: list[Occurrence] = []
        for i, start in enumerate(starts):
            try:
                appt = await self.booking.request_appointment(
                    patient_id, SlotRef(ref.practitioner_id, ref.location_id, ref.service_type_id, start)
                )
            except DomainError as exc:
                done.append(Occurrence(index=i, start=start, conflict=exc.detail))
                continue
            done.append(Occurrence(index=i, start=start, appointment_id=appt.id))
        series = Series(
            id=context.new_id(),
            patient_id=patient_id,
            practitioner_id=ref.practitioner_id,
            service_code=service.details.code,
            time_zone=location.time_zone,
            location_id=ref.location_id,
            service_type_id=ref.service_type_id,
            recurrence=recurrence,
            occurrences=done,
            created_by=by,
            created_at=self.clock(),
        )
        return await self.repo.add(series)

    async def get(self, series_id: str) -> Series:
        return await self.repo.get(series_id)

    async def of_patient(self, patient_id: str, limit: int) -> list[Series]:
        return await self.store.of_patient(patient_id, limit)

    async def cancel(
        self,
        series_id: str,
        scope: Scope,
        appointment_id: str | None,
        reason: CancelReason,
        by: str,
        by_role: str,
        note: str | None,
    ) -> dict[str, str]:
        """Each reached appointment's outcome: its status, or why it was not cancelled."""
        series = await self.repo.get(series_id)
        outcome: dict[str, str] = {}
        for target in series.reach(scope, appointment_id):
            try:
                appt = await self.changes.cancel(target, reason, by, by_role, note)
                outcome[target] = appt.status.value
            except DomainError as exc:
                outcome[target] = exc.detail
        return outcome
