"""Field types shared by services' models."""

import re
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema


def _check_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_time_zone)]


def text_only(value: Any) -> Any:
    """Pydantic would read a number (or, in a query, a numeric string) as seconds since 1970 for a
    date or a datetime, and since midnight for a time: only ISO 8601 text is taken here."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        raise ValueError("must be an ISO 8601 string, not a number")
    return value


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
MIN_YEAR, MAX_YEAR = 1900, 2199


def _plausible(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31")
    return value


def _wall_clock(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a local wall-clock time has no UTC offset (HH:MM or HH:MM:SS)")
    return value


ISO_DATE = r"^(19[0-9]{2}|2[01][0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
WALL_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"

# A calendar date given as YYYY-MM-DD (never a number), in the years a record can be about.
CalendarDate = Annotated[
    date,
    BeforeValidator(text_only),
    AfterValidator(_plausible),
    WithJsonSchema({"type": "string", "format": "date", "pattern": ISO_DATE}),
]
# A local wall-clock time, HH:MM[:SS], with no UTC offset: it is read in the zone of the place
# it is about (a location, a patient), which the time itself cannot carry across DST.
WallClockTime = Annotated[
    time,
    BeforeValidator(text_only),
    AfterValidator(_wall_clock),
    PlainSerializer(lambda t: t.isoformat(), return_type=str),  # BSON has no time of day
    WithJsonSchema({"type": "string", "pattern": WALL_CLOCK, "description": "HH:MM[:SS], no UTC offset"}),
]
# An instant as ISO 8601 text (never a number of seconds).
Instant = Annotated[datetime, BeforeValidator(text_only)]
