"""Unit tests of scheduling's pure domain: appointment requests, raised events, calendar validation."""

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from pydantic import ValidationError

from caremesh_contracts import AppointmentBooked, AppointmentDeclined, AppointmentRequested
from caremesh_kit.errors import Conflict, Invalid, NotFound
from caremesh_scheduling.domain import (
    Appointment,
    Location,
    LocationDetails,
    PractitionerDetails,
    Room,
    ServiceType,
    ServiceTypeDetails,
    Slot,
    Status,
    TemplateSpec,
    TimeOff,
    Window,
    check_template,
    parse_slot_id,
    slot_id,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def slot(start: datetime, minutes: int = 30, time_zone: str = "UTC") -> Slot:
    return Slot(
        practitioner_id="prac-1",
        location_id="loc-1",
        service_type_id="svc-1",
        service_code="99213",
        room="R1",
        start=start,
        end=start + timedelta(minutes=minutes),
        buffer_before=timedelta(minutes=5),
        buffer_after=timedelta(minutes=10),
        time_zone=time_zone,
    )


def requested(time_zone: str = "UTC", start: datetime = datetime(2026, 5, 3, 9, 0, tzinfo=UTC)) -> Appointment:
    appt = Appointment.request("appt-1", "pat-1", slot(start, time_zone=time_zone), NOW)
    appt.take_events()
    return appt


# -- request ------------------------------------------------------------------------------------


def test_request_creates_a_pending_appointment_and_raises_appointment_requested():
    start = datetime(2026, 5, 3, 9, 0, tzinfo=UTC)
    appt = Appointment.request("appt-1", "pat-1", slot(start), NOW)

    assert appt.id == "appt-1"
    assert appt.status is Status.PENDING
    assert appt.slot_id == slot(start).id == "prac-1.loc-1.svc-1.20260503T0900Z"
    assert (appt.practitioner_id, appt.location_id, appt.room, appt.service_type_id) == (
        "prac-1",
        "loc-1",
        "R1",
        "svc-1",
    )
    assert (appt.start, appt.end) == (start, start + timedelta(minutes=30))
    assert appt.footprint == (start - timedelta(minutes=5), start + timedelta(minutes=40))
    assert appt.requested_at == NOW and appt.updated_at == NOW
    assert appt.decline_reason is None

    events = appt.take_events()
    assert events == [
        AppointmentRequested(
            appointment_id="appt-1",
            patient_id="pat-1",
            practitioner_id="prac-1",
            slot_id=appt.slot_id,
            service_code="99213",
            start=start,
            end=start + timedelta(minutes=30),
            service_date=date(2026, 5, 3),
        )
    ]
    assert appt.take_events() == []  # taking events empties the list


@pytest.mark.parametrize(
    "start",
    [NOW, NOW - timedelta(minutes=1), NOW - timedelta(days=3)],
    ids=["starts-now", "started-a-minute-ago", "days-ago"],
)
def test_request_rejects_a_slot_that_has_already_started(start):
    with pytest.raises(Invalid) as exc:
        Appointment.request("appt-1", "pat-1", slot(start), NOW)
    assert exc.value.extra == {"field": "start"}
    assert exc.value.status == 422
    assert "already started" in exc.value.detail


def test_request_accepts_a_slot_starting_just_after_now():
    appt = Appointment.request("appt-1", "pat-1", slot(NOW + timedelta(seconds=1)), NOW)
    assert appt.status is Status.PENDING


@pytest.mark.parametrize(
    ("time_zone", "expected"),
    [
        ("Asia/Tokyo", date(2026, 5, 4)),  # 23:30 UTC is 08:30 the next morning in Tokyo
        ("America/New_York", date(2026, 5, 3)),  # and 19:30 the same evening in New York
        ("UTC", date(2026, 5, 3)),
        ("Pacific/Kiritimati", date(2026, 5, 4)),
    ],
)
def test_service_date_is_the_local_date_where_the_visit_takes_place(time_zone, expected):
    start = datetime(2026, 5, 3, 23, 30, tzinfo=UTC)
    appt = Appointment.request("appt-1", "pat-1", slot(start, time_zone=time_zone), NOW)
    [event] = appt.take_events()
    assert event.service_date == expected


def test_service_date_ignores_the_offset_the_start_was_given_in():
    # 08:30 in Tokyo (+09:00) on 4 May is 23:30 UTC on 3 May: still 3 May at a UTC location.
    start = datetime(2026, 5, 4, 8, 30, tzinfo=timezone(timedelta(hours=9)))
    appt = Appointment.request("appt-1", "pat-1", slot(start), NOW)
    [event] = appt.take_events()
    assert event.service_date == date(2026, 5, 3)


def test_claims_hold_practitioner_and_room_with_buffers_and_the_patient_without():
    appt = requested(start=datetime(2026, 5, 3, 9, 0, tzinfo=UTC))  # 08:55-09:40 with buffers
    claims = appt.claims()
    by_kind = {k: [c for c in claims if c.kind == k] for k in ("practitioner", "room", "patient")}
    assert by_kind["practitioner"][0].id == "pr:prac-1:20260503T0855"
    assert len(by_kind["practitioner"]) == len(by_kind["room"]) == 9  # 45 minutes
    assert by_kind["room"][0].id == "room:loc-1/R1:20260503T0855"
    assert [c.id for c in by_kind["patient"]] == [f"pat:pat-1:20260503T09{m:02d}" for m in range(0, 30, 5)]
    assert claims == sorted(claims, key=lambda c: (c.bucket.date(), c.id))


def test_slot_ids_round_trip_and_bad_ones_name_the_field():
    start = datetime(2026, 3, 8, 14, 30, tzinfo=UTC)
    assert parse_slot_id(slot_id("p", "l", "s", start)) == ("p", "l", "s", start)
    for bad in ("", "p.l.s", "p.l.s.yesterday", "..s.20260308T1430Z"):
        with pytest.raises(Invalid) as exc:
            parse_slot_id(bad)
        assert exc.value.extra == {"field": "slot_id"}


# -- book ---------------------------------------------------------------------------------------


def test_book_moves_pending_to_booked_and_raises_appointment_booked_with_practitioner_name():
    appt = requested()
    assert appt.book("Dr Ada Okafor", LATER) is True

    assert appt.status is Status.BOOKED
    assert appt.updated_at == LATER
    assert appt.requested_at == NOW
    assert appt.take_events() == [
        AppointmentBooked(
            appointment_id="appt-1",
            patient_id="pat-1",
            practitioner_id="prac-1",
            practitioner_name="Dr Ada Okafor",
            service_code="99213",
            start=appt.start,
            end=appt.end,
        )
    ]


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
    assert appt.take_events() == [
        AppointmentDeclined(
            appointment_id="appt-1",
            patient_id="pat-1",
            service_code="99213",
            start=appt.start,
            reason_code="coverage_inactive",
        )
    ]


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


# -- calendar models ----------------------------------------------------------------------------


def test_practitioner_details_reject_an_unknown_time_zone():
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        PractitionerDetails(name="Dr X", time_zone="Mars/Olympus_Mons")


def test_a_location_needs_a_zone_and_unique_rooms():
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        LocationDetails(name="Clinic", time_zone="Nowhere/Else", rooms=[Room(id="R1")])
    with pytest.raises(ValidationError, match="unique"):
        LocationDetails(name="Clinic", time_zone="UTC", rooms=[Room(id="R1"), Room(id="R1")])
    with pytest.raises(ValidationError):
        LocationDetails(name="Clinic", time_zone="UTC", rooms=[])


@pytest.mark.parametrize(
    "code,ok", [("99213", True), ("0001F", True), ("G0438", True), ("9921", False), ("ABCDE", False)]
)
def test_service_codes_are_cpt_or_hcpcs(code, ok):
    if ok:
        assert ServiceTypeDetails(code=code, name="Visit", duration_minutes=30).code == code
    else:
        with pytest.raises(ValidationError):
            ServiceTypeDetails(code=code, name="Visit", duration_minutes=30)


@pytest.mark.parametrize(
    "value",
    [
        {"day": "mon", "start": "09:02", "end": "12:00", "room": "R1"},
        {"day": "mon", "start": "09:00", "end": "09:00", "room": "R1"},
        {"day": "funday", "start": "09:00", "end": "10:00", "room": "R1"},
        {"day": "mon", "start": "09:00:30", "end": "10:00", "room": "R1"},
    ],
    ids=["off-step", "empty", "bad-day", "seconds"],
)
def test_windows_are_ordered_five_minute_local_times(value):
    with pytest.raises(ValidationError):
        Window.model_validate(value)


def test_time_off_is_whole_days_or_the_same_hours_each_day():
    assert TimeOff(start_date=date(2026, 12, 24), end_date=date(2026, 12, 26)).whole_day
    with pytest.raises(ValidationError, match="both"):
        TimeOff(start_date=date(2026, 12, 24), start_time=time(9))
    with pytest.raises(ValidationError, match="before"):
        TimeOff(start_date=date(2026, 12, 24), end_date=date(2026, 12, 23))


def test_template_buffers_and_intervals_are_multiples_of_five_minutes():
    with pytest.raises(ValidationError, match="multiple of 5"):
        TemplateSpec(service_type_ids=["s"], buffer_after_minutes=7)
    with pytest.raises(ValidationError):
        ServiceTypeDetails(code="99213", name="Visit", duration_minutes=32)


def test_check_template_names_the_field_at_fault():
    location = Location(id="loc", details=LocationDetails(name="C", time_zone="UTC", rooms=[Room(id="R1")]))
    services = {"s": ServiceType(id="s", details=ServiceTypeDetails(code="99213", name="V", duration_minutes=30))}
    windows = [
        Window(day="mon", start=time(9), end=time(12), room="R1"),
        Window(day="mon", start=time(11), end=time(13), room="R1"),
    ]
    with pytest.raises(Invalid) as exc:
        check_template(TemplateSpec(service_type_ids=["s"], weekly=windows), location, services)
    assert exc.value.extra == {"field": "weekly.1.start"}
    with pytest.raises(Invalid) as exc:
        check_template(
            TemplateSpec(service_type_ids=["s"], weekly=[Window(day="tue", start=time(9), end=time(12), room="R9")]),
            location,
            services,
        )
    assert exc.value.extra == {"field": "weekly.0.room"}
    with pytest.raises(NotFound) as exc:
        check_template(TemplateSpec(service_type_ids=["s", "x"]), location, services)
    assert exc.value.extra == {"field": "service_type_ids.1"}
