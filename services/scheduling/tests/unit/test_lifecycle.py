"""The appointment lifecycle as a state machine: every legal move, every illegal one."""

from datetime import UTC, datetime, timedelta

import pytest
from caremesh_contracts import (
    AppointmentArrived,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
)
from caremesh_kit.errors import Conflict, Invalid
from caremesh_scheduling.domain import TRANSITIONS, Appointment, CancelReason, Status

START = datetime(2030, 3, 1, 15, 0, tzinfo=UTC)
AT_START = START + timedelta(minutes=5)


def appointment(status: Status) -> Appointment:
    return Appointment(id="a1", patient_id="p1", practitioner_id="pr1", slot_id="s1", service_code="99213",
                       start=START, end=START + timedelta(minutes=30), status=status,
                       requested_at=START - timedelta(days=3), updated_at=START - timedelta(days=3))


MOVES = {
    Status.BOOKED: (lambda a: a.book("Dr. X", AT_START), AppointmentBooked),
    Status.DECLINED: (lambda a: a.decline("no_coverage", AT_START), AppointmentDeclined),
    Status.CANCELLED: (lambda a: a.cancel(CancelReason.PATIENT, "u1", "patient", AT_START), AppointmentCancelled),
    Status.ARRIVED: (lambda a: a.check_in(AT_START), AppointmentArrived),
    Status.FULFILLED: (lambda a: a.complete("Dr. X", AT_START), AppointmentFulfilled),
    Status.NO_SHOW: (lambda a: a.mark_no_show(AT_START), AppointmentNoShowRecorded),
}
LEGAL = [(s, t) for s, targets in TRANSITIONS.items() for t in targets]
ILLEGAL = [(s, t) for s in Status for t in MOVES if t not in TRANSITIONS[s] and t is not s]


def test_the_lifecycle_is_the_documented_one():
    assert TRANSITIONS[Status.PENDING] == {Status.BOOKED, Status.DECLINED, Status.CANCELLED}
    assert TRANSITIONS[Status.BOOKED] == {Status.ARRIVED, Status.NO_SHOW, Status.CANCELLED}
    assert TRANSITIONS[Status.ARRIVED] == {Status.FULFILLED, Status.CANCELLED}
    for final in (Status.DECLINED, Status.FULFILLED, Status.NO_SHOW, Status.CANCELLED):
        assert TRANSITIONS[final] == frozenset()


@pytest.mark.parametrize("current,target", LEGAL, ids=[f"{s}->{t}" for s, t in LEGAL])
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
