"""Slot generation from templates: DST changes in several zones, time off, buffers, intervals."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from caremesh_scheduling.domain import TemplateSpec, TimeOff, Window
from caremesh_scheduling.domain.slots import buckets, day_slots, fits, slot_at, spans

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def spec(start: str = "09:00", end: str = "10:00", days=EVERY_DAY, **kw) -> TemplateSpec:
    windows = [Window(day=d, start=time.fromisoformat(start), end=time.fromisoformat(end), room="R1") for d in days]
    return TemplateSpec(service_type_ids=["s"], weekly=windows, **kw)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def starts(template: TemplateSpec, zone: str, day: date, minutes: int = 30) -> list[datetime]:
    return [s.start for s in day_slots(template, ZoneInfo(zone), day, minutes)]


def local(instants: list[datetime], zone: str) -> list[str]:
    return [i.astimezone(ZoneInfo(zone)).strftime("%H:%M%z") for i in instants]


# -- the same local hours on both sides of each DST change ---------------------------------------


@pytest.mark.parametrize(
    ("zone", "before", "after", "utc_before", "utc_after"),
    [
        ("America/New_York", date(2026, 3, 7), date(2026, 3, 8), 14, 13),  # EST -> EDT
        ("America/New_York", date(2026, 10, 31), date(2026, 11, 1), 13, 14),  # EDT -> EST
        ("Europe/Berlin", date(2026, 3, 28), date(2026, 3, 29), 8, 7),  # CET -> CEST
        ("Europe/Berlin", date(2026, 10, 24), date(2026, 10, 25), 7, 8),  # CEST -> CET
        ("Australia/Sydney", date(2026, 4, 4), date(2026, 4, 5), 22, 23),  # AEDT -> AEST (previous UTC day)
        ("America/Phoenix", date(2026, 3, 7), date(2026, 3, 8), 16, 16),  # no DST
        ("America/Phoenix", date(2026, 10, 31), date(2026, 11, 1), 16, 16),
    ],
    ids=[
        "new-york-spring",
        "new-york-fall",
        "berlin-spring",
        "berlin-fall",
        "sydney-fall",
        "phoenix-march",
        "phoenix-november",
    ],
)
def test_a_morning_window_stays_at_nine_local_across_the_change(zone, before, after, utc_before, utc_after):
    template = spec()
    for day, hour in ((before, utc_before), (after, utc_after)):
        got = starts(template, zone, day)
        assert local(got, zone)[0].startswith("09:00") and local(got, zone)[1].startswith("09:30")
        assert got[0].hour == hour and len(got) == 2


# -- windows across the change itself last the real time between their ends -----------------------


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        # Spring forward: 02:00-03:00 does not exist, so 01:00-04:00 is two real hours.
        ("America/New_York", date(2026, 3, 8), ["01:00-0500", "01:30-0500", "03:00-0400", "03:30-0400"]),
        ("Europe/Berlin", date(2026, 3, 29), ["01:00+0100", "01:30+0100", "03:00+0200", "03:30+0200"]),
        # Fall back: 01:00-02:00 (New York) and 02:00-03:00 (Berlin) happen twice, so four real hours.
        (
            "America/New_York",
            date(2026, 11, 1),
            [
                "01:00-0400",
                "01:30-0400",
                "01:00-0500",
                "01:30-0500",
                "02:00-0500",
                "02:30-0500",
                "03:00-0500",
                "03:30-0500",
            ],
        ),
        (
            "Europe/Berlin",
            date(2026, 10, 25),
            [
                "01:00+0200",
                "01:30+0200",
                "02:00+0200",
                "02:30+0200",
                "02:00+0100",
                "02:30+0100",
                "03:00+0100",
                "03:30+0100",
            ],
        ),
        (
            "Asia/Kolkata",
            date(2026, 3, 8),
            ["01:00+0530", "01:30+0530", "02:00+0530", "02:30+0530", "03:00+0530", "03:30+0530"],
        ),
    ],
    ids=["new-york-spring", "berlin-spring", "new-york-fall", "berlin-fall", "kolkata-no-dst"],
)
def test_a_night_window_over_the_change_has_the_real_number_of_slots(zone, day, expected):
    got = starts(spec("01:00", "04:00"), zone, day)
    assert local(got, zone) == expected
    assert all(b - a == timedelta(minutes=30) for a, b in pairwise(got))  # real-time steps


def test_a_window_starting_in_the_spring_gap_starts_after_it():
    # 02:30 does not exist on 8 March 2026 in New York: the window starts at 03:30 EDT (07:30 UTC).
    got = starts(spec("02:30", "04:00"), "America/New_York", date(2026, 3, 8))
    assert got == [utc(2026, 3, 8, 7, 30)]


def test_slot_at_accepts_only_derived_starts_across_the_change():
    template, zone = spec("01:00", "04:00"), ZoneInfo("America/New_York")
    assert slot_at(template, zone, 30, utc(2026, 11, 1, 6, 0)) is not None  # 01:00 EST, the second 01:00
    assert slot_at(template, zone, 30, utc(2026, 11, 1, 6, 10)) is None  # off the grid
    assert slot_at(template, zone, 30, utc(2026, 11, 1, 9, 0)) is None  # 04:00 EST: the window has ended
    # Spring: 01:00 EST to 04:00 EDT is two hours; 45-minute slots at 01:00 and 01:45 EST only.
    assert slot_at(template, zone, 45, utc(2026, 3, 8, 6, 45)) is not None
    assert slot_at(template, zone, 45, utc(2026, 3, 8, 7, 30)) is None  # 03:30 EDT would end past 04:00


# -- time off, buffers, intervals, validity -------------------------------------------------------


def test_whole_day_and_date_range_time_off_remove_those_days():
    template = spec(
        exceptions=[
            TimeOff(start_date=date(2026, 12, 25), reason="holiday"),
            TimeOff(start_date=date(2026, 12, 28), end_date=date(2026, 12, 30), reason="leave"),
        ]
    )
    days = [date(2026, 12, d) for d in range(24, 32)]
    open_days = [d.day for d in days if starts(template, "Europe/Berlin", d)]
    assert open_days == [24, 26, 27, 31]


def test_part_of_a_day_off_cuts_the_window_on_each_day_of_its_range():
    template = spec(
        "09:00",
        "12:00",
        exceptions=[
            TimeOff(start_date=date(2026, 6, 1), end_date=date(2026, 6, 2), start_time=time(10), end_time=time(11))
        ],
    )
    for day in (date(2026, 6, 1), date(2026, 6, 2)):
        assert local(starts(template, "UTC", day), "UTC") == ["09:00+0000", "09:30+0000", "11:00+0000", "11:30+0000"]
    assert len(starts(template, "UTC", date(2026, 6, 3))) == 6


def test_buffers_fit_inside_the_bookable_time_and_space_slots_apart():
    # 5 before, 10 after: each slot takes 45 minutes; back to back by default.
    template = spec("09:00", "12:00", buffer_before_minutes=5, buffer_after_minutes=10)
    assert local(starts(template, "UTC", date(2026, 6, 1)), "UTC") == [
        "09:05+0000",
        "09:50+0000",
        "10:35+0000",
        "11:20+0000",
    ]
    # After a part-day cut the next span starts over, with its own buffer.
    cut = spec(
        "09:00",
        "12:00",
        buffer_before_minutes=5,
        buffer_after_minutes=10,
        exceptions=[TimeOff(start_date=date(2026, 6, 1), start_time=time(10), end_time=time(11))],
    )
    assert local(starts(cut, "UTC", date(2026, 6, 1)), "UTC") == ["09:05+0000", "11:05+0000"]


def test_an_interval_offers_more_starts_than_back_to_back():
    template = spec("09:00", "10:00", buffer_after_minutes=10, slot_interval_minutes=15)
    assert local(starts(template, "UTC", date(2026, 6, 1)), "UTC") == ["09:00+0000", "09:15+0000"]


def test_only_the_weekdays_and_validity_period_of_the_template():
    template = spec(days=["mon", "wed"], valid_from=date(2026, 6, 3), valid_until=date(2026, 6, 10))
    open_days = [d for d in range(1, 16) if starts(template, "UTC", date(2026, 6, d))]
    assert open_days == [3, 8, 10]  # 1 June 2026 is a Monday, before the validity starts


def test_spans_give_the_room_of_each_window():
    template = TemplateSpec(
        service_type_ids=["s"],
        weekly=[
            Window(day="mon", start=time(9), end=time(10), room="A"),
            Window(day="mon", start=time(14), end=time(15), room="B"),
        ],
    )
    assert [s.room for s in spans(template, ZoneInfo("UTC"), date(2026, 6, 1))] == ["A", "B"]


def test_fits_says_why_an_existing_booking_is_outside_a_changed_template():
    template = spec("09:00", "12:00", exceptions=[TimeOff(start_date=date(2026, 6, 2))])
    tz = ZoneInfo("UTC")
    assert fits(template, tz, "s", utc(2026, 6, 1, 9), utc(2026, 6, 1, 9, 30), "R1") is None
    assert fits(template, tz, "s", utc(2026, 6, 1, 11, 45), utc(2026, 6, 1, 12, 15), "R1") == "outside_availability"
    assert fits(template, tz, "s", utc(2026, 6, 2, 9), utc(2026, 6, 2, 9, 30), "R1") == "outside_availability"
    assert fits(template, tz, "other", utc(2026, 6, 1, 9), utc(2026, 6, 1, 9, 30), "R1") == "service_not_offered"
    assert fits(template, tz, "s", utc(2026, 6, 1, 9), utc(2026, 6, 1, 9, 30), "R2") == "room_changed"


def test_buckets_round_outwards_so_no_overlap_is_missed():
    assert buckets(utc(2026, 6, 1, 9, 0), utc(2026, 6, 1, 9, 15)) == [utc(2026, 6, 1, 9, m) for m in (0, 5, 10)]
    assert buckets(utc(2026, 6, 1, 9, 2), utc(2026, 6, 1, 9, 11)) == [utc(2026, 6, 1, 9, m) for m in (0, 5, 10)]
    # Kathmandu is UTC+05:45: its 09:00 is 03:15 UTC, still on the five-minute grid.
    kathmandu = starts(spec(), "Asia/Kathmandu", date(2026, 6, 1))
    assert kathmandu[0] == utc(2026, 6, 1, 3, 15)
