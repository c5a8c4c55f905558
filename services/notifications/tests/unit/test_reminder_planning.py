"""Reminder planning with real preferences (quiet hours in the recipient's zone, across DST), and the
appointment as notifications knows it when scheduling's events arrive in any order."""

from datetime import UTC, datetime, timedelta

import pytest

from caremesh_contracts import AppointmentBooked, AppointmentRescheduled
from caremesh_notifications.domain import Appointment, Preferences, QuietHours, VisitStatus
from caremesh_notifications.domain.reminders import ReminderPolicy, parse_source, plan, reminder_source

H = timedelta(hours=1)
POLICY = ReminderPolicy.parse("default=72h,24h,2h;97110=24h;G0438=7d,1d")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def quiet(start: str = "22:00", end: str = "07:00", zone: str | None = None) -> Preferences:
    return Preferences(id="r", patient_id="p", quiet_hours=QuietHours(start=start, end=end), time_zone=zone)


def planned_for(prefs: Preferences, zone: str, start: datetime, offsets=POLICY.default, now=None):
    return plan(start, offsets, now or start - timedelta(days=30), lambda t: prefs.next_allowed(t, zone))


# -- planning with real quiet hours -------------------------------------------------------------------


def test_outside_quiet_hours_each_reminder_goes_at_its_offset():
    start = utc(2026, 11, 20, 15)  # 10:00 in New York
    planned, skipped = planned_for(quiet(), "America/New_York", start)
    assert [(r.offset, r.send_at) for r in planned] == [
        ("72h", start - 72 * H),
        ("24h", start - 24 * H),
        ("2h", start - 2 * H),
    ]
    assert skipped == []


def test_the_same_visit_is_planned_in_each_recipients_own_zone():
    start = utc(2026, 11, 20, 14)  # 09:00 New York, 23:00 Tokyo, 15:00 Paris
    ny, _ = planned_for(quiet(), "America/New_York", start)
    tokyo, tokyo_skipped = planned_for(quiet(), "Asia/Tokyo", start)
    # New York: 2 h before is 07:00 local, just outside the window.
    assert [r.send_at for r in ny] == [start - 72 * H, start - 24 * H, start - 2 * H]
    # Tokyo: 2 h before is 21:00, fine; 72 h and 24 h before are 23:00, quiet until 07:00 (22:00 UTC).
    assert [(r.offset, r.send_at) for r in tokyo] == [
        ("72h", utc(2026, 11, 17, 22)),
        ("24h", utc(2026, 11, 19, 22)),
        ("2h", start - 2 * H),
    ]
    assert tokyo_skipped == []


def test_a_preferred_zone_overrides_the_one_records_gave():
    start = utc(2026, 11, 20, 14)
    planned, _ = planned_for(quiet(zone="Asia/Tokyo"), "America/New_York", start, offsets=(24 * H,))
    assert planned[0].send_at == utc(2026, 11, 19, 22)  # 07:00 in Tokyo


def test_dst_spring_forward_the_night_is_an_hour_shorter():
    # 8 March 2026 in New York: the quiet window 22:00-07:00 ends at 07:00 EDT = 11:00 UTC.
    start = utc(2026, 3, 8, 12, 30)  # 08:30 EDT
    [r], _ = planned_for(quiet(), "America/New_York", start, offsets=(2 * H,))
    assert r.due_at == utc(2026, 3, 8, 10, 30) and r.send_at == utc(2026, 3, 8, 11)


def test_dst_fall_back_the_night_is_an_hour_longer():
    # 1 November 2026 in New York: 07:00 EST = 12:00 UTC (a day earlier it was 11:00 UTC).
    start = utc(2026, 11, 1, 13, 30)  # 08:30 EST
    [r], _ = planned_for(quiet(), "America/New_York", start, offsets=(2 * H,))
    assert r.send_at == utc(2026, 11, 1, 12)
    before = utc(2026, 10, 31, 12, 30)  # 08:30 EDT the day before
    [r], _ = planned_for(quiet(), "America/New_York", before, offsets=(2 * H,))
    assert r.send_at == utc(2026, 10, 31, 11)


def test_a_window_ending_in_the_skipped_hour_ends_at_the_jump():
    # Quiet until 02:30, which does not exist on 8 March 2026 in New York: sent at 03:00 EDT (07:00 UTC).
    start = utc(2026, 3, 8, 8)  # 04:00 EDT
    [r], _ = planned_for(quiet("23:00", "02:30"), "America/New_York", start, offsets=(3 * H,))
    assert r.due_at == utc(2026, 3, 8, 5) and r.send_at == utc(2026, 3, 8, 7)


def test_southern_hemisphere_dst_sydney():
    # 4 October 2026, Sydney springs forward (AEST +10 -> AEDT +11). 07:00 AEDT is 20:00 UTC on the 3rd.
    start = utc(2026, 10, 3, 21, 30)  # 08:30 AEDT on the 4th
    [r], _ = planned_for(quiet(), "Australia/Sydney", start, offsets=(3 * H,))
    assert r.send_at == utc(2026, 10, 3, 20)


def test_skipped_when_the_quiet_hours_last_until_the_visit():
    start = utc(2026, 11, 20, 11, 30)  # 06:30 New York
    planned, skipped = planned_for(quiet(), "America/New_York", start, offsets=(2 * H,))
    assert planned == [] and [s.reason for s in skipped] == ["quiet hours last until the visit"]


def test_two_reminders_moved_onto_the_same_morning_are_one():
    start = utc(2026, 11, 20, 13)  # 08:00 New York: 3 h and 2 h before are both in the night
    planned, skipped = planned_for(quiet(), "America/New_York", start, offsets=(3 * H, 2 * H))
    assert [(r.offset, r.send_at) for r in planned] == [("3h", utc(2026, 11, 20, 12))]
    assert skipped[0].offset == "2h"


def test_no_preferences_means_no_quiet_hours():
    start = utc(2026, 11, 20, 8)  # 03:00 in New York
    planned, _ = planned_for(Preferences(id="r", patient_id="p"), "America/New_York", start, offsets=(2 * H,))
    assert planned[0].send_at == start - 2 * H


def test_the_policy_depends_on_the_service():
    start = utc(2026, 11, 20, 15)
    assert [r.offset for r in planned_for(quiet(), "UTC", start, POLICY.offsets_for("97110"))[0]] == ["24h"]
    assert [r.offset for r in planned_for(quiet(), "UTC", start, POLICY.offsets_for("G0438"))[0]] == ["168h", "24h"]
    assert [r.offset for r in planned_for(quiet(), "UTC", start, POLICY.offsets_for("99213"))[0]] == [
        "72h",
        "24h",
        "2h",
    ]


def test_a_reminder_key_names_its_appointment_and_plan():
    key = reminder_source("a:b-1", 3, "24h")
    assert parse_source(key) == ("a:b-1", 3)
    assert parse_source("some-event-id") is None and parse_source("reminder:x") is None


# -- the appointment as known here, whatever the order of the events ----------------------------------

T0 = utc(2026, 1, 1)
A, B, C = utc(2030, 1, 10, 15), utc(2030, 1, 11, 15), utc(2030, 1, 12, 15)


def booked(start: datetime = A) -> AppointmentBooked:
    return AppointmentBooked(
        appointment_id="ap",
        patient_id="p",
        practitioner_id="pr",
        practitioner_name="Dr X",
        service_code="99213",
        start=start,
        end=start + H / 2,
    )


def moved(previous: datetime, start: datetime, status: str = "booked") -> AppointmentRescheduled:
    return AppointmentRescheduled(
        appointment_id="ap",
        patient_id="p",
        practitioner_id="pr",
        practitioner_name="Dr Y",
        service_code="99213",
        previous_start=previous,
        start=start,
        end=start + H / 2,
        status=status,
    )


def fresh() -> Appointment:
    return Appointment.seen("ap", "p", "99213")


def test_booking_then_moves_each_make_a_new_plan():
    a = fresh()
    assert a.book(booked()) and (a.active, a.start, a.plan) == (True, A, 1)
    assert a.book(booked()) is False  # a redelivery
    assert a.move(moved(A, B), "e1", T0) and (a.start, a.plan, a.practitioner_name) == (B, 2, "Dr Y")
    assert a.moved_here("e1")
    assert a.move(moved(A, B), "e1", T0) is False


def test_a_move_before_the_booking_is_kept_when_the_booking_arrives():
    a = fresh()
    a.move(moved(A, B), "e1", T0)
    assert (a.status, a.start) == (VisitStatus.BOOKED, B)
    a.book(booked(A))
    assert (a.start, a.plan) == (B, 1)


def test_moves_out_of_order_keep_the_latest():
    a = fresh()
    a.book(booked())
    assert a.move(moved(B, C), "e2", T0 + H)
    assert a.move(moved(A, B), "e1", T0) is False  # older, delivered late
    assert a.start == C and not a.moved_here("e1") and a.moved_here("e2")


def test_moves_at_the_same_instant_chain_from_the_current_time():
    a = fresh()
    a.book(booked())
    assert a.move(moved(A, B), "e1", T0) and a.move(moved(B, C), "e2", T0)
    assert a.move(moved(A, B), "e1b", T0) is False and a.start == C


@pytest.mark.parametrize(
    "ending", [VisitStatus.CANCELLED, VisitStatus.DECLINED, VisitStatus.NO_SHOW, VisitStatus.FULFILLED]
)
def test_an_ending_wins_over_whatever_arrives_after_it(ending):
    a = fresh()
    assert a.end(ending, A) and a.ended and not a.active
    a.book(booked())
    assert a.move(moved(A, B), "e1", T0) is False
    assert a.status is ending and not a.active and not a.moved_here("e1")
    assert a.end(VisitStatus.CANCELLED, A) is False


def test_a_move_while_pending_waits_for_the_booking():
    a = fresh()
    a.move(moved(A, B, status="pending"), "e1", T0)
    assert (a.status, a.active) == (VisitStatus.PENDING, False)
    a.book(booked(A))
    assert (a.active, a.start) == (True, B)
