"""The availability search's in-memory copy of the calendar.

Search derives slots from every matching template and checks each against the time already held,
which takes the whole calendar. FerretDB v1 answers any query but an ``_id`` lookup by scanning
its collection, so the copy is loaded once per ``calendar_refresh_seconds`` in the background
instead of per search. This process's own changes apply at once (and win over a load that was
already running); another replica's show within the refresh interval. Booking never trusts the
copy: the template is read from the store and the claims decide. The composition root runs
``refresh`` as a sweep.

Each template's slots are derived once per template version and day (ahead, after each load, for
the dates a search may ask) and kept across searches, so a search only picks from them.
"""

import asyncio
import time
from collections.abc import Callable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from caremesh_kit.clock import Clock
from caremesh_scheduling.domain import Appointment, Busy, BusyIndex, Calendar, Location, ServiceType, Template
from caremesh_scheduling.domain.availability import CACHE_LIMIT, DerivedCache, derived_slots
from caremesh_scheduling.store import AppointmentStore, CalendarStore, all_current

WARM_DAYS = range(-1, 93)  # days from today: local dates of a search's longest range (92 days) from yesterday


class CalendarView:
    def __init__(self, calendar: CalendarStore, appointments: AppointmentStore, clock: Clock) -> None:
        self._calendar_store = calendar
        self._appointments = appointments
        self.clock = clock
        self.templates: dict[str, Template] = {}
        self.locations: dict[str, Location] = {}
        self.service_types: dict[str, ServiceType] = {}
        self._busy: dict[str, Busy] = {}
        # Each template's slots per day and duration, kept across searches (keyed by template version).
        self.derived: DerivedCache = {}
        self._index: BusyIndex | None = None
        self._calendar: Calendar | None = None  # what searches read, until something changes
        self._warmed: dict[str, tuple[int, date]] = {}  # by template: the version and day last derived ahead
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
        store = self._calendar_store
        templates = await all_current(store.templates, self.templates)
        locations = await all_current(store.locations, self.locations)
        service_types = await all_current(store.service_types, self.service_types)
        busy = await self._appointments.busy_after(self.clock() - timedelta(minutes=5))
        self.templates = {t.id: t for t in templates}
        self.locations = {loc.id: loc for loc in locations}
        self.service_types = {s.id: s for s in service_types}
        previous, self._busy = self._busy, {b.appointment_id: b for b in busy}
        self._local = {k: v for k, v in self._local.items() if v[0] >= started}
        for _, apply in self._local.values():
            apply()
        if self._busy != previous:
            self._index = None  # the searches' index of the held time is built again
        self._calendar = None
        self._loaded.set()

    async def refresh(self) -> None:
        """The sweep: reload, and derive ahead what searches will ask."""
        await self.reload()
        await self.warm()

    async def warm(self) -> int:
        """Derive each template's slots (at its version) for the dates a search may ask from today on,
        unless the cache could not keep them all; a template at a time, so searches run in between,
        and once per template version and day. How many templates it derived."""
        today, done = self.clock().date(), 0
        plans = []
        for t in list(self.templates.values()):
            location = self.locations.get(t.location_id)
            durations = sorted(
                {self.service_types[s].duration_minutes for s in t.spec.service_type_ids if s in self.service_types}
            )
            if location is not None and durations:
                plans.append((t, ZoneInfo(location.time_zone), durations))
        if sum(len(d) for _, _, d in plans) * len(WARM_DAYS) > CACHE_LIMIT // 2:
            return 0  # searches derive what they need as they go
        for t, tz, durations in plans:
            if self._warmed.get(t.id) == (t.version, today) and (t.id, t.version, today, durations[0]) in self.derived:
                continue
            for n in WARM_DAYS:
                for minutes in durations:
                    derived_slots(self.derived, t, tz, today + timedelta(days=n), minutes)
            self._warmed[t.id] = (t.version, today)
            done += 1
            await asyncio.sleep(0)
        return done

    def _apply(self, kind: str, key: str, apply: Callable[[], None]) -> None:
        apply()
        self._calendar = None
        self._local[(kind, key)] = (time.monotonic(), apply)

    def put(self, item: Template | Location | ServiceType) -> None:
        name = (
            "templates"
            if isinstance(item, Template)
            else "locations"
            if isinstance(item, Location)
            else "service_types"
        )
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
            self._calendar = None
        if self._calendar is None:
            self._calendar = Calendar(
                templates=list(self.templates.values()),
                locations=self.locations,
                service_types=self.service_types,
                busy=self._index,
            )
        return self._calendar
