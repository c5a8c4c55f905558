"""Availability search over derived slots. Pure Python: the caller hands in the calendar.

Results are ordered by start, then practitioner, location and service type, and paged with an
opaque cursor (the key of the last result). The search walks UTC days, so a page only derives
the days it needs, and results from locations in different zones interleave in real time.
"""

import base64
from bisect import bisect_left
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from caremesh_kit.errors import Invalid

from caremesh_scheduling.domain.appointments import Appointment
from caremesh_scheduling.domain.calendar import Location, ServiceType, Template
from caremesh_scheduling.domain.coverage import PatientCoverage
from caremesh_scheduling.domain.slots import Slot, Span, slots_in, spans

Key = tuple[datetime, str, str, str]  # start, practitioner, location, service type
DAY = timedelta(days=1)
MICRO = timedelta(microseconds=1)
CACHE_LIMIT = 200_000  # template days kept across searches


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


@dataclass(frozen=True)
class _Plan:
    template: Template
    location: Location
    tz: ZoneInfo
    services: list[ServiceType]


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
    plans = []
    for t in cal.templates:
        if q.practitioner_id and t.practitioner_id != q.practitioner_id:
            continue
        if q.location_id and t.location_id != q.location_id:
            continue
        location = cal.locations.get(t.location_id)
        services = [cal.service_types[s] for s in t.spec.service_type_ids
                    if s in cal.service_types and q.service_type_id in (None, s)]
        if location is not None and services:
            plans.append(_Plan(t, location, ZoneInfo(location.time_zone), services))
    return plans


def search(cal: Calendar, q: Query, now: datetime, coverage: PatientCoverage | None = None,
           cache: MutableMapping | None = None) -> tuple[list[Slot], str | None]:
    """Free slots matching ``q``, and the cursor of the next page (None on the last page).

    With a patient, only dates and services the patient's known coverage allows, and only times
    the patient is free; a patient with no known coverage gets nothing. ``cache`` may keep each
    template's bookable time per day across searches (keyed by template version)."""
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
        for key, plan, service, span in sorted(walk.candidates(lo), key=lambda c: c[0]):
            if _free(cal.busy, plan, span, q):
                found.append((key, _slot(plan, service, span)))
                if len(found) > q.limit:
                    return [s for _, s in found[:q.limit]], encode_cursor(found[q.limit - 1][0])
    return [s for _, s in found], None


class _Walk:
    """One search's pass over UTC days, remembering what it derived."""

    def __init__(self, plans: list[_Plan], q: Query, now: datetime, coverage: PatientCoverage | None,
                 cache: MutableMapping) -> None:
        self.plans, self.q, self.now, self.coverage, self.cache = plans, q, now, coverage, cache
        self.zones = {p.tz.key: p.tz for p in plans}
        self.codes = {s.code for p in plans for s in p.services}
        self._allowed: dict[tuple[date, str], bool] = {}

    def allows(self, day: date, code: str) -> bool:
        if self.coverage is None:
            return True
        found = self._allowed.get((day, code))
        if found is None:
            found = self._allowed[(day, code)] = self.coverage.allows(day, code)
        return found

    def bookable(self, plan: _Plan, day: date) -> list[Span]:
        t = plan.template
        key = (t.id, t.version, day)
        found = self.cache.get(key)
        if found is None:
            if len(self.cache) > CACHE_LIMIT:
                self.cache.clear()
            found = self.cache[key] = spans(t.spec, plan.tz, day)
        return found

    def candidates(self, lo: datetime) -> list[tuple[Key, _Plan, ServiceType, Span]]:
        """Slots starting in the UTC day [lo, lo + 1 day), before the busy check."""
        q, hi = self.q, lo + DAY
        local_days = {name: [d for d in sorted({lo.astimezone(tz).date(), (hi - MICRO).astimezone(tz).date()})
                             if q.from_date <= d <= q.to_date and any(self.allows(d, c) for c in self.codes)]
                      for name, tz in self.zones.items()}
        out: list[tuple[Key, _Plan, ServiceType, Span]] = []
        if not any(local_days.values()):
            return out
        for plan in self.plans:
            t = plan.template
            for day in local_days[plan.tz.key]:
                services = [s for s in plan.services if self.allows(day, s.code)]
                if not services:
                    continue
                bookable = self.bookable(plan, day)
                for service in services:
                    for span in slots_in(bookable, t.spec, service.duration_minutes):
                        if lo <= span.start < hi and span.start > self.now:
                            key = (span.start, t.practitioner_id, t.location_id, service.id)
                            if q.after is None or key > q.after:
                                out.append((key, plan, service, span))
        return out


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
    return Slot(practitioner_id=plan.template.practitioner_id, location_id=plan.location.id,
                service_type_id=service.id, service_code=service.code, room=span.room, start=span.start,
                end=span.end, buffer_before=timedelta(minutes=spec.buffer_before_minutes),
                buffer_after=timedelta(minutes=spec.buffer_after_minutes), time_zone=plan.location.time_zone)
