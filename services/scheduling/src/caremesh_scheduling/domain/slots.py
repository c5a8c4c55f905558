"""Slots derived from availability templates, and the claims that keep bookings apart. Pure Python.

Templates are in the location's wall-clock time. Each day's windows become UTC instants through
the location's IANA zone, so a 09:00 window is 09:00 local on both sides of a DST change. On the
change itself, a window is as long as the real time between its ends: a local time that does
not exist (spring forward) resolves past the gap, and one that occurs twice (fall back) means its
first occurrence. Slots then step in real time.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from caremesh_kit.errors import Invalid
from caremesh_scheduling.domain.calendar import STEP_MINUTES, ServiceType, TemplateSpec

BUCKET = timedelta(minutes=STEP_MINUTES)
_ID_TIME = "%Y%m%dT%H%MZ"


@dataclass(frozen=True)
class Span:
    """A stretch of bookable time in one room: [start, end) in UTC."""

    start: datetime
    end: datetime
    room: str


@dataclass(frozen=True)
class SlotRef:
    """What a booking names: practitioner, location, service type and start."""

    practitioner_id: str
    location_id: str
    service_type_id: str
    start: datetime

    @classmethod
    def of(cls, slot_id: str) -> "SlotRef":
        return cls(*parse_slot_id(slot_id))


@dataclass(frozen=True)
class Slot:
    """A bookable slot: who, where, what and when, with the buffers that go around it."""

    practitioner_id: str
    location_id: str
    service_type_id: str
    service_code: str
    room: str
    start: datetime
    end: datetime
    buffer_before: timedelta
    buffer_after: timedelta
    time_zone: str

    @property
    def id(self) -> str:
        return slot_id(self.practitioner_id, self.location_id, self.service_type_id, self.start)


def at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time (fold 0: see the module docstring)."""
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def spans(spec: TemplateSpec, tz: ZoneInfo, day: date) -> list[Span]:
    """The template's bookable time on a local date: its windows minus any time off."""
    if not spec.valid_on(day):
        return []
    off = [e for e in spec.exceptions if e.covers(day)]
    if any(e.whole_day for e in off):
        return []
    # None is whole-day here (that returned above): each has both times.
    cuts = sorted(
        (at(day, e.start_time, tz), at(day, e.end_time, tz))
        for e in off
        if e.start_time is not None and e.end_time is not None
    )
    out: list[Span] = []
    for w in spec.weekly:
        if w.day.number != day.weekday():
            continue
        pieces = [(at(day, w.start, tz), at(day, w.end, tz))]
        for cut_start, cut_end in cuts:
            pieces = [p for a, b in pieces for p in ((a, min(b, cut_start)), (max(a, cut_end), b)) if p[0] < p[1]]
        out += [Span(a, b, w.room) for a, b in pieces]
    return sorted(out, key=lambda s: s.start)


def day_slots(spec: TemplateSpec, tz: ZoneInfo, day: date, duration_minutes: int) -> Iterator[Span]:
    """Slot times on a local date: each slot with its buffers fits in the bookable time, and
    starts follow ``slot_interval_minutes`` (default: back to back) from the start of each span."""
    return slots_in(spans(spec, tz, day), spec, duration_minutes)


def slots_in(bookable: list[Span], spec: TemplateSpec, duration_minutes: int) -> Iterator[Span]:
    before = timedelta(minutes=spec.buffer_before_minutes)
    after = timedelta(minutes=spec.buffer_after_minutes)
    duration = timedelta(minutes=duration_minutes)
    step = timedelta(minutes=spec.slot_interval_minutes) if spec.slot_interval_minutes else before + duration + after
    for span in bookable:
        start = span.start + before
        while start + duration + after <= span.end:
            yield Span(start, start + duration, span.room)
            start += step


def slot_at(spec: TemplateSpec, tz: ZoneInfo, duration_minutes: int, start: datetime) -> Span | None:
    """The derived slot that starts at ``start``, if the template offers one."""
    local_day = start.astimezone(tz).date()
    for day in (local_day, local_day - timedelta(days=1)):  # a gap can push a window's start past midnight
        for s in day_slots(spec, tz, day, duration_minutes):
            if s.start == start:
                return s
            if s.start > start:
                break
    return None


def fits(
    spec: TemplateSpec, tz: ZoneInfo, service_type_id: str, start: datetime, end: datetime, room: str | None
) -> str | None:
    """Why an existing booking ([start, end) with its buffers) is outside the template, or None."""
    if service_type_id not in spec.service_type_ids:
        return "service_not_offered"
    local_day = start.astimezone(tz).date()
    for day in (local_day, local_day - timedelta(days=1)):
        for s in spans(spec, tz, day):
            if s.start <= start and end <= s.end:
                return None if room in (None, s.room) else "room_changed"
    return "outside_availability"


def offered(
    spec: TemplateSpec, practitioner_id: str, location_id: str, tz_name: str, service: ServiceType, start: datetime
) -> Slot | None:
    """The bookable slot at ``start`` for this service, or None when the template has none."""
    if service.id not in spec.service_type_ids:
        return None
    found = slot_at(spec, ZoneInfo(tz_name), service.duration_minutes, start)
    if found is None:
        return None
    return Slot(
        practitioner_id=practitioner_id,
        location_id=location_id,
        service_type_id=service.id,
        service_code=service.code,
        room=found.room,
        start=found.start,
        end=found.end,
        buffer_before=timedelta(minutes=spec.buffer_before_minutes),
        buffer_after=timedelta(minutes=spec.buffer_after_minutes),
        time_zone=tz_name,
    )


# -- slot ids ----------------------------------------------------------------------------------


def slot_id(practitioner_id: str, location_id: str, service_type_id: str, start: datetime) -> str:
    """Opaque to clients; encodes what a booking needs (ids never contain dots)."""
    return f"{practitioner_id}.{location_id}.{service_type_id}.{start.astimezone(UTC).strftime(_ID_TIME)}"


def parse_slot_id(value: str) -> tuple[str, str, str, datetime]:
    parts = value.split(".")
    try:
        if len(parts) != 4 or not all(parts[:3]):
            raise ValueError(value)
        return parts[0], parts[1], parts[2], datetime.strptime(parts[3], _ID_TIME).replace(tzinfo=UTC)
    except ValueError:
        raise Invalid("not a slot id from the availability search", field="slot_id") from None


# -- claims ------------------------------------------------------------------------------------


def buckets(start: datetime, end: datetime) -> list[datetime]:
    """The five-minute buckets [start, end) touches, rounded outwards (never missing an overlap)."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    first = epoch + (start - epoch) // BUCKET * BUCKET
    out = []
    while first < end:
        out.append(first)
        first += BUCKET
    return out


@dataclass(frozen=True)
class Claim:
    """One resource's five-minute bucket; its id is unique in the store."""

    kind: str  # practitioner, room or patient
    id: str
    bucket: datetime


def claims_for(
    practitioner_id: str,
    location_id: str,
    room: str | None,
    patient_id: str,
    start: datetime,
    end: datetime,
    before: timedelta,
    after: timedelta,
) -> list[Claim]:
    """The practitioner and the room are held for the visit and its buffers, the patient for the
    visit alone. Sorted by day, then id: the order every request claims in, so waits cannot
    deadlock."""
    held = buckets(start - before, end + after)
    out = [Claim("practitioner", f"pr:{practitioner_id}:{b:%Y%m%dT%H%M}", b) for b in held]
    if room:
        out += [Claim("room", f"room:{location_id}/{room}:{b:%Y%m%dT%H%M}", b) for b in held]
    out += [Claim("patient", f"pat:{patient_id}:{b:%Y%m%dT%H%M}", b) for b in buckets(start, end)]
    return sorted(out, key=lambda c: (c.bucket.date(), c.id))
