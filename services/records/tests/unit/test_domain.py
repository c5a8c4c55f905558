"""Unit tests of records' pure domain: patient registration and timeline entries."""

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from caremesh_contracts import AppointmentBooked, AppointmentDeclined, PatientRegistered
from caremesh_kit.errors import Invalid
from caremesh_records.domain import (
    Demographics,
    Patient,
    TimelineKind,
    entry_for_booking,
    entry_for_decline,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def demographics(**over) -> Demographics:
    values = dict(
        given_name="Amara",
        family_name="Nwosu",
        birth_date=date(1984, 2, 29),
        email="amara@example.org",
        phone="+447700900123",
        time_zone="Europe/London",
    )
    values.update(over)
    return Demographics(**values)


# -- register -----------------------------------------------------------------------------------


def test_register_raises_patient_registered_with_contact_details_only():
    patient = Patient.register("pat-1", demographics(), NOW)

    assert patient.id == "pat-1"
    assert patient.registered_at == NOW
    assert patient.demographics.family_name == "Nwosu"

    [event] = patient.take_events()
    assert event == PatientRegistered(
        patient_id="pat-1",
        given_name="Amara",
        email="amara@example.org",
        phone="+447700900123",
        time_zone="Europe/London",
    )
    # Minimum necessary: no family name, no birth date.
    assert set(event.model_dump()) == {"patient_id", "given_name", "email", "phone", "time_zone"}
    dumped = event.model_dump_json()
    assert "Nwosu" not in dumped
    assert "1984" not in dumped
    assert patient.take_events() == []


def test_register_with_email_only():
    patient = Patient.register("pat-1", demographics(phone=None), NOW)
    [event] = patient.take_events()
    assert (event.email, event.phone) == ("amara@example.org", None)


def test_register_with_phone_only():
    patient = Patient.register("pat-1", demographics(email=None), NOW)
    [event] = patient.take_events()
    assert (event.email, event.phone) == (None, "+447700900123")


def test_register_without_email_or_phone_is_invalid():
    with pytest.raises(Invalid) as exc:
        Patient.register("pat-1", demographics(email=None, phone=None), NOW)
    assert exc.value.extra == {"field": "email"}
    assert exc.value.status == 422


def test_register_with_a_future_birth_date_is_invalid():
    with pytest.raises(Invalid) as exc:
        Patient.register("pat-1", demographics(birth_date=date(2026, 5, 2)), NOW)
    assert exc.value.extra == {"field": "birth_date"}
    assert "future" in exc.value.detail


def test_register_accepts_a_birth_date_of_today():
    patient = Patient.register("pat-1", demographics(birth_date=date(2026, 5, 1)), NOW)
    assert patient.demographics.birth_date == date(2026, 5, 1)


def test_register_accepts_a_birth_date_of_today_in_the_patients_time_zone():
    # 12:00 UTC on 1 May is already 2 May in Kiritimati (UTC+14).
    d = demographics(birth_date=date(2026, 5, 2), time_zone="Pacific/Kiritimati")
    patient = Patient.register("pat-1", d, NOW)
    assert patient.demographics.birth_date == date(2026, 5, 2)


# -- Demographics validation --------------------------------------------------------------------


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "Europe/Londres", "", "../etc/passwd"])
def test_demographics_reject_unknown_time_zones(tz):
    with pytest.raises(ValidationError) as exc:
        demographics(time_zone=tz)
    assert exc.value.errors()[0]["loc"] == ("time_zone",)


def test_demographics_default_time_zone_is_utc():
    d = Demographics(given_name="A", family_name="B", birth_date=date(1990, 1, 1), email="a@example.org")
    assert d.time_zone == "UTC"


@pytest.mark.parametrize(
    "phone",
    [
        "07700900123",  # national format, no +
        "+07700900123",  # country code cannot start with 0
        "+44 7700 900123",  # spaces
        "+44-7700-900123",  # dashes
        "+12345",  # too short (under 7 digits)
        "+1234567890123456",  # too long (over 15 digits)
        "+447700900123\n",  # trailing newline
    ],
)
def test_demographics_reject_phones_that_are_not_e164(phone):
    with pytest.raises(ValidationError) as exc:
        demographics(phone=phone)
    assert exc.value.errors()[0]["loc"] == ("phone",)


@pytest.mark.parametrize("phone", ["+1234567", "+123456789012345", "+15555550123"])
def test_demographics_accept_e164_phones(phone):
    assert demographics(phone=phone).phone == phone


def test_demographics_reject_a_malformed_email():
    with pytest.raises(ValidationError) as exc:
        demographics(email="not-an-email")
    assert exc.value.errors()[0]["loc"] == ("email",)


def test_demographics_reject_empty_names():
    with pytest.raises(ValidationError):
        demographics(given_name="")


# -- timeline entries ---------------------------------------------------------------------------

START = datetime(2026, 5, 3, 9, 0, tzinfo=UTC)


def booked_event() -> AppointmentBooked:
    return AppointmentBooked(
        appointment_id="appt-1",
        patient_id="pat-1",
        practitioner_id="prac-1",
        practitioner_name="Dr Ada Okafor",
        service_code="99213",
        start=START,
        end=START + timedelta(minutes=30),
    )


def declined_event() -> AppointmentDeclined:
    return AppointmentDeclined(
        appointment_id="appt-1",
        patient_id="pat-1",
        service_code="99213",
        start=START,
        reason_code="service_not_covered",
    )


def test_entry_for_booking():
    entry = entry_for_booking("evt-42", booked_event(), recorded_at=NOW)
    assert entry.id == "evt-42"
    assert entry.patient_id == "pat-1"
    assert entry.kind is TimelineKind.APPOINTMENT_BOOKED
    assert entry.kind.value == "appointment.booked"
    assert entry.occurred_at == START
    assert entry.appointment_id == "appt-1"
    assert entry.summary == "Appointment booked with Dr Ada Okafor (99213)"


def test_entry_for_decline():
    entry = entry_for_decline("evt-43", declined_event(), recorded_at=NOW)
    assert entry.id == "evt-43"
    assert entry.patient_id == "pat-1"
    assert entry.kind is TimelineKind.APPOINTMENT_DECLINED
    assert entry.kind.value == "appointment.declined"
    assert entry.occurred_at == START
    assert entry.appointment_id == "appt-1"
    assert entry.summary == "Appointment request declined (service_not_covered)"


def test_timeline_summaries_carry_codes_not_reason_text():
    booked = entry_for_booking("evt-1", booked_event(), recorded_at=NOW).summary
    declined = entry_for_decline("evt-2", declined_event(), recorded_at=NOW).summary
    # Once the codes are taken out, only fixed wording is left: no service description, no
    # plain-language insurance reason, no service code in the decline.
    assert booked.replace("99213", "<code>") == "Appointment booked with Dr Ada Okafor (<code>)"
    assert declined.replace("service_not_covered", "<reason>") == "Appointment request declined (<reason>)"
    assert "99213" not in declined
    for plain in ("insurance", "plan", "does not cover", "not active"):
        assert plain not in declined.lower()


def test_entry_ids_follow_the_event_id_so_a_redelivery_maps_to_the_same_entry():
    a = entry_for_booking("evt-42", booked_event(), recorded_at=NOW)
    b = entry_for_booking("evt-42", booked_event(), recorded_at=NOW)
    c = entry_for_booking("evt-43", booked_event(), recorded_at=NOW)
    assert a.id == b.id == "evt-42"
    assert c.id == "evt-43"
    assert a.model_dump(exclude={"recorded_at"}) == b.model_dump(exclude={"recorded_at"})
