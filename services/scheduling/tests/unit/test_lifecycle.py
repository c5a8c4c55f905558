"""The appointment lifecycle as a state machine: every legal move, every illegal one."""

from datetime import UTC, datetime, timedelta

import pytest

from caremesh_contracts import (
    AppointmentArrived,
    AppointmentAwaitingAuthorization,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentHoldExpired,
    AppointmentNoShowRecorded,
    AppointmentRescheduled,
)
from caremesh_kit.errors import Conflict, Invalid
from caremesh_scheduling.domain import TRANSITIONS, Action, Appointment, CancelReason, Payment, Slot, Status

START = datetime(2030, 3, 1, 15, 0, tzinfo=UTC)
AT_START = START + timedelta(minutes=5)


def appointment(status: Status) -> Appointment:
    return Appointment(
        id="a1",
        patient_id="p1",
        practitioner_id="pr1",
        slot_id="s1",
        service_code="99213",
        start=START,
        end=START + timedelta(minutes=30),
        status=status,
        requested_at=START - timedelta(days=3),
        updated_at=START - timedelta(days=3),
        hold_expires_at=START - timedelta(hours=1),
        service_type_id="st1",
    )


MOVES = {
    Status.BOOKED: (lambda a: a.book("Dr. X", AT_START), AppointmentBooked),
    Status.DECLINED: (lambda a: a.decline("no_coverage", AT_START), AppointmentDeclined),
    Status.WAITING_ON_AUTHORIZATION: (
        lambda a: a.wait_on_authorization("au1", AT_START, timedelta(days=3)),
        AppointmentAwaitingAuthorization,
    ),
    Status.EXPIRED: (lambda a: a.expire_hold(AT_START), AppointmentHoldExpired),
    Status.CANCELLED: (lambda a: a.cancel(CancelReason.PATIENT, "u1", "patient", AT_START), AppointmentCancelled),
    Status.ARRIVED: (lambda a: a.check_in(AT_START), AppointmentArrived),
    Status.FULFILLED: (lambda a: a.complete("Dr. X", AT_START), AppointmentFulfilled),
    Status.NO_SHOW: (lambda a: a.mark_no_show(AT_START), AppointmentNoShowRecorded),
}
LEGAL = [(s, t) for s, targets in TRANSITIONS.items() for t in targets]
# Into pending there is no move to try: only a new request lands there (from requested).
ILLEGAL = [(s, t) for s in Status for t in MOVES if t not in TRANSITIONS[s] and t is not s]


def test_the_lifecycle_is_the_documented_one():
    W = Status.WAITING_ON_AUTHORIZATION
    assert TRANSITIONS[Status.REQUESTED] == {Status.PENDING, W, Status.CANCELLED}
    assert TRANSITIONS[Status.PENDING] == {W, Status.BOOKED, Status.DECLINED, Status.EXPIRED, Status.CANCELLED}
    assert TRANSITIONS[W] == {Status.BOOKED, Status.EXPIRED, Status.CANCELLED}
    assert TRANSITIONS[Status.BOOKED] == {Status.ARRIVED, Status.NO_SHOW, Status.CANCELLED}
    assert TRANSITIONS[Status.ARRIVED] == {Status.FULFILLED, Status.CANCELLED}
    for final in (Status.DECLINED, Status.EXPIRED, Status.FULFILLED, Status.NO_SHOW, Status.CANCELLED):
        assert TRANSITIONS[final] == frozenset()


MOVED = [(s, t) for s, t in LEGAL if t is not Status.PENDING]


@pytest.mark.parametrize("current,target", MOVED, ids=[f"{s}->{t}" for s, t in MOVED])
def test_each_legal_move_changes_state_and_raises_its_event(current, target):
    appt = appointment(current)
    move, event_type = MOVES[target]
    assert move(appt) is True
    assert appt.status is target
    [event] = appt.take_events()
    assert type(event) is event_type and event.appointment_id == "a1"
    assert move(appt) is False and appt.take_events() == []  # a repeat changes nothing


@pytest.mark.parametrize("current,target", ILLEGAL, ids=[f"{s}->{t}" for s, t in ILLEGAL])
def test_each_illegal_move_is_a_conflict_naming_both_states(current, target):
    appt = appointment(current)
    with pytest.raises(Conflict) as exc:
        MOVES[target][0](appt)
    assert exc.value.extra == {"current": current.value, "requested": target.value}
    assert appt.status is current and appt.take_events() == []


def test_there_are_illegal_moves_from_every_state():
    assert {s for s, _ in ILLEGAL} == set(Status)
    assert {t for _, t in LEGAL} - set(MOVES) == {Status.PENDING}  # every other target has its move


@pytest.mark.parametrize("hours_before,late", [(25, False), (24, True), (1, True)])
def test_cancellation_within_24_hours_is_late(hours_before, late):
    appt = appointment(Status.BOOKED)
    appt.cancel(CancelReason.PROVIDER, "coord-1", "staff", START - timedelta(hours=hours_before), note="sick")
    [event] = appt.take_events()
    assert event.late is late and event.reason_code == "prov" and event.cancelled_by_role == "staff"
    assert appt.cancellation.by == "coord-1" and appt.cancellation.note == "sick"
    assert not appt.holds_slot


def test_no_show_only_after_the_start_and_check_in_only_close_to_it():
    with pytest.raises(Invalid):
        appointment(Status.BOOKED).mark_no_show(START - timedelta(minutes=1))
    with pytest.raises(Invalid):
        appointment(Status.BOOKED).check_in(START - timedelta(hours=3))
    appt = appointment(Status.BOOKED)
    assert appt.check_in(START - timedelta(minutes=90))


def slot(start: datetime, practitioner: str = "pr2", service_type: str = "st1") -> Slot:
    return Slot(
        practitioner_id=practitioner,
        location_id="l1",
        service_type_id=service_type,
        service_code="99213",
        room="R2",
        start=start,
        end=start + timedelta(minutes=30),
        buffer_before=timedelta(minutes=5),
        buffer_after=timedelta(),
        time_zone="America/Chicago",
    )


def test_a_request_is_held_for_a_while_and_the_hold_runs_out():
    now = START - timedelta(days=2)
    appt = Appointment.request("a2", "p1", slot(START), now, hold=timedelta(minutes=10))
    assert appt.status is Status.PENDING and appt.hold_expires_at == now + timedelta(minutes=10)
    appt.take_events()
    assert not appt.hold_due(now + timedelta(minutes=9))
    with pytest.raises(Invalid):
        appt.expire_hold(now + timedelta(minutes=9))
    assert appt.hold_due(now + timedelta(minutes=10))
    assert appt.expire_hold(now + timedelta(minutes=10)) and not appt.holds_slot
    [event] = appt.take_events()
    assert event.held_as == "pending" and event.appointment_id == "a2"
    assert appt.expire_hold(now + timedelta(minutes=11)) is False  # once


def test_a_hold_never_outlasts_the_start():
    near = Appointment.request("a3", "p1", slot(START), START - timedelta(minutes=5), hold=timedelta(hours=1))
    assert near.hold_expires_at == START
    near.wait_on_authorization("au1", START - timedelta(minutes=4), timedelta(days=7))
    assert near.hold_expires_at == START


def test_waiting_on_authorization_holds_longer_and_booked_holds_for_good():
    appt = appointment(Status.PENDING)
    now = START - timedelta(days=5)
    assert appt.wait_on_authorization("au1", now, timedelta(days=2))
    assert appt.hold_expires_at == now + timedelta(days=2) and appt.authorization_id == "au1"
    assert appt.wait_on_authorization("au1", now, timedelta(days=2)) is False
    appt.book("Dr. X", now)
    assert appt.hold_expires_at is None and not appt.hold_due(START + timedelta(days=1))


@pytest.mark.parametrize("minutes_after_end,due", [(29, False), (30, True)])
def test_automatic_no_show_is_due_the_grace_after_the_end(minutes_after_end, due):
    appt = appointment(Status.BOOKED)
    now = appt.end + timedelta(minutes=minutes_after_end)
    assert appt.no_show_due(now, timedelta(minutes=30)) is due
    for other in (Status.ARRIVED, Status.PENDING, Status.CANCELLED):
        assert not appointment(other).no_show_due(now, timedelta(minutes=30))
    if due:
        appt.mark_no_show(now, automatic=True)
        assert appt.no_show_automatic and appt.status is Status.NO_SHOW


def test_reschedule_moves_time_place_and_claims_keeping_the_status():
    appt = appointment(Status.BOOKED)
    old_claims = {c.id for c in appt.claims()}
    later = START + timedelta(days=1)
    assert appt.reschedule(slot(later), "Dr. Y", START - timedelta(days=1))
    [event] = appt.take_events()
    assert type(event) is AppointmentRescheduled and event.previous_start == START and event.start == later
    assert event.status == "booked" and event.practitioner_name == "Dr. Y"
    assert (appt.practitioner_id, appt.room, appt.start, appt.previous_starts) == ("pr2", "R2", later, [START])
    assert appt.status is Status.BOOKED and not old_claims & {c.id for c in appt.claims()}
    assert appt.reschedule(slot(later), "Dr. Y", START) is False  # already there


@pytest.mark.parametrize(
    "status", [Status.ARRIVED, Status.FULFILLED, Status.NO_SHOW, Status.CANCELLED, Status.DECLINED, Status.EXPIRED]
)
def test_only_appointments_still_to_come_are_rescheduled(status):
    with pytest.raises(Conflict) as exc:
        appointment(status).reschedule(slot(START + timedelta(days=1)), "Dr. Y", START - timedelta(days=1))
    assert exc.value.extra == {"current": status.value, "requested": "rescheduled"}


def test_reschedule_keeps_the_service_and_refuses_the_past():
    with pytest.raises(Invalid):
        appointment(Status.BOOKED).reschedule(slot(START + timedelta(days=1), service_type="st9"), "Dr", START)
    with pytest.raises(Invalid):
        appointment(Status.BOOKED).reschedule(slot(START - timedelta(days=1)), "Dr", START)


def test_flags_follow_the_latest_insurance_word_whatever_the_delivery_order():
    appt = appointment(Status.BOOKED)
    t1, t2 = START - timedelta(days=2), START - timedelta(days=1)
    assert appt.flag(Action.ELIGIBILITY_DENIED, t2, "coverage_inactive")
    assert appt.flag(Action.ELIGIBILITY_DENIED, t2) is False  # redelivered
    assert appt.clear_flag(t1, Action.ELIGIBILITY_DENIED) is False  # an older confirmation, late
    assert (appt.needs_action.reason, appt.needs_action.reason_code) == (Action.ELIGIBILITY_DENIED, "coverage_inactive")
    assert appt.clear_flag(t2 + timedelta(seconds=1), Action.ELIGIBILITY_DENIED)
    assert appt.flag(Action.AUTHORIZATION_DENIED, t1) is False  # older than what was applied
    for done in (Status.ARRIVED, Status.CANCELLED, Status.FULFILLED):
        assert appointment(done).flag(Action.AUTHORIZATION_EXPIRED, t2) is False


def test_self_pay_books_and_ignores_insurance_from_then_on():
    appt = appointment(Status.WAITING_ON_AUTHORIZATION)
    appt.flag(Action.AUTHORIZATION_DENIED, START - timedelta(days=1), "A3")
    assert appt.self_pay("Dr. X", START - timedelta(hours=30))
    [event] = appt.take_events()
    assert type(event) is AppointmentBooked
    assert appt.status is Status.BOOKED and appt.payment is Payment.SELF_PAY and appt.needs_action is None
    assert appt.self_pay("Dr. X", START) is False
    assert appt.flag(Action.ELIGIBILITY_DENIED, START) is False
    booked = appointment(Status.BOOKED)
    booked.flag(Action.ELIGIBILITY_DENIED, START - timedelta(days=1))
    assert booked.self_pay("Dr. X", START) and booked.take_events() == [] and booked.needs_action is None
    with pytest.raises(Conflict) as exc:
        appointment(Status.CANCELLED).self_pay("Dr. X", START)
    assert exc.value.extra == {"current": "cancelled", "requested": "booked"}
