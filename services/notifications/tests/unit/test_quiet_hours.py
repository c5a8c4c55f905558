"""Quiet hours: when a recipient may next be messaged, in their own zone, across midnight and DST."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from caremesh_notifications.domain import Preferences, QuietHours

NY, TOKYO, SYDNEY, LONDON = (
    ZoneInfo(z) for z in ("America/New_York", "Asia/Tokyo", "Australia/Sydney", "Europe/London")
)
NIGHT = QuietHours(start="22:00", end="07:00")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_outside_the_window_is_allowed_at_once():
    at = utc(2026, 1, 15, 15, 0)  # 10:00 in New York
    assert NIGHT.is_quiet(at, NY) is False
    assert NIGHT.next_allowed(at, NY) == at


def test_late_evening_waits_for_the_next_morning():
    at = utc(2026, 1, 16, 4, 30)  # 23:30 EST on the 15th
    assert NIGHT.next_allowed(at, NY) == utc(2026, 1, 16, 12, 0)  # 07:00 EST on the 16th


def test_small_hours_wait_for_the_same_morning():
    at = utc(2026, 1, 16, 8, 0)  # 03:00 EST on the 16th
    assert NIGHT.next_allowed(at, NY) == utc(2026, 1, 16, 12, 0)


def test_the_end_of_the_window_is_allowed_and_its_start_is_not():
    assert NIGHT.is_quiet(utc(2026, 1, 16, 12, 0), NY) is False  # 07:00 sharp
    assert NIGHT.is_quiet(utc(2026, 1, 16, 3, 0), NY) is True  # 22:00 sharp


def test_the_same_instant_is_quiet_in_one_zone_and_not_in_another():
    at = utc(2026, 1, 15, 14, 0)  # 09:00 in New York, 23:00 in Tokyo
    assert NIGHT.next_allowed(at, NY) == at
    assert NIGHT.next_allowed(at, TOKYO) == utc(2026, 1, 15, 22, 0)  # 07:00 JST on the 16th


def test_a_window_within_one_day():
    siesta = QuietHours(start="12:30", end="14:00")
    assert siesta.next_allowed(utc(2026, 1, 15, 18, 0), NY) == utc(2026, 1, 15, 19, 0)  # 13:00 -> 14:00 EST
    assert siesta.next_allowed(utc(2026, 1, 15, 20, 0), NY) == utc(2026, 1, 15, 20, 0)


def test_a_night_that_springs_forward_is_an_hour_shorter():
    # New York, 8 March 2026: 02:00 EST becomes 03:00 EDT.
    at = utc(2026, 3, 8, 4, 0)  # 23:00 EST on the 7th
    assert NIGHT.next_allowed(at, NY) == utc(2026, 3, 8, 11, 0)  # 07:00 EDT, not 12:00 UTC


def test_a_night_that_falls_back_is_an_hour_longer():
    # New York, 1 November 2026: 02:00 EDT becomes 01:00 EST.
    at = utc(2026, 11, 1, 3, 0)  # 23:00 EDT on 31 October
    assert NIGHT.next_allowed(at, NY) == utc(2026, 11, 1, 12, 0)  # 07:00 EST


def test_an_end_that_the_clocks_skip_is_the_moment_of_the_jump():
    window = QuietHours(start="22:00", end="02:30")  # 02:30 does not exist on 8 March 2026 in New York
    at = utc(2026, 3, 8, 6, 0)  # 01:00 EST
    assert NIGHT.is_quiet(at, NY)
    assert window.next_allowed(at, NY) == utc(2026, 3, 8, 7, 0)  # 03:00 EDT, when the clock passes 02:30


def test_an_end_that_the_clocks_repeat_is_its_first_occurrence():
    window = QuietHours(start="23:00", end="01:30")  # 01:30 happens twice on 1 November 2026 in New York
    at = utc(2026, 11, 1, 4, 30)  # 00:30 EDT
    assert window.next_allowed(at, NY) == utc(2026, 11, 1, 5, 30)  # 01:30 EDT


def test_southern_hemisphere_spring_forward_gap():
    # Sydney, 4 October 2026: 02:00 AEST becomes 03:00 AEDT (16:00 UTC on the 3rd).
    window = QuietHours(start="21:00", end="02:30")
    at = utc(2026, 10, 3, 14, 0)  # 00:00 AEST on the 4th
    assert window.next_allowed(at, SYDNEY) == utc(2026, 10, 3, 16, 0)


def test_london_summer_time_changes_the_utc_hour_of_the_same_morning():
    assert NIGHT.next_allowed(utc(2026, 1, 10, 23, 0), LONDON) == utc(2026, 1, 11, 7, 0)  # GMT
    assert NIGHT.next_allowed(utc(2026, 7, 10, 23, 0), LONDON) == utc(2026, 7, 11, 6, 0)  # BST


def test_preferences_use_their_own_zone_else_the_contacts():
    at = utc(2026, 1, 15, 14, 0)  # 09:00 New York, 23:00 Tokyo
    prefs = Preferences(id="pat-1", patient_id="pat-1", quiet_hours=NIGHT)
    assert prefs.next_allowed(at, "America/New_York") == at
    assert prefs.next_allowed(at, "Asia/Tokyo") == utc(2026, 1, 15, 22, 0)
    prefs.time_zone = "Asia/Tokyo"  # set by the recipient: wins over the zone records gave
    assert prefs.next_allowed(at, "America/New_York") == utc(2026, 1, 15, 22, 0)


def test_without_quiet_hours_any_time_is_allowed():
    at = utc(2026, 1, 15, 8, 0)
    assert Preferences(id="p", patient_id="p").next_allowed(at, "America/New_York") == at


@pytest.mark.parametrize("start,end", [("22:00", "22:00"), ("7:00", "08:00"), ("24:00", "07:00"), ("22:00", "7")])
def test_invalid_windows_are_refused(start, end):
    with pytest.raises(ValidationError):
        QuietHours(start=start, end=end)
