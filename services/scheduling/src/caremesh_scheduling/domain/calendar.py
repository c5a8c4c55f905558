"""The calendar: practitioners, locations with rooms, service types and weekly availability
templates. Pure Python: no I/O.

Every time, duration and buffer is a multiple of five minutes: claims against double booking are
five-minute buckets (see ``slots.claim_ids``), so aligned times make them exact.
"""

from datetime import date, datetime, time
from enum import StrEnum
from itertools import pairwise
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, PlainSerializer, WithJsonSchema, model_validator

from caremesh_kit.aggregate import Aggregate
from caremesh_kit.codes import SERVICE_CODE
from caremesh_kit.errors import Invalid, NotFound
from caremesh_kit.types import TimeZoneName, text_only

# CPT (5 digits or 4 digits + letter) or HCPCS Level II (letter + 4 digits).
STEP_MINUTES = 5
ROOM_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
ON_STEP = r"^([01][0-9]|2[0-3]):[0-5][05](:00(\.0{1,6})?)?$"


def _on_step(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a local wall-clock time has no UTC offset (HH:MM)")
    if value.second or value.microsecond or value.minute % STEP_MINUTES:
        raise ValueError(f"must be on a {STEP_MINUTES}-minute boundary (HH:MM)")
    return value


def _minutes(value: int) -> int:
    if value % STEP_MINUTES:
        raise ValueError(f"must be a multiple of {STEP_MINUTES} minutes")
    return value


# Kept as "HH:MM" in documents and responses (BSON has no time of day).
LocalTime = Annotated[
    time,
    BeforeValidator(text_only),
    AfterValidator(_on_step),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": ON_STEP, "description": "HH:MM on a 5-minute step"}),
]
Minutes = Annotated[int, AfterValidator(_minutes)]


class PractitionerDetails(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    specialty: str | None = Field(default=None, max_length=200)
    # Kept for display; slots and the visit date follow the location's zone.
    time_zone: TimeZoneName = "UTC"


class Practitioner(Aggregate):
    details: PractitionerDetails


class Room(BaseModel):
    id: str = Field(pattern=ROOM_ID)
    name: str | None = Field(default=None, max_length=200)


class LocationDetails(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    time_zone: TimeZoneName = Field(description="IANA zone; templates are in its wall-clock time")
    rooms: list[Room] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _unique_rooms(self) -> "LocationDetails":
        ids = [r.id for r in self.rooms]
        if len(set(ids)) != len(ids):
            raise ValueError("room ids must be unique")
        return self


class Location(Aggregate):
    details: LocationDetails

    @property
    def time_zone(self) -> str:
        return self.details.time_zone

    @property
    def room_ids(self) -> set[str]:
        return {r.id for r in self.details.rooms}


class ServiceTypeDetails(BaseModel):
    code: str = Field(pattern=SERVICE_CODE, description="CPT/HCPCS code")
    name: str = Field(min_length=1, max_length=200)
    duration_minutes: Minutes = Field(ge=STEP_MINUTES, le=480)


class ServiceType(Aggregate):
    details: ServiceTypeDetails

    @property
    def code(self) -> str:
        return self.details.code

    @property
    def duration_minutes(self) -> int:
        return self.details.duration_minutes


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """Python's ``date.weekday()``: Monday is 0."""
        return _WEEKDAY_INDEX[self]


_WEEKDAY_INDEX = {d: i for i, d in enumerate(Weekday)}


class Window(BaseModel):
    """A weekly stretch of availability in one room, in the location's wall-clock time."""

    day: Weekday
    start: LocalTime
    end: LocalTime
    room: str = Field(pattern=ROOM_ID)

    @model_validator(mode="after")
    def _order(self) -> "Window":
        if self.end <= self.start:
            raise ValueError("end must be after start (windows do not cross midnight)")
        return self


class TimeOff(BaseModel):
    """Leave or a holiday: one day or a date range, whole days or the same hours on each day."""

    start_date: date
    end_date: date | None = Field(default=None, description="inclusive; defaults to start_date")
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    reason: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _shape(self) -> "TimeOff":
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        if (self.start_time is None) != (self.end_time is None):
            raise ValueError("give both start_time and end_time for part of a day, or neither")
        if self.start_time is not None and self.end_time is not None and self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self

    @property
    def last_date(self) -> date:
        return self.end_date or self.start_date

    @property
    def whole_day(self) -> bool:
        return self.start_time is None

    def covers(self, day: date) -> bool:
        return self.start_date <= day <= self.last_date


class TemplateSpec(BaseModel):
    """A practitioner's weekly availability at one location."""

    service_type_ids: list[str] = Field(min_length=1, max_length=50)
    weekly: list[Window] = Field(default_factory=list, max_length=200)
    exceptions: list[TimeOff] = Field(default_factory=list, max_length=1000)
    buffer_before_minutes: Minutes = Field(default=0, ge=0, le=240)
    buffer_after_minutes: Minutes = Field(default=0, ge=0, le=240)
    # Bounded before the step check: bounds after a validator on an optional field reach the
    # JSON Schema as unknown keywords ("ge"), and clients would not see them.
    slot_interval_minutes: Annotated[int, Field(ge=STEP_MINUTES, le=480), AfterValidator(_minutes)] | None = Field(
        default=None,
        description="minutes between slot starts; default: back to back (duration plus buffers)",
    )
    valid_from: date | None = None
    valid_until: date | None = Field(default=None, description="inclusive")

    @model_validator(mode="after")
    def _period(self) -> "TemplateSpec":
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until must not be before valid_from")
        return self

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


class Template(Aggregate):
    """Id: ``template_id(practitioner_id, location_id)``, so a pair has at most one."""

    practitioner_id: str
    location_id: str
    spec: TemplateSpec
    updated_at: datetime
    updated_by: str


def template_id(practitioner_id: str, location_id: str) -> str:
    return f"{practitioner_id}:{location_id}"


def check_template(spec: TemplateSpec, location: Location, service_types: dict[str, ServiceType]) -> None:
    """Rules that need the location and the service types; each error names its field."""
    seen: set[str] = set()
    for i, st in enumerate(spec.service_type_ids):
        if st in seen:
            raise Invalid(f"service type {st} is listed twice", field=f"service_type_ids.{i}")
        if st not in service_types:
            raise NotFound(f"ServiceType {st} not found", field=f"service_type_ids.{i}")
        seen.add(st)
    rooms = location.room_ids
    by_day: dict[Weekday, list[tuple[int, Window]]] = {}
    for i, w in enumerate(spec.weekly):
        if w.room not in rooms:
            raise Invalid(f"location {location.id} has no room {w.room}", field=f"weekly.{i}.room")
        by_day.setdefault(w.day, []).append((i, w))
    for windows in by_day.values():
        windows.sort(key=lambda iw: iw[1].start)
        for (_, a), (j, b) in pairwise(windows):
            if b.start < a.end:
                raise Invalid(f"overlaps another {b.day.value} window", field=f"weekly.{j}.start")
