"""Availability search over derived slots. Pure Python: the caller hands in the calendar.

Results are ordered by start, then practitioner, location and service type, and paged with an
opaque cursor (the key of the last result). The search walks UTC days, so a page only derives
the days it needs, and results from locations in different zones interleave in real time.
"""

import base64
import heapq
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from caremesh_kit.errors import Invalid
from caremesh_scheduling.domain.appointments import Appointment
from caremesh_scheduling.domain.calendar import Location, ServiceType, Template, TemplateSpec
from caremesh_scheduling.domain.coverage import PatientCoverage
from caremesh_scheduling.domain.slots import Slot, Span, slots_in, spans

Key = tuple[datetime, str, str, str]  # start, practitioner, location, service type
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
MICRO = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CACHE_LIMIT = 200_000  # template days (of one slot duration) kept across searches

# A template's slots of one duration on a local date, in start order: their starts (epoch seconds)
# and their rooms (one room for all, or each slot's).
Derived = tuple["array[int]", str | tuple[str, ...]]  # quoted: array is subscriptable at run time from 3.12
# Derived slots kept across searches, by template id and version, local date and duration.
DerivedCache = MutableMapping[tuple[str, int, date, int], Derived]


@dataclass(frozen=True)
class Busy:
    """Time an appointment holds: the practitioner's and room's with buffers, the patient's without."""

    appointment_id: str
    practitioner_id: str
    location_id: str
    room: str | None
    patient_id: str
    start: datetime
    end: datetime
    footprint_start: datetime
    footprint_end: datetime

    @classmethod
    def of(cls, a: Appointment) -> "Busy":
        fp_start, fp_end = a.footprint
        return cls(a.id, a.practitioner_id, a.location_id, a.room, a.patient_id, a.start, a.end, fp_start, fp_end)


class BusyIndex:
    """Per resource, intervals sorted by start with a running maximum of their ends: an overlap
    test is one bisection, even if stale data left two intervals overlapping."""

    def __init__(self, entries: Iterable[Busy] = ()) -> None:
        spans: dict[str, list[tuple[datetime, datetime]]] = {}
        for b in entries:
            spans.setdefault(f"pr:{b.practitioner_id}", []).append((b.footprint_start, b.footprint_end))
            if b.room:
                spans.setdefault(f"room:{b.location_id}/{b.room}", []).append((b.footprint_start, b.footprint_end))
            spans.setdefault(f"pat:{b.patient_id}", []).append((b.start, b.end))
        self._index: dict[str, tuple[list[datetime], list[datetime]]] = {}
        for key, intervals in spans.items():
            intervals.sort()
            self._index[key] = ([s for s, _ in intervals], list(accumulate((e for _, e in intervals), max)))

    def overlaps(self, key: str, start: datetime, end: datetime) -> bool:
        found = self._index.get(key)
        if found is None:
            return False
        starts, max_ends = found
        i = bisect_left(starts, end)  # intervals [0, i) start before ``end``
        return i > 0 and max_ends[i - 1] > start


@dataclass(frozen=True)
class Query:
    from_date: date  # local dates at each location, inclusive
    to_date: date
    service_type_id: str | None = None
    practitioner_id: str | None = None
    location_id: str | None = None
    time_from: time | None = None  # local wall-clock: the slot starts at or after
    time_to: time | None = None  # and ends at or before
    patient_id: str | None = None
    limit: int = 20
    after: Key | None = None


@dataclass(frozen=True)
class Calendar:
    """What a search reads: templates, locations, service types and the time already held."""

    templates: Iterable[Template]
    locations: Mapping[str, Location]
    service_types: Mapping[str, ServiceType]
    busy: BusyIndex = field(default_factory=BusyIndex)
    # What each filter of templates and services selects, worked out once per calendar (a caller
    # that keeps the calendar between searches keeps these too).
    _plans: dict[tuple[object, ...], list["_Plan"]] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class _Plan:
    template: Template
    location: Location
    tz: ZoneInfo
    services: list[ServiceType]


Candidate = tuple[Key, _Plan, ServiceType, Span]  # a slot before the busy check


def encode_cursor(key: Key) -> str:
    raw = "|".join([key[0].astimezone(UTC).isoformat(), *key[1:]])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        start, practitioner, location, service = raw.split("|")
        at = datetime.fromisoformat(start)
        if at.tzinfo is None:
            raise ValueError(raw)
        return at, practitioner, location, service
    except ValueError:
        raise Invalid("not a cursor from an earlier page", field="cursor") from None


def _plans(cal: Calendar, q: Query) -> list[_Plan]:
    key = (q.service_type_id, q.practitioner_id, q.location_id)
    found = cal._plans.get(key)
    if found is None:
        found = cal._plans[key] = _select(cal, q)
    return found


def _select(cal: Calendar, q: Query) -> list[_Plan]:
    plans = []
    for t in cal.templates:
        if q.practitioner_id and t.practitioner_id != q.practitioner_id:
            continue
        if q.location_id and t.location_id != q.location_id:
            continue
        location = cal.locations.get(t.location_id)
        services = [
            cal.service_types[s]
            for s in t.spec.service_type_ids
            if s in cal.service_types and q.service_type_id in (None, s)
        ]
        if location is not None and services:
            plans.append(_Plan(t, location, ZoneInfo(location.time_zone), services))
    return plans


def search(
    cal: Calendar, q: Query, now: datetime, coverage: PatientCoverage | None = None, cache: DerivedCache | None = None
) -> tuple[list[Slot], str | None]:
    """Free slots matching ``q``, and the cursor of the next page (None on the last page).

    With a patient, only dates and services the patient's known coverage allows, and only times
    the patient is free; a patient with no known coverage gets nothing. ``cache`` may keep each
    template's slots per day across searches (keyed by template version)."""
    if q.patient_id and coverage is None:
        return [], None
    walk = _Walk(_plans(cal, q), q, now, coverage, {} if cache is None else cache)
    found: list[tuple[Key, Slot]] = []
    day = q.from_date - DAY  # UTC days that may hold local dates of the range, in any zone
    if q.after is not None:
        day = max(day, q.after[0].astimezone(UTC).date())
    while day <= q.to_date + DAY:
        lo = datetime.combine(day, time(), UTC)
        day += DAY
        if lo + DAY <= now:
            continue
        for key, plan, service, span in walk.candidates(lo):
            if _free(cal.busy, plan, span, q):
                found.append((key, _slot(plan, service, span)))
                if len(found) > q.limit:
                    return [s for _, s in found[: q.limit]], encode_cursor(found[q.limit - 1][0])
    return [s for _, s in found], None


def _seconds(at: datetime) -> int:
    """Whole seconds since the epoch, rounded down (exact: no float)."""
    return (at - EPOCH) // SECOND


def derive(spec: TemplateSpec, tz: ZoneInfo, day: date, duration_minutes: int) -> Derived:
    """``slots_in``'s slots, as kept across searches (an equal start keeps the order derived)."""
    found = sorted(
        ((_seconds(s.start), s.room) for s in slots_in(spans(spec, tz, day), spec, duration_minutes)), key=itemgetter(0)
    )
    rooms = {room for _, room in found}
    return array("q", (start for start, _ in found)), (
        rooms.pop() if len(rooms) == 1 else tuple(room for _, room in found)
    )


def derived_slots(cache: DerivedCache, template: Template, tz: ZoneInfo, day: date, duration_minutes: int) -> Derived:
    """``derive``, kept in ``cache`` by template version (locations, and so zones, never change)."""
    key = (template.id, template.version, day, duration_minutes)
    found = cache.get(key)
    if found is None:
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        found = cache[key] = derive(template.spec, tz, day, duration_minutes)
    return found


class _Walk:
    """One search's pass over UTC days, remembering what it derived."""

    def __init__(
        self, plans: list[_Plan], q: Query, now: datetime, coverage: PatientCoverage | None, cache: DerivedCache
    ) -> None:
        self.plans, self.q, self.now, self.coverage, self.cache = plans, q, now, coverage, cache
        self.zones = {p.tz.key: p.tz for p in plans}
        self.codes = {s.code for p in plans for s in p.services}
        self._allowed: dict[tuple[date, str], bool] = {}
        self._open: dict[date, bool] = {}
        self._not_after = _seconds(now)  # a slot must start after now: at a later whole second
        # After the cursor: a slot of a greater (practitioner, location, service) from the cursor's
        # start on (its whole second rounded up), any other after it (rounded down).
        self._after = (
            None if q.after is None else (-((EPOCH - q.after[0]) // SECOND), _seconds(q.after[0]), q.after[1:])
        )

    def allows(self, day: date, code: str) -> bool:
        if self.coverage is None:
            return True
        found = self._allowed.get((day, code))
        if found is None:
            found = self._allowed[(day, code)] = self.coverage.allows(day, code)
        return found

    def open(self, day: date) -> bool:
        """Whether the local date is asked for and the coverage (if any) allows a service on it."""
        found = self._open.get(day)
        if found is None:
            q = self.q
            found = self._open[day] = q.from_date <= day <= q.to_date and any(self.allows(day, c) for c in self.codes)
        return found

    def candidates(self, lo: datetime) -> Iterator[Candidate]:
        """Slots starting in the UTC day [lo, lo + 1 day), before the busy check, in key order.

        Each template's slots of one service on one local date are in start order (derived once
        per template version), so each is cut to the day, to after now and to after the cursor
        by bisection, and the runs are merged lazily: a page derives little more than it
        returns. Equal keys come in the order the runs were made, as a stable sort gives them."""
        hi, utc_day = lo + DAY, lo.date()
        if not (self.open(utc_day - DAY) or self.open(utc_day) or self.open(utc_day + DAY)):
            return  # no zone is more than a day off UTC
        local_days = {
            name: [d for d in sorted({lo.astimezone(tz).date(), (hi - MICRO).astimezone(tz).date()}) if self.open(d)]
            for name, tz in self.zones.items()
        }
        if not any(local_days.values()):
            return
        lo_s, hi_s, after = _seconds(lo), _seconds(hi), self._after
        heap: list[tuple[Any, ...]] = []
        for plan in self.plans:
            t = plan.template
            for day in local_days[plan.tz.key]:
                for service in plan.services:
                    if not self.allows(day, service.code):
                        continue
                    derived = derived_slots(self.cache, t, plan.tz, day, service.duration_minutes)
                    starts = derived[0]
                    i = max(bisect_left(starts, lo_s), bisect_right(starts, self._not_after))
                    j = bisect_left(starts, hi_s)
                    if after is not None:
                        rest = (t.practitioner_id, t.location_id, service.id)
                        i = max(i, bisect_left(starts, after[0]) if rest > after[2] else bisect_right(starts, after[1]))
                    if i < j:
                        heap.append(
                            (
                                starts[i],
                                t.practitioner_id,
                                t.location_id,
                                service.id,
                                len(heap),
                                i,
                                j,
                                derived,
                                plan,
                                service,
                            )
                        )
        heapq.heapify(heap)
        while heap:
            start_s, practitioner, location, service_id, n, i, j, derived, plan, service = heap[0]
            start = EPOCH + timedelta(seconds=start_s)
            rooms = derived[1]
            yield (
                (start, practitioner, location, service_id),
                plan,
                service,
                Span(
                    start,
                    start + timedelta(minutes=service.duration_minutes),
                    rooms if isinstance(rooms, str) else rooms[i],
                ),
            )
            if i + 1 < j:
                heapq.heapreplace(
                    heap, (derived[0][i + 1], practitioner, location, service_id, n, i + 1, j, derived, plan, service)
                )
            else:
                heapq.heappop(heap)


def _free(busy: BusyIndex, plan: _Plan, span: Span, q: Query) -> bool:
    if q.time_from is not None and span.start.astimezone(plan.tz).time() < q.time_from:
        return False
    if q.time_to is not None and span.end.astimezone(plan.tz).time() > q.time_to:
        return False
    spec, t = plan.template.spec, plan.template
    fp_start = span.start - timedelta(minutes=spec.buffer_before_minutes)
    fp_end = span.end + timedelta(minutes=spec.buffer_after_minutes)
    if busy.overlaps(f"pr:{t.practitioner_id}", fp_start, fp_end):
        return False
    if busy.overlaps(f"room:{t.location_id}/{span.room}", fp_start, fp_end):
        return False
    return not (q.patient_id and busy.overlaps(f"pat:{q.patient_id}", span.start, span.end))


def _slot(plan: _Plan, service: ServiceType, span: Span) -> Slot:
    spec = plan.template.spec
    return Slot(
        practitioner_id=plan.template.practitioner_id,
        location_id=plan.location.id,
        service_type_id=service.id,
        service_code=service.code,
        room=span.room,
        start=span.start,
        end=span.end,
        buffer_before=timedelta(minutes=spec.buffer_before_minutes),
        buffer_after=timedelta(minutes=spec.buffer_after_minutes),
        time_zone=plan.location.time_zone,
    )
