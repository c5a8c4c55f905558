"""A visit moved by scheduling: its local date, the check re-decided for the new day (once, never
moved back by a stale reschedule), and the authorization units that follow it (pure)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from caremesh_contracts import AuthorizationApproved, EligibilityConfirmed, EligibilityDenied
from caremesh_insurance.domain import (
    AppointmentStatus,
    Decision,
    DenialReason,
    EligibilityCheck,
    EligibilityResult,
    Outcome,
    Trigger,
)
from caremesh_insurance.domain.authorization import Approval, LinkState, PriorAuthorization, Priority
from caremesh_insurance.domain.eligibility.check import local_day

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
START = datetime(2026, 4, 14, 8, 0, tzinfo=UTC)  # 10:00 in Amsterdam
CONFIRMED = EligibilityResult(decision=Decision(outcome=Outcome.CONFIRMED, coverage_id="cov-1"), adapter="rules")
INACTIVE = EligibilityResult(
    decision=Decision(outcome=Outcome.DENIED, reason=DenialReason.COVERAGE_INACTIVE), adapter="rules"
)


@pytest.mark.parametrize(
    ("known_start", "known_day", "start", "day"),
    [
        (START, date(2026, 4, 14), START + timedelta(days=1), date(2026, 4, 15)),
        # 16:00 in Los Angeles is 23:00 UTC; 17:00 there is past midnight UTC, still the 14th there.
        (
            datetime(2026, 4, 14, 23, 0, tzinfo=UTC),
            date(2026, 4, 14),
            datetime(2026, 4, 15, 0, 0, tzinfo=UTC),
            date(2026, 4, 14),
        ),
        # 09:00 in Tokyo is 00:00 UTC; moved to 08:00 there (the day before in UTC), still the 15th.
        (
            datetime(2026, 4, 15, 0, 0, tzinfo=UTC),
            date(2026, 4, 15),
            datetime(2026, 4, 14, 23, 0, tzinfo=UTC),
            date(2026, 4, 15),
        ),
        (START.replace(tzinfo=None), date(2026, 4, 14), START + timedelta(days=2), date(2026, 4, 16)),  # naive: UTC
    ],
)
def test_the_new_local_date_follows_from_a_start_whose_date_is_known(known_start, known_day, start, day):
    assert local_day(start, known_start, known_day) == day


def check(result: EligibilityResult = CONFIRMED, **kw) -> EligibilityCheck:
    c = EligibilityCheck.for_appointment("a-1", "p-1", "99213", START.date(), START, result, NOW, {"cov-1": 1}, **kw)
    c.take_events()
    return c


def move(c: EligibilityCheck, start: datetime, at: datetime, move_id: str, result=CONFIRMED, previous=None, **kw):
    return c.move(
        start,
        previous or c.start,
        at,
        move_id,
        result,
        NOW,
        {"cov-1": 1},
        authorization_id=kw.get("authorization_id"),
        awaiting_authorization=kw.get("awaiting_authorization", False),
    )


def test_a_move_re_decides_for_the_new_day_and_says_so_even_when_the_decision_stands():
    c = check()
    c.pre_visit_done = True
    assert move(c, START + timedelta(days=1), NOW, "ev-1")
    assert (c.service_date, c.start, c.latest.trigger) == (
        date(2026, 4, 15),
        START + timedelta(days=1),
        Trigger.RESCHEDULED,
    )
    [event] = c.take_events()
    assert isinstance(event, EligibilityConfirmed) and event.trigger == "rescheduled"
    assert not c.pre_visit_done  # the new day gets its own pre-visit re-check


def test_a_move_to_a_day_the_coverage_does_not_reach_denies():
    c = check()
    assert move(c, START + timedelta(days=1), NOW, "ev-1", result=INACTIVE)
    [event] = c.take_events()
    assert isinstance(event, EligibilityDenied) and (event.reason_code, event.trigger) == (
        "coverage_inactive",
        "rescheduled",
    )


def test_a_redelivered_or_stale_move_changes_nothing():
    c = check()
    later, earlier = NOW + timedelta(minutes=5), NOW
    assert move(c, START + timedelta(days=2), later, "ev-2")  # the second move arrives first
    c.take_events()
    assert not move(c, START + timedelta(days=2), later, "ev-2")  # redelivered
    assert not move(c, START + timedelta(days=1), earlier, "ev-1", previous=START)  # the first, late
    assert (c.service_date, len(c.runs), c.take_events()) == (date(2026, 4, 16), 2, [])


def test_on_a_tie_in_time_only_a_move_from_where_the_visit_stands_counts():
    c = check()
    assert move(c, START + timedelta(days=1), NOW, "ev-1")
    assert not c.move_due(START + timedelta(days=3), START + timedelta(days=7), NOW, "ev-x")
    assert c.move_due(START + timedelta(days=3), START + timedelta(days=1), NOW, "ev-2")


def test_no_move_for_a_visit_that_no_longer_takes_place_or_did_not_move():
    c = check()
    assert not c.move_due(START, START, NOW, "ev-0")  # same start
    c.appointment_ended(AppointmentStatus.CANCELLED)
    assert not move(c, START + timedelta(days=1), NOW, "ev-1")


def test_a_move_waiting_on_an_authorization_does_not_confirm():
    c = check()
    assert move(c, START + timedelta(days=1), NOW, "ev-1", authorization_id="pa-2", awaiting_authorization=True)
    assert (c.authorization_id, c.awaiting_authorization, c.take_events()) == ("pa-2", True, [])


# -- the authorization's units follow the visit ------------------------------------------------------


def approved(valid_to: date = date(2026, 4, 14), units: int = 2) -> PriorAuthorization:
    a = PriorAuthorization.require(
        "pa-1", "p-1", "cov-1", "Acme", "97110", "a-1", "system", NOW, service_date=date(2026, 4, 14), provider_id="pr"
    )
    a.draft("coord", NOW)
    a.submit(Priority.STANDARD, units, "coord", NOW)
    a.approve(
        Approval(authorization_number="AUTH1", approved_units=units, valid_from=date(2026, 4, 1), valid_to=valid_to),
        "coord",
        NOW,
    )
    a.take_events()
    return a


def test_a_held_unit_moves_with_a_visit_the_approval_still_covers():
    a = approved(valid_to=date(2026, 4, 30))
    assert a.move("a-1", date(2026, 4, 15), "pr", NOW)
    assert (a.links[0].state, a.links[0].service_date, a.units_held, a.take_events()) == (
        LinkState.COVERED,
        date(2026, 4, 15),
        1,
        [],
    )
    assert not a.move("a-1", date(2026, 4, 15), "pr", NOW)  # redelivered


def test_a_visit_moved_past_the_approval_lets_its_unit_go_and_back_takes_it_again():
    a = approved(valid_to=date(2026, 4, 14))
    assert a.move("a-1", date(2026, 4, 15), "pr", NOW)
    [gone] = a.take_events()
    assert isinstance(gone, AuthorizationApproved) and (gone.appointment_id, gone.covers_appointment) == ("a-1", False)
    assert (a.links[0].state, a.units_held) == (LinkState.NOT_COVERED, 0)
    assert a.move("a-1", date(2026, 4, 14), "pr", NOW)
    [back] = a.take_events()
    assert back.covers_appointment and (a.links[0].state, a.units_held) == (LinkState.COVERED, 1)


def test_a_visit_waiting_on_the_decision_waits_with_its_new_day():
    a = PriorAuthorization.require(
        "pa-1", "p-1", "cov-1", "Acme", "97110", "a-1", "system", NOW, service_date=date(2026, 4, 14), provider_id="pr"
    )
    a.take_events()
    assert a.move("a-1", date(2026, 4, 15), "pr-2", NOW)
    link = a.links[0]
    assert (link.state, link.service_date, link.provider_id, a.take_events()) == (
        LinkState.WAITING,
        date(2026, 4, 15),
        "pr-2",
        [],
    )
