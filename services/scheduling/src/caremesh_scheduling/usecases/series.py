"""Recurring series: each occurrence booked through the public booking use case, conflicts reported
per occurrence; cancelling one, this and the following, or all."""

from pymongo import ASCENDING, IndexModel

from caremesh_kit import context
from caremesh_kit.errors import DomainError
from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_scheduling.domain import CancelReason, parse_slot_id, utcnow
from caremesh_scheduling.domain.series import Occurrence, Recurrence, Scope, Series, occurrences
from caremesh_scheduling.usecases.booking import Scheduling, SlotRef


class SeriesService:
    def __init__(self, runtime: Runtime, scheduling: Scheduling) -> None:
        self.repo: Repository[Series] = runtime.repository("series", Series, [IndexModel([("patient_id", ASCENDING)])])
        self.scheduling = scheduling

    async def create(self, patient_id: str, first: SlotRef | str, recurrence: Recurrence, by: str) -> Series:
        """Book every occurrence; one that cannot be booked is kept with its reason. The series is
        saved after the bookings, so a crash midway leaves plain appointments and no series."""
        ref = SlotRef(*parse_slot_id(first)) if isinstance(first, str) else first
        location = await self.scheduling.calendar.location(ref.location_id, "location_id")
        service = await self.scheduling.calendar.service_type(ref.service_type_id, "service_type_id")
        starts = occurrences(ref.start, recurrence, location.time_zone)
        done: list[Occurrence] = []
        for i, start in enumerate(starts):
            try:
                appt = await self.scheduling.request_appointment(
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
            created_at=utcnow(),
        )
        return await self.repo.add(series)

    async def get(self, series_id: str) -> Series:
        return await self.repo.get(series_id)

    async def of_patient(self, patient_id: str, limit: int) -> list[Series]:
        cursor = self.repo.collection.find({"patient_id": patient_id}).sort("created_at", ASCENDING).limit(limit)
        return [Series.from_document(d) async for d in cursor]  # type: ignore[misc]

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
                appt = await self.scheduling.cancel(target, reason, by, by_role, note)
                outcome[target] = appt.status.value
            except DomainError as exc:
                outcome[target] = exc.detail
        return outcome
