"""Unit tests of scheduling's pure domain: appointment lifecycle, raised events, slot validation."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from caremesh_contracts import AppointmentBooked, AppointmentDeclined, AppointmentRequested
from caremesh_kit.errors import Conflict, Invalid
from caremesh_scheduling.domain import (
    Appointment,
    Practitioner,
    PractitionerDetails,
    Slot,
    SlotTimes,
    Status,
)
from pydantic import ValidationError

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def practitioner(time_zone: str = "UTC", name: str = "Dr Ada Okafor") -> Practitioner:
    return Practitioner(id="prac-1", details=PractitionerDetails(name=name, time_zone=time_zone))


def slot(start: datetime, minutes: int = 30) -> Slot:
    return Slot(id="slot-1", practitioner_id="prac-1", start=start, end=start + timedelta(minutes=minutes))


def requested(time_zone: str = "UTC", start: datetime = datetime(2026, 5, 3, 9, 0, tzinfo=UTC)) -> Appointment:
    appt = Appointment.request("appt-1", "pat-1", slot(start), practitioner(time_zone), "99213", NOW)
    appt.take_events()
    return appt


# -- request ------------------------------------------------------------------------------------

def test_request_creates_a_pending_appointment_and_raises_appointment_requested():
    start = datetime(2026, 5, 3, 9, 0, tzinfo=UTC)
    appt = Appointment.request("appt-1", "pat-1", slot(start), practitioner(), "99213", NOW)

    assert appt.id == "appt-1"
    assert appt.status is Status.PENDING
    assert appt.slot_id == "slot-1"
    assert appt.practitioner_id == "prac-1"
    assert (appt.start, appt.end) == (start, start + timedelta(minutes=30))
    assert appt.requested_at == NOW and appt.updated_at == NOW
    assert appt.decline_reason is None

    events = appt.take_events()
    assert events == [AppointmentRequested(
        appointment_id="appt-1", patient_id="pat-1", practitioner_id="prac-1", slot_id="slot-1",
        service_code="99213", start=start, end=start + timedelta(minutes=30), service_date=date(2026, 5, 3),
    )]
    assert appt.take_events() == []  # taking events empties the list


@pytest.mark.parametrize("start", [NOW, NOW - timedelta(minutes=1), NOW - timedelta(days=3)],
                         ids=["starts-now", "started-a-minute-ago", "days-ago"])
def test_request_rejects_a_slot_that_has_already_started(start):
    with pytest.raises(Invalid) as exc:
        Appointment.request("appt-1", "pat-1", slot(start), practitioner(), "99213", NOW)
    assert exc.value.extra == {"field": "slot_id"}
    assert exc.value.status == 422
    assert "already started" in exc.value.detail


def test_request_accepts_a_slot_starting_just_after_now():
    appt = Appointment.request("appt-1", "pat-1", slot(NOW + timedelta(seconds=1)), practitioner(), "99213", NOW)
    assert appt.status is Status.PENDING


@pytest.mark.parametrize(("time_zone", "expected"), [
    ("Asia/Tokyo", date(2026, 5, 4)),        # 23:30 UTC is 08:30 the next morning in Tokyo
    ("America/New_York", date(2026, 5, 3)),  # and 19:30 the same evening in New York
    ("UTC", date(2026, 5, 3)),
    ("Pacific/Kiritimati", date(2026, 5, 4)),
])
def test_service_date_is_the_local_date_where_the_practitioner_works(time_zone, expected):
    start = datetime(2026, 5, 3, 23, 30, tzinfo=UTC)
    appt = Appointment.request("appt-1", "pat-1", slot(start), practitioner(time_zone), "99213", NOW)
    [event] = appt.take_events()
    assert event.service_date == expected


def test_service_date_ignores_the_offset_the_slot_was_given_in():
    # 08:30 in Tokyo (+09:00) on 4 May is 23:30 UTC on 3 May: still 3 May for a UTC practitioner.
    start = datetime(2026, 5, 4, 8, 30, tzinfo=timezone(timedelta(hours=9)))
    appt = Appointment.request("appt-1", "pat-1", slot(start), practitioner("UTC"), "99213", NOW)
    [event] = appt.take_events()
    assert event.service_date == date(2026, 5, 3)


def test_service_date_early_morning_utc_is_the_previous_day_in_the_americas():
    start = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
    appt = Appointment.request("appt-1", "pat-1", slot(start), practitioner("America/Los_Angeles"), "99213", NOW)
    [event] = appt.take_events()
    assert event.service_date == date(2026, 5, 3)


# -- book ---------------------------------------------------------------------------------------

def test_book_moves_pending_to_booked_and_raises_appointment_booked_with_practitioner_name():
    appt = requested()
    assert appt.book("Dr Ada Okafor", LATER) is True

    assert appt.status is Status.BOOKED
    assert appt.updated_at == LATER
    assert appt.requested_at == NOW
    assert appt.take_events() == [AppointmentBooked(
        appointment_id="appt-1", patient_id="pat-1", practitioner_id="prac-1", practitioner_name="Dr Ada Okafor",
        service_code="99213", start=appt.start, end=appt.end,
    )]


def test_booking_twice_returns_false_and_raises_nothing():
    appt = requested()
    appt.book("Dr Ada Okafor", LATER)
    appt.take_events()

    assert appt.book("Dr Ada Okafor", LATER + timedelta(hours=1)) is False
    assert appt.status is Status.BOOKED
    assert appt.updated_at == LATER  # untouched by the redelivery
    assert appt.take_events() == []


def test_booking_a_declined_appointment_is_a_conflict_naming_both_states():
    appt = requested()
    appt.decline("no_coverage", LATER)
    appt.take_events()

    with pytest.raises(Conflict) as exc:
        appt.book("Dr Ada Okafor", LATER + timedelta(hours=1))
    assert exc.value.extra == {"current": "declined", "requested": "booked"}
    assert exc.value.status == 409
    assert appt.status is Status.DECLINED
    assert appt.updated_at == LATER
    assert appt.take_events() == []


def test_a_reloaded_booked_appointment_still_treats_book_as_a_redelivery():
    appt = requested()
    appt.book("Dr Ada Okafor", LATER)
    reloaded = Appointment.from_document(appt.to_document())

    assert reloaded.status is Status.BOOKED
    assert reloaded.book("Dr Ada Okafor", LATER) is False
    assert reloaded.take_events() == []


# -- decline ------------------------------------------------------------------------------------

def test_decline_moves_pending_to_declined_and_raises_appointment_declined():
    appt = requested()
    assert appt.decline("coverage_inactive", LATER) is True

    assert appt.status is Status.DECLINED
    assert appt.decline_reason == "coverage_inactive"
    assert appt.updated_at == LATER
    assert appt.take_events() == [AppointmentDeclined(
        appointment_id="appt-1", patient_id="pat-1", service_code="99213", start=appt.start,
        reason_code="coverage_inactive",
    )]


def test_declining_twice_returns_false_and_raises_nothing():
    appt = requested()
    appt.decline("no_coverage", LATER)
    appt.take_events()

    assert appt.decline("service_not_covered", LATER + timedelta(hours=1)) is False
    assert appt.decline_reason == "no_coverage"  # the first reason stays
    assert appt.updated_at == LATER
    assert appt.take_events() == []


def test_declining_a_booked_appointment_is_a_conflict_naming_both_states():
    appt = requested()
    appt.book("Dr Ada Okafor", LATER)
    appt.take_events()

    with pytest.raises(Conflict) as exc:
        appt.decline("no_coverage", LATER + timedelta(hours=1))
    assert exc.value.extra == {"current": "booked", "requested": "declined"}
    assert appt.status is Status.BOOKED
    assert appt.decline_reason is None
    assert appt.take_events() == []


def test_decline_with_an_empty_reason_code_is_refused():
    appt = requested()
    with pytest.raises(ValidationError):
        appt.decline("", LATER)
    assert appt.take_events() == []


def test_a_refused_decline_leaves_the_appointment_unchanged():
    appt = requested()
    with pytest.raises(ValidationError):
        appt.decline("", LATER)
    assert appt.status is Status.PENDING
    assert appt.decline_reason is None
    assert appt.updated_at == NOW


# -- holds_slot ---------------------------------------------------------------------------------

def test_holds_slot_while_pending_and_booked_but_not_once_declined():
    pending = requested()
    assert pending.holds_slot is True

    booked = requested()
    booked.book("Dr Ada Okafor", LATER)
    assert booked.holds_slot is True

    declined = requested()
    declined.decline("no_coverage", LATER)
    assert declined.holds_slot is False


# -- SlotTimes ----------------------------------------------------------------------------------

T0 = datetime(2026, 5, 3, 9, 0, tzinfo=UTC)


def test_slot_times_accepts_an_ordered_aware_interval():
    times = SlotTimes(start=T0, end=T0 + timedelta(minutes=30))
    assert times.end - times.start == timedelta(minutes=30)


def test_slot_times_accepts_exactly_twelve_hours():
    assert SlotTimes(start=T0, end=T0 + timedelta(hours=12)).end == T0 + timedelta(hours=12)


def test_slot_times_compares_instants_across_offsets():
    # 10:00+02:00 is 08:00 UTC: before 09:00 UTC, so end-before-start even though 10 > 9 on the clock.
    with pytest.raises(ValidationError, match="end must be after start"):
        SlotTimes(start=T0, end=datetime(2026, 5, 3, 10, 0, tzinfo=timezone(timedelta(hours=2))))
    ok = SlotTimes(start=T0, end=datetime(2026, 5, 3, 11, 30, tzinfo=timezone(timedelta(hours=2))))
    assert ok.end - ok.start == timedelta(minutes=30)


@pytest.mark.parametrize("end", [T0 - timedelta(minutes=1), T0], ids=["before", "equal"])
def test_slot_times_rejects_end_not_after_start(end):
    with pytest.raises(ValidationError, match="end must be after start"):
        SlotTimes(start=T0, end=end)


@pytest.mark.parametrize(("start", "end"), [
    (T0.replace(tzinfo=None), T0 + timedelta(minutes=30)),
    (T0, (T0 + timedelta(minutes=30)).replace(tzinfo=None)),
    (T0.replace(tzinfo=None), (T0 + timedelta(minutes=30)).replace(tzinfo=None)),
], ids=["naive-start", "naive-end", "both-naive"])
def test_slot_times_rejects_naive_datetimes(start, end):
    with pytest.raises(ValidationError, match="need a UTC offset"):
        SlotTimes(start=start, end=end)


def test_slot_times_rejects_naive_iso_strings():
    with pytest.raises(ValidationError, match="need a UTC offset"):
        SlotTimes.model_validate({"start": "2026-05-03T09:00:00", "end": "2026-05-03T09:30:00"})


def test_slot_times_rejects_more_than_twelve_hours():
    with pytest.raises(ValidationError, match="at most 12 hours"):
        SlotTimes(start=T0, end=T0 + timedelta(hours=12, seconds=1))


def test_practitioner_details_reject_an_unknown_time_zone():
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        PractitionerDetails(name="Dr X", time_zone="Mars/Olympus_Mons")
