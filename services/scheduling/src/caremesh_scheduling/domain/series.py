"""Recurring series: the rule, its occurrences, and which ones a cancellation reaches.
Pure Python: no I/O.

Occurrences keep their wall-clock time in the location's zone, so a weekly 09:00 visit stays at
09:00 across a DST change (its UTC time moves by the hour). Each occurrence becomes a normal
appointment linked to the series; one that cannot be booked is reported, not fatal.
"""

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator

from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Invalid

MAX_OCCURRENCES = 104  # two years of weekly visits


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


class Recurrence(BaseModel):
    frequency: Frequency
    interval: int = Field(default=1, ge=1, le=52, description="every N days or weeks")
    count: int | None = Field(default=None, ge=1, le=MAX_OCCURRENCES)
    until: date | None = Field(default=None, description="last possible date, in the location's zone")

    @model_validator(mode="after")
    def _end(self) -> "Recurrence":
        if (self.count is None) == (self.until is None):
            raise ValueError("give either count or until")
        return self


def occurrences(first_start: datetime, rule: Recurrence, time_zone: str) -> list[datetime]:
    """The start of each occurrence, the first included, in UTC-aware datetimes."""
    zone = ZoneInfo(time_zone)
    local = first_start.astimezone(zone).replace(tzinfo=None)  # wall-clock time in the zone
    step = timedelta(days=rule.interval * (7 if rule.frequency is Frequency.WEEKLY else 1))
    if rule.until is not None and rule.until < local.date():
        raise Invalid("until is before the first occurrence", field="recurrence.until")
    out: list[datetime] = []
    while len(out) < (rule.count or MAX_OCCURRENCES + 1):
        if rule.until is not None and local.date() > rule.until:
            break
        out.append(_resolve(local, zone))
        local += step
    if len(out) > MAX_OCCURRENCES:
        raise Invalid(f"a series has at most {MAX_OCCURRENCES} occurrences", field="recurrence.until")
    return out


def _resolve(wall: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in ``zone`` as an instant. fold=0 takes the earlier instant of a repeated
    hour, and moves a time in a skipped hour forward by the gap (02:30 becomes 03:30)."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


class Scope(StrEnum):
    ONE = "one"
    FOLLOWING = "following"  # this occurrence and every later one
    ALL = "all"


class Occurrence(BaseModel):
    index: int
    start: datetime
    appointment_id: str | None = None  # None: not booked (see ``conflict``)
    conflict: str | None = None


class Series(Aggregate):
    patient_id: str
    practitioner_id: str
    service_code: str
    time_zone: str
    location_id: str = ""
    service_type_id: str = ""
    recurrence: Recurrence
    occurrences: list[Occurrence]
    created_by: str
    created_at: datetime

    def booked(self) -> list[Occurrence]:
        return [o for o in self.occurrences if o.appointment_id]

    def conflicts(self) -> list[Occurrence]:
        return [o for o in self.occurrences if o.conflict]

    def reach(self, scope: Scope, appointment_id: str | None) -> list[str]:
        """The appointments a cancellation of ``scope`` reaches, from ``appointment_id`` (not
        needed for ``all``)."""
        booked = self.booked()
        if scope is Scope.ALL:
            return [o.appointment_id for o in booked if o.appointment_id]
        pivot = next((o for o in booked if o.appointment_id == appointment_id), None)
        if pivot is None:
            raise Invalid(
                f"appointment {appointment_id} is not an occurrence of series {self.id}", field="appointment_id"
            )
        if scope is Scope.ONE:
            return [appointment_id] if appointment_id else []
        return [o.appointment_id for o in booked if o.index >= pivot.index and o.appointment_id]
