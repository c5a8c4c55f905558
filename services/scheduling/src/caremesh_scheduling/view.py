"""The availability search's in-memory copy of the calendar.

Search derives slots from every matching template and checks each against the time already held,
which takes the whole calendar. FerretDB v1 answers any query but an ``_id`` lookup by scanning
its collection, so the copy is loaded once per ``calendar_refresh_seconds`` in the background
instead of per search. This process's own changes apply at once (and win over a load that was
already running); another replica's show within the refresh interval. Booking never trusts the
copy: the template is read from the store and the claims decide.
"""

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

from caremesh_kit import logs
from caremesh_kit.store import Repository

from caremesh_scheduling.domain import (
    Appointment,
    Busy,
    BusyIndex,
    Calendar,
    Location,
    ServiceType,
    Template,
    utcnow,
)
from caremesh_scheduling.store import Appointments, all_of

log = logs.get("caremesh.scheduling.view")


class CalendarView:
    def __init__(self, templates: Repository[Template], locations: Repository[Location],
                 service_types: Repository[ServiceType], appointments: Appointments, refresh_seconds: float) -> None:
        self._repos = templates, locations, service_types
        self._appointments = appointments
        self.refresh_seconds = refresh_seconds
        self.templates: dict[str, Template] = {}
        self.locations: dict[str, Location] = {}
        self.service_types: dict[str, ServiceType] = {}
        self._busy: dict[str, Busy] = {}
        # Each template's bookable time per day, kept across searches (keyed by template version).
        self.derived: dict = {}
        self._index: BusyIndex | None = None
        # Changes made here, by key, with when they were applied: a load that began before one
        # may have missed it, so it is applied again on top.
        self._local: dict[tuple[str, str], tuple[float, Callable[[], None]]] = {}
        self._loaded = asyncio.Event()
        self._first_load = asyncio.Lock()

    async def ready(self) -> None:
        async with self._first_load:
            if not self._loaded.is_set():
                await self.reload()

    async def reload(self) -> None:
        started = time.monotonic()
        templates, locations, service_types = [await all_of(r) for r in self._repos]
        busy = await self._appointments.holding_after(utcnow() - timedelta(minutes=5))
        self.templates = {t.id: t for t in templates}
        self.locations = {loc.id: loc for loc in locations}
        self.service_types = {s.id: s for s in service_types}
        self._busy = {a.id: Busy.of(a) for a in busy}
        self._local = {k: v for k, v in self._local.items() if v[0] >= started}
        for _, apply in self._local.values():
            apply()
        self._index = None
        self._loaded.set()

    async def run(self) -> None:
        """Background task: reload every ``refresh_seconds``."""
        while True:
            try:
                await self.reload()
            except Exception:  # noqa: BLE001 - keep serving the last copy; try again next round
                log.exception("calendar reload failed")
            await asyncio.sleep(self.refresh_seconds)

    def _apply(self, kind: str, key: str, apply: Callable[[], None]) -> None:
        apply()
        self._local[(kind, key)] = (time.monotonic(), apply)

    def put(self, item: Template | Location | ServiceType) -> None:
        name = ("templates" if isinstance(item, Template)
                else "locations" if isinstance(item, Location) else "service_types")
        self._apply(name, item.id, lambda: getattr(self, name).__setitem__(item.id, item))

    def appointment(self, appt: Appointment) -> None:
        """An appointment changed here: it holds time, or no longer does."""
        busy = Busy.of(appt) if appt.holds_slot else None

        def apply() -> None:
            if busy is None:
                self._busy.pop(appt.id, None)
            else:
                self._busy[appt.id] = busy
            self._index = None

        self._apply("Appointment", appt.id, apply)

    def calendar(self) -> Calendar:
        if self._index is None:
            self._index = BusyIndex(self._busy.values())
        return Calendar(templates=list(self.templates.values()), locations=self.locations,
                        service_types=self.service_types, busy=self._index)
