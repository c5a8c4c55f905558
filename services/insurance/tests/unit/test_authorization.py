"""The prior-authorization state machine and its CMS-0057-F deadlines (pure)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from caremesh_contracts import (
    AuthorizationApproved,
    AuthorizationExpired,
    AuthorizationOverdue,
    AuthorizationRequired,
    AuthorizationSubmitted,
    AuthorizationThresholdReached,
)
from caremesh_insurance.domain.authorization import (
    TRANSITIONS,
    Approval,
    Denial,
    PriorAuthorization,
    Priority,
    Status,
    decision_due,
)
from caremesh_kit.errors import Conflict, Invalid

T0 = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)  # a Friday


def auth(now=T0) -> PriorAuthorization:
    a = PriorAuthorization.require("pa-1", "p-1", "cov-1", "Acme", "97110", "appt-1", "system", now)
    return a


def submitted(priority=Priority.STANDARD, units=10, now=T0) -> PriorAuthorization:
    a = auth(now)
    a.draft("coord", now)
    a.submit(priority, units, "coord", now)
    a.take_events()
    return a


def approval(units=10, valid_to=date(2026, 12, 31), **kw) -> Approval:
    return Approval(
        authorization_number="AUTH123", approved_units=units, valid_from=date(2026, 3, 1), valid_to=valid_to, **kw
    )


# -- deadlines -----------------------------------------------------------------------------------


def test_urgent_is_72_hours_over_a_weekend():
    assert decision_due(Priority.URGENT, T0) == datetime(2026, 3, 9, 17, 0, tzinfo=UTC)  # Monday


def test_standard_is_7_calendar_days_weekends_included():
    assert decision_due(Priority.STANDARD, T0) == datetime(2026, 3, 13, 17, 0, tzinfo=UTC)  # next Friday


def test_calendar_days_cross_month_ends_and_leap_days():
    received = datetime(2028, 2, 25, 9, 30, tzinfo=UTC)
    assert decision_due(Priority.STANDARD, received) == datetime(2028, 3, 3, 9, 30, tzinfo=UTC)  # 29 Feb counts
    assert decision_due(Priority.URGENT, datetime(2026, 12, 30, 23, 0, tzinfo=UTC)) == datetime(
        2027, 1, 2, 23, 0, tzinfo=UTC
    )


def test_urgent_is_sooner_than_standard_for_the_same_receipt():
    assert decision_due(Priority.STANDARD, T0) - decision_due(Priority.URGENT, T0) == timedelta(days=4)


def test_standard_across_a_dst_change_is_168_hours():
    ny = ZoneInfo("America/New_York")
    received = datetime(2026, 3, 6, 12, 0, tzinfo=ny)  # clocks go forward on 8 March
    due = decision_due(Priority.STANDARD, received)
    assert due.astimezone(UTC) - received.astimezone(UTC) == timedelta(days=7)
    assert due.astimezone(ny).hour == 13  # a wall-clock hour later: the DST hour is counted


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError):
        decision_due(Priority.URGENT, datetime(2026, 3, 6))


def test_submission_sets_the_deadline_and_says_so():
    a = auth()
    a.draft("coord", T0)
    a.take_events()
    assert a.submit(Priority.URGENT, 3, "coord", T0)
    [event] = a.take_events()
    assert isinstance(event, AuthorizationSubmitted)
    assert event.decision_due == T0 + timedelta(hours=72) == a.decision_due and event.priority == "urgent"


def test_requirement_raises_its_event():
    [event] = auth().take_events()
    assert isinstance(event, AuthorizationRequired) and event.coverage_id == "cov-1"


# -- overdue, once --------------------------------------------------------------------------------


def test_overdue_is_reported_once_and_only_after_the_deadline():
    a = submitted(Priority.URGENT)
    assert not a.report_if_overdue(T0 + timedelta(hours=72))
    assert a.report_if_overdue(T0 + timedelta(hours=72, seconds=1))
    [event] = a.take_events()
    assert isinstance(event, AuthorizationOverdue) and event.decision_due == T0 + timedelta(hours=72)
    assert not a.report_if_overdue(T0 + timedelta(days=30))
    assert a.take_events() == [] and a.overdue


def test_a_pend_does_not_stop_the_clock():
    a = submitted()
    a.pend("coord", T0 + timedelta(days=2))
    assert a.report_if_overdue(T0 + timedelta(days=8))


def test_a_decision_ends_the_wait():
    a = submitted()
    a.approve(approval(), "coord", T0 + timedelta(days=1))
    assert not a.report_if_overdue(T0 + timedelta(days=8)) and not a.overdue


def test_an_appeal_starts_a_new_clock_and_may_be_overdue_again():
    a = submitted(Priority.URGENT)
    a.report_if_overdue(T0 + timedelta(days=4))
    a.deny(
        Denial(reason_code="N386", reason="Not medically necessary per plan policy"), "coord", T0 + timedelta(days=5)
    )
    appealed_at = T0 + timedelta(days=6)
    assert a.appeal("coord", appealed_at)
    assert a.decision_due == appealed_at + timedelta(hours=72) and not a.overdue_reported
    assert a.report_if_overdue(appealed_at + timedelta(hours=73))


# -- the state machine ----------------------------------------------------------------------------

ALL = list(Status)


@pytest.mark.parametrize(
    ("current", "target"), [(c, t) for c in ALL for t in ALL if t != c and t not in TRANSITIONS[c]]
)
def test_every_illegal_move_is_a_409_naming_both_states(current, target):
    a = auth()
    a.status = current
    with pytest.raises(Conflict) as err:
        a._move(target, "coord", T0)
    assert err.value.extra == {"current": current.value, "requested": target.value}
    assert a.status is current


def test_cancelled_is_reachable_from_every_state_that_is_not_final():
    for status, targets in TRANSITIONS.items():
        assert (Status.CANCELLED in targets) == (status not in (Status.EXPIRED, Status.CANCELLED))


def test_a_repeated_move_changes_nothing():
    a = submitted()
    assert not a.submit(Priority.STANDARD, 10, "coord", T0 + timedelta(days=1))
    assert a.submitted_at == T0 and a.take_events() == []


def test_units_must_be_positive():
    a = auth()
    a.draft("coord", T0)
    with pytest.raises(Invalid) as err:
        a.submit(Priority.STANDARD, 0, "coord", T0)
    assert err.value.extra["field"] == "units_requested" and a.status is Status.DRAFT


def test_fewer_units_than_requested_is_a_partial_approval():
    a = submitted(units=10)
    a.approve(approval(units=6), "coord", T0)
    assert a.status is Status.PARTIALLY_APPROVED
    [event] = a.take_events()
    assert isinstance(event, AuthorizationApproved) and event.partial and event.approved_units == 6
    assert a.appeal("coord", T0 + timedelta(days=1))  # a partial approval can be appealed


def test_another_service_approved_is_partial_too():
    a = submitted()
    a.approve(approval(service_code="97112"), "coord", T0)
    assert a.status is Status.PARTIALLY_APPROVED
    assert a.covers("97112", date(2026, 4, 1)) and not a.covers("97110", date(2026, 4, 1))


def test_the_same_approval_twice_changes_nothing_and_a_different_one_is_a_409():
    a = submitted()
    assert a.approve(approval(), "coord", T0)
    assert not a.approve(approval(), "coord", T0)
    with pytest.raises(Conflict):
        a.approve(approval(units=12), "coord", T0)


def test_an_approval_covers_its_service_period_and_provider():
    a = submitted()
    a.approve(approval(provider_id="pr-1"), "coord", T0)
    assert a.covers("97110", date(2026, 3, 1), "pr-1")
    assert not a.covers("97110", date(2027, 1, 1), "pr-1")
    assert not a.covers("97110", date(2026, 4, 1), "pr-2")
    assert not a.covers("99213", date(2026, 4, 1), "pr-1")


# -- units and expiry -----------------------------------------------------------------------------


def test_visits_use_units_once_each_and_running_low_is_told_once():
    a = submitted()
    a.approve(approval(units=10), "coord", T0)
    a.take_events()
    for i in range(7):
        assert a.count_visit(f"v{i}", T0)
    assert not a.count_visit("v0", T0)  # a redelivered fulfilment
    assert a.units_used == 7 and a.take_events() == []
    a.count_visit("v7", T0)  # 2 of 10 left: the renewal threshold
    [event] = a.take_events()
    assert isinstance(event, AuthorizationThresholdReached) and event.threshold == "units"
    assert event.units_remaining == 2
    a.count_visit("v8", T0)
    assert a.take_events() == []
    a.count_visit("v9", T0)
    [expired] = a.take_events()
    assert isinstance(expired, AuthorizationExpired) and expired.reason == "units_exhausted"
    assert a.status is Status.EXPIRED and not a.covers("97110", date(2026, 4, 1))


def test_the_end_of_the_period_is_told_ahead_then_expires():
    a = submitted()
    a.approve(approval(valid_to=date(2026, 6, 30)), "coord", T0)
    a.take_events()
    assert not a.review(datetime(2026, 6, 15, tzinfo=UTC))
    assert a.review(datetime(2026, 6, 16, tzinfo=UTC))
    [event] = a.take_events()
    assert event.threshold == "expiry"
    assert not a.review(datetime(2026, 6, 30, 23, tzinfo=UTC))
    assert a.review(datetime(2026, 7, 1, tzinfo=UTC))
    [expired] = a.take_events()
    assert isinstance(expired, AuthorizationExpired) and expired.reason == "period_ended"
    assert not a.review(datetime(2026, 8, 1, tzinfo=UTC))


def test_no_clinical_text_in_the_events():
    a = submitted()
    a.deny(Denial(reason_code="N386", reason="Not covered without a referral"), "coord", T0)
    [event] = a.take_events()
    assert set(event.model_dump()) == {
        "authorization_id",
        "patient_id",
        "appointment_id",
        "service_code",
        "reason_code",
        "reason",
        "appealable",
    }
