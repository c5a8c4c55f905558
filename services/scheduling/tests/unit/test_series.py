"""Recurring series: occurrences across DST, and what a cancellation reaches (pure)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from caremesh_kit.errors import Invalid
from caremesh_scheduling.domain.series import Occurrence, Recurrence, Scope, Series, occurrences


def weekly(**kw):
    return Recurrence.model_validate({"frequency": "weekly"} | kw)


@pytest.mark.parametrize(
    ("zone", "first", "before", "after"),
    [
        # New York falls back on 1 Nov 2026: 09:00 EDT is 13:00 UTC, 09:00 EST is 14:00 UTC.
        ("America/New_York", datetime(2026, 10, 26, 13, tzinfo=UTC), 13, 14),
        # Berlin falls back on 25 Oct 2026: 09:00 CEST is 07:00 UTC, 09:00 CET is 08:00 UTC.
        ("Europe/Berlin", datetime(2026, 10, 19, 7, tzinfo=UTC), 7, 8),
    ],
)
def test_weekly_keeps_the_local_time_across_the_autumn_change(zone, first, before, after):
    starts = occurrences(first, weekly(count=3), zone)
    assert [s.hour for s in starts] == [before, after, after]
    assert {s.astimezone(ZoneInfo(zone)).hour for s in starts} == {9}


def test_spring_forward_too():
    starts = occurrences(datetime(2026, 3, 2, 14, tzinfo=UTC), weekly(count=2), "America/New_York")
    assert [s.hour for s in starts] == [14, 13]  # 09:00 EST then 09:00 EDT


def test_a_time_in_the_skipped_hour_moves_forward():
    # Daily at 02:30 New York: 8 March 2026 has no 02:30.
    starts = occurrences(
        datetime(2026, 3, 7, 7, 30, tzinfo=UTC), Recurrence(frequency="daily", count=3), "America/New_York"
    )
    local = [s.astimezone(ZoneInfo("America/New_York")) for s in starts]
    assert [(d.day, d.hour, d.minute) for d in local] == [(7, 2, 30), (8, 3, 30), (9, 2, 30)]


def test_until_is_inclusive_and_interval_steps():
    starts = occurrences(datetime(2026, 1, 5, 9, tzinfo=UTC), weekly(interval=2, until="2026-02-02"), "UTC")
    assert [s.date() for s in starts] == [date(2026, 1, 5), date(2026, 1, 19), date(2026, 2, 2)]


def test_daily_count():
    starts = occurrences(datetime(2026, 1, 5, 9, tzinfo=UTC), Recurrence(frequency="daily", count=5), "UTC")
    assert starts[-1] - starts[0] == timedelta(days=4)


def test_either_count_or_until():
    with pytest.raises(ValidationError):
        weekly()
    with pytest.raises(ValidationError):
        weekly(count=2, until="2026-12-01")


def test_too_long_or_backwards_is_refused_naming_the_field():
    with pytest.raises(Invalid) as err:
        occurrences(datetime(2026, 1, 5, 9, tzinfo=UTC), Recurrence(frequency="daily", until="2027-01-05"), "UTC")
    assert err.value.extra["field"] == "recurrence.until"
    with pytest.raises(Invalid):
        occurrences(datetime(2026, 1, 5, 9, tzinfo=UTC), weekly(until="2026-01-01"), "UTC")


def series() -> Series:
    t = datetime(2026, 1, 5, 9, tzinfo=UTC)
    occ = [
        Occurrence(index=0, start=t, appointment_id="a0"),
        Occurrence(index=1, start=t + timedelta(weeks=1), conflict="practitioner busy"),
        Occurrence(index=2, start=t + timedelta(weeks=2), appointment_id="a2"),
        Occurrence(index=3, start=t + timedelta(weeks=3), appointment_id="a3"),
    ]
    return Series(
        id="s-1",
        patient_id="p",
        practitioner_id="pr",
        service_code="97110",
        time_zone="UTC",
        recurrence=weekly(count=4),
        occurrences=occ,
        created_by="c",
        created_at=t,
    )


def test_what_a_cancellation_reaches():
    s = series()
    assert s.reach(Scope.ONE, "a2") == ["a2"]
    assert s.reach(Scope.FOLLOWING, "a2") == ["a2", "a3"]
    assert s.reach(Scope.ALL, None) == ["a0", "a2", "a3"]
    assert [o.index for o in s.conflicts()] == [1]
    with pytest.raises(Invalid):
        s.reach(Scope.FOLLOWING, "zzz")
