"""Reminder policy and planning (pure)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from caremesh_notifications.domain.reminders import ReminderPolicy, offset_label, parse_duration, plan

H = timedelta(hours=1)
NY = ZoneInfo("America/New_York")


def quiet_nights(zone=NY, start=time(21), end=time(8)):
    """Next allowed time outside 21:00-08:00 local (a stand-in for a recipient's quiet hours)."""

    def next_allowed(t: datetime) -> datetime:
        local = t.astimezone(zone)
        if local.time() >= start:
            local = (local + timedelta(days=1)).replace(hour=end.hour, minute=0, second=0, microsecond=0)
        elif local.time() < end:
            local = local.replace(hour=end.hour, minute=0, second=0, microsecond=0)
        return local.astimezone(UTC)

    return next_allowed


def test_policy_from_configuration():
    p = ReminderPolicy.parse("default=72h,24h,2h; 97110=24h ;G0438=7d,1d,90m;99999=")
    assert p.offsets_for("99213") == (72 * H, 24 * H, 2 * H)
    assert p.offsets_for("97110") == (24 * H,)
    assert p.offsets_for("G0438") == (timedelta(days=7), timedelta(days=1), timedelta(minutes=90))
    assert p.offsets_for("99999") == ()
    assert [offset_label(o) for o in p.offsets_for("G0438")] == ["168h", "24h", "90m"]


@pytest.mark.parametrize("bad", ["default=24", "97110", "x=0h", "default=2w"])
def test_a_bad_policy_is_refused_at_start(bad):
    with pytest.raises(ValueError):
        ReminderPolicy.parse(bad)


def test_parse_duration():
    assert parse_duration("45m") == timedelta(minutes=45) and parse_duration("3d") == timedelta(days=3)


def test_all_three_when_none_falls_in_quiet_hours():
    start = datetime(2026, 11, 20, 15, tzinfo=UTC)  # 10:00 in New York
    now = start - timedelta(days=10)
    planned, skipped = plan(start, (72 * H, 24 * H, 2 * H), now, quiet_nights())
    assert [(r.offset, r.send_at) for r in planned] == [
        ("72h", start - 72 * H),
        ("24h", start - 24 * H),
        ("2h", start - 2 * H),
    ]
    assert skipped == []


def test_a_reminder_in_quiet_hours_moves_to_the_morning():
    start = datetime(2026, 11, 20, 14, tzinfo=UTC)  # 09:00 New York; 2 h before is 07:00, quiet
    planned, _ = plan(start, (2 * H,), start - timedelta(days=1), quiet_nights())
    [r] = planned
    assert r.due_at == start - 2 * H and r.send_at == datetime(2026, 11, 20, 13, tzinfo=UTC)  # 08:00 local


def test_skipped_when_quiet_hours_last_until_the_visit():
    start = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)  # 07:30 New York
    planned, skipped = plan(start, (2 * H,), start - timedelta(days=1), quiet_nights())
    assert planned == [] and skipped[0].reason == "quiet hours last until the visit"


def test_two_moved_onto_one_time_are_sent_once():
    start = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)  # 09:30 local: 3 h and 2 h before are both quiet
    planned, skipped = plan(start, (3 * H, 2 * H), start - timedelta(days=1), quiet_nights())
    assert [r.offset for r in planned] == ["3h"] and skipped[0].offset == "2h"


def test_past_reminders_are_skipped_not_sent_late():
    start = datetime(2026, 11, 20, 15, tzinfo=UTC)
    planned, skipped = plan(start, (72 * H, 24 * H, 2 * H), start - 30 * H, quiet_nights())
    assert [r.offset for r in planned] == ["24h", "2h"]
    assert [(s.offset, s.reason) for s in skipped] == [("72h", "its time has passed")]


def test_quiet_hours_follow_the_recipients_zone_across_dst():
    # 8 March 2026, New York springs forward: 07:00 local is 11:00 UTC that day (EDT), not 12:00.
    start = datetime(2026, 3, 8, 13, tzinfo=UTC)  # 09:00 EDT
    [r], _ = plan(start, (2 * H,), start - timedelta(days=1), quiet_nights())
    assert r.send_at == datetime(2026, 3, 8, 12, tzinfo=UTC)  # 08:00 EDT
    berlin = quiet_nights(ZoneInfo("Europe/Berlin"))
    [r], _ = plan(start, (2 * H,), start - timedelta(days=1), berlin)  # 12:00 CET is not quiet
    assert r.send_at == start - 2 * H
