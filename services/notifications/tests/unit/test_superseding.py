"""The supersede rule (pure): which appointment message a later change of the appointment makes
obsolete, whatever the order the events arrive in, and the state a superseded message ends in."""

from datetime import UTC, datetime, timedelta

import pytest

from caremesh_contracts import AppointmentBooked, AppointmentRescheduled, PatientRegistered
from caremesh_notifications.domain import (
    Appointment,
    Channel,
    Contact,
    Content,
    Message,
    MessageStatus,
    Route,
    VisitStatus,
)
from caremesh_notifications.domain.reminders import reminder_source
from caremesh_notifications.domain.superseding import Superseded, superseded

H = timedelta(hours=1)
NOW = datetime(2026, 5, 1, 5, 40, tzinfo=UTC)
A, B, C = (datetime(2026, 5, 20, 14, tzinfo=UTC) + i * H for i in range(3))
APPT = "appt-1"
PATIENT = Contact.from_registration(
    PatientRegistered(patient_id="pat-1", given_name="Amara", email="amara@example.org", time_zone="UTC")
)


def booked(start: datetime = A) -> AppointmentBooked:
    return AppointmentBooked(
        appointment_id=APPT,
        patient_id="pat-1",
        practitioner_id="pr",
        practitioner_name="Dr. Ada",
        service_code="99213",
        start=start,
        end=start + H / 2,
    )


def moved(previous: datetime, start: datetime) -> AppointmentRescheduled:
    return AppointmentRescheduled(
        appointment_id=APPT,
        patient_id="pat-1",
        practitioner_id="pr",
        practitioner_name="Dr. Ada",
        service_code="99213",
        previous_start=previous,
        start=start,
        end=start + H / 2,
        status="booked",
    )


def visit() -> Appointment:
    """Booked at A (plan 1), as the booking event leaves it."""
    a = Appointment.seen(APPT, "pat-1", "99213")
    a.book(booked())
    return a


def message(kind: str, source: str, plan: int | None) -> Message:
    """A held message of ``kind`` caused by ``source``, stating the appointment's plan ``plan``."""
    content = Content(template=kind, text="…")
    return Message.compose(
        f"m-{kind}", PATIENT, APPT, content, NOW, source=source, not_before=NOW + 2 * H, appointment_plan=plan
    )


CONFIRMATIONS = ["appointment.booked", "family.appointment.booked"]
MOVES = ["appointment.rescheduled", "family.appointment.rescheduled"]
ENDINGS = ["appointment.cancelled", "family.appointment.cancelled", "appointment.declined", "appointment.no_show"]
REMINDERS = ["appointment.reminder", "family.appointment.reminder"]


# -- booked ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CONFIRMATIONS)
def test_a_held_confirmation_stands_while_the_visit_is_as_booked(kind):
    assert superseded(message(kind, "ev-book", 1), visit()) is None


@pytest.mark.parametrize("kind", CONFIRMATIONS)
@pytest.mark.parametrize("ending", [VisitStatus.CANCELLED, VisitStatus.NO_SHOW, VisitStatus.DECLINED])
def test_an_ending_supersedes_a_held_confirmation(kind, ending):
    a = visit()
    a.end(ending, A, "ev-end")
    assert superseded(message(kind, "ev-book", 1), a) == Superseded(reason=f"appointment {ending.value}", by="ev-end")


@pytest.mark.parametrize("kind", CONFIRMATIONS)
def test_a_reschedule_supersedes_the_confirmation_of_the_old_time(kind):
    a = visit()
    a.move(moved(A, B), "ev-move", NOW)
    assert superseded(message(kind, "ev-book", 1), a) == Superseded(reason="appointment moved", by="ev-move")


def test_a_confirmation_composed_after_the_move_states_the_new_time_and_stands():
    a = Appointment.seen(APPT, "pat-1", "99213")
    a.move(moved(A, B), "ev-move", NOW)  # the move overtook the booking
    a.book(booked())
    assert superseded(message("appointment.booked", "ev-book", a.plan), a) is None


def test_a_stale_booking_after_a_cancellation_changes_nothing():
    a = visit()
    a.end(VisitStatus.CANCELLED, A, "ev-cancel")
    assert a.book(booked()) is False  # nothing to resurrect: the visit stays cancelled
    assert superseded(message("appointment.booked", "ev-book", 1), a) == Superseded(
        reason="appointment cancelled", by="ev-cancel"
    )


# -- rescheduled ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", MOVES)
def test_a_later_move_supersedes_a_held_move_notice(kind):
    a = visit()
    a.move(moved(A, B), "ev-move-1", NOW)
    held = message(kind, "ev-move-1", a.plan)
    assert superseded(held, a) is None
    a.move(moved(B, C), "ev-move-2", NOW + H)
    assert superseded(held, a) == Superseded(reason="appointment moved again", by="ev-move-2")


@pytest.mark.parametrize("kind", MOVES)
def test_a_cancellation_supersedes_a_held_move_notice(kind):
    a = visit()
    a.move(moved(A, B), "ev-move", NOW)
    a.end(VisitStatus.CANCELLED, B, "ev-cancel")
    assert superseded(message(kind, "ev-move", a.plan), a) == Superseded(reason="appointment cancelled", by="ev-cancel")


# -- endings --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ENDINGS)
def test_an_ending_notice_is_final(kind):
    a = visit()
    a.end(VisitStatus.CANCELLED, A, "ev-end")
    held = message(kind, "ev-end", a.plan)
    assert superseded(held, a) is None
    # Nothing that arrives later changes the visit, so nothing supersedes its notice.
    a.book(booked())
    a.move(moved(A, B), "ev-move", NOW + H)
    a.end(VisitStatus.NO_SHOW, A, "ev-other")
    assert superseded(held, a) is None


def test_an_ending_that_did_not_take_effect_is_not_told():
    a = visit()
    a.end(VisitStatus.CANCELLED, A, "ev-cancel")
    assert a.end(VisitStatus.NO_SHOW, A, "ev-no-show") is False
    assert not a.ended_here("ev-no-show") and a.ended_here("ev-cancel")
    assert superseded(message("appointment.no_show", "ev-no-show", a.plan), a) == Superseded(
        reason="appointment cancelled", by="ev-cancel"
    )


# -- reminders ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", REMINDERS)
def test_reminders_follow_the_plan_and_the_visit(kind):
    a = visit()
    held = message(kind, reminder_source(APPT, a.plan, "24h"), a.plan)
    assert superseded(held, a) is None
    a.move(moved(A, B), "ev-move", NOW)
    assert superseded(held, a) == Superseded(reason="appointment moved", by="ev-move")
    a.end(VisitStatus.CANCELLED, B, "ev-cancel")
    assert superseded(held, a) == Superseded(reason="appointment cancelled", by="ev-cancel")


def test_a_reminder_stored_before_messages_carried_a_plan_is_judged_by_its_key():
    a = visit()
    held = message("appointment.reminder", reminder_source(APPT, 1, "24h"), None)
    assert superseded(held, a) is None
    a.move(moved(A, B), "ev-move", NOW)
    assert superseded(held, a) == Superseded(reason="appointment moved", by="ev-move")


def test_a_reminder_of_an_appointment_not_known_here_does_not_go():
    held = message("appointment.reminder", reminder_source(APPT, 1, "24h"), 1)
    assert superseded(held, None) == Superseded(reason="appointment unknown", by=None)


# -- others, and the state ------------------------------------------------------------------------


def test_a_survey_invitation_is_never_superseded():
    a = visit()
    a.end(VisitStatus.FULFILLED, A, "ev-done")
    assert superseded(message("survey.invitation", "survey:1", None), a) is None


def test_supersede_records_the_event_and_stops_only_a_message_not_yet_sent():
    held = message("appointment.booked", "ev-book", 1)
    why = Superseded(reason="appointment cancelled", by="ev-cancel")
    assert held.supersede(why) is True
    assert (held.status, held.superseded_by, held.failure) == (
        MessageStatus.SUPERSEDED,
        "ev-cancel",
        "appointment cancelled",
    )
    assert held.supersede(why) is False and not held.claimable(NOW + 3 * H, H)
    sent = message("appointment.booked", "ev-book", 1)
    sent.claim(NOW)
    sent.mark_sent("smtp-1", NOW)
    assert sent.supersede(why) is False and sent.status is MessageStatus.SENT


def test_a_fallback_states_the_same_plan():
    held = message("appointment.booked", "ev-book", 1)
    held.fallbacks = [Route(channel=Channel.SMS, to="+15555550123")]
    assert held.fallback("m-2", Content(template="appointment.booked", text="…"), NOW).appointment_plan == 1
