"""A recipient's preferences: channels in order, language, quiet hours and opt-outs. Pure Python."""

import re
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator, model_validator

from caremesh_kit.aggregate import Aggregate
from caremesh_kit.types import TimeZoneName


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"  # a push to the patient's app


class Category(StrEnum):
    """What a message is about; a recipient may opt out of each (not of required messages)."""

    APPOINTMENTS = "appointments"
    REMINDERS = "reminders"
    CARE_PLAN = "care_plan"
    INSURANCE = "insurance"
    SURVEYS = "surveys"


# Without stored preferences: email first, as before channels had a choice; SMS when there is no email.
DEFAULT_CHANNELS = (Channel.EMAIL, Channel.SMS)
DEFAULT_LANGUAGE = "en"
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_BCP47 = r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$"


class QuietHours(BaseModel):
    """A daily window, in wall-clock time of the recipient's zone, when nothing is sent.

    ``start`` after ``end`` spans midnight (22:00-07:00). Stored as "HH:MM" (BSON has no time).
    """

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError("must be HH:MM (24-hour)")
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> "QuietHours":
        if self.start == self.end:
            raise ValueError("start and end must differ")
        return self

    def _times(self) -> tuple[time, time]:
        return time.fromisoformat(self.start), time.fromisoformat(self.end)

    def is_quiet(self, at: datetime, tz: ZoneInfo) -> bool:
        start, end = self._times()
        t = at.astimezone(tz).time().replace(tzinfo=None)
        return start <= t < end if start < end else (t >= start or t < end)

    def next_allowed(self, at: datetime, tz: ZoneInfo) -> datetime:
        """``at`` itself if it is outside the window, else the first instant the window ends (UTC)."""
        if not self.is_quiet(at, tz):
            return at
        start, end = self._times()
        local = at.astimezone(tz)
        day = local.date()
        if start > end and local.time().replace(tzinfo=None) >= start:
            day += timedelta(days=1)  # in the evening part of a window that ends tomorrow
        return first_instant(day, end, tz)


def first_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The first UTC instant at which the clock in ``tz`` shows ``wall`` or later on ``day``.

    An ambiguous time (clocks going back) is its first occurrence; a time that does not exist
    (clocks going forward) becomes the moment of the jump, when the clock passes it.
    """
    naive = datetime.combine(day, wall)
    early = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    for candidate in sorted({early, late}):
        if candidate.astimezone(tz).replace(tzinfo=None) == naive:
            return candidate
    # In a gap: the offset changes between the two readings; bisect (whole seconds) to the jump.
    lo, hi = int(min(early, late).timestamp()), int(max(early, late).timestamp())
    after = datetime.fromtimestamp(hi, UTC).astimezone(tz).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


class PreferencesIn(BaseModel):
    """What a patient or a coordinator sets for one recipient."""

    channels: list[Channel] = Field(default_factory=lambda: list(DEFAULT_CHANNELS), min_length=1)
    language: str = Field(default=DEFAULT_LANGUAGE, pattern=_BCP47, max_length=35)
    quiet_hours: QuietHours | None = None
    time_zone: TimeZoneName | None = None  # overrides the zone records gave, for quiet hours and times
    opt_outs: list[Category] = Field(default_factory=list)

    @field_validator("channels", "opt_outs")
    @classmethod
    def _unique(cls, v: list[StrEnum]) -> list[StrEnum]:
        if len(set(v)) != len(v):
            raise ValueError("must not repeat a value")
        return v


class Preferences(Aggregate, PreferencesIn):
    """One recipient's preferences; the id is the recipient's (a patient's or a related person's)."""

    patient_id: str
    updated_by: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def defaults(cls, recipient_id: str, patient_id: str) -> "Preferences":
        return cls(id=recipient_id, patient_id=patient_id)

    def update(self, new: PreferencesIn, by: str, now: datetime) -> bool:
        if PreferencesIn.model_validate(self.model_dump(include=set(PreferencesIn.model_fields))) == new:
            return False
        for name in PreferencesIn.model_fields:
            setattr(self, name, getattr(new, name))
        self.updated_by, self.updated_at = by, now
        return True

    def opted_out(self, category: Category | str) -> bool:
        return category in self.opt_outs

    def zone(self, fallback: str) -> ZoneInfo:
        return ZoneInfo(self.time_zone or fallback)

    def next_allowed(self, at: datetime, fallback_zone: str) -> datetime:
        """When this recipient may be messaged, at ``at`` or later: for schedulers (reminders)."""
        if self.quiet_hours is None:
            return at
        return self.quiet_hours.next_allowed(at, self.zone(fallback_zone))
