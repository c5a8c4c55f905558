"""Availability search, and the copy of each patient's coverage it filters by (learned from
insurance's events)."""

from collections.abc import Callable

from caremesh_contracts import CoverageChanged, CoverageRegistered
from caremesh_kit.clock import Clock
from caremesh_kit.envelope import Envelope
from caremesh_scheduling.domain import KnownCoverage, PatientCoverage, Query, Slot, search
from caremesh_scheduling.store import CalendarStore
from caremesh_scheduling.usecases.calendar_view import CalendarView


class AvailabilitySearch:
    def __init__(self, store: CalendarStore, view: CalendarView, clock: Clock) -> None:
        self.coverage = store.coverage
        self.view = view
        self.clock = clock

    async def coverage_of(self, patient_id: str) -> PatientCoverage | None:
        return await self.coverage.find(patient_id)

    async def search(self, q: Query, coverage: PatientCoverage | None) -> tuple[list[Slot], str | None]:
        """``coverage``: with ``q.patient_id``, the patient's (``coverage_of``)."""
        await self.view.ready()
        return search(self.view.calendar(), q, self.clock(), coverage, self.view.derived)

    # -- coverage, from insurance's events ---------------------------------------------------------
    async def on_coverage_registered(self, event: CoverageRegistered, env: Envelope) -> None:
        known = KnownCoverage(
            coverage_id=event.coverage_id,
            payer=event.payer,
            period_start=event.period_start,
            period_end=event.period_end,
        )
        await self._coverage(event.patient_id, lambda c: c.registered(known))

    async def on_coverage_changed(self, event: CoverageChanged, env: Envelope) -> None:
        snapshot = KnownCoverage(
            coverage_id=event.coverage_id,
            period_start=event.period_start,
            period_end=event.period_end,
            status=event.status,
            service_codes=list(event.service_codes),
            coverage_version=event.coverage_version,
        )
        await self._coverage(event.patient_id, lambda c: c.changed(snapshot))

    async def _coverage(self, patient_id: str, change: Callable[[PatientCoverage], bool]) -> None:
        """Change the patient's copy, creating it on the first event (of two creators, one adds)."""
        await self.coverage.add_or_mutate(patient_id, lambda: PatientCoverage(id=patient_id), change)
