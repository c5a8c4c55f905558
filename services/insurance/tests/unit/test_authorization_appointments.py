"""Prior authorizations and the appointments that need them; the requests awaiting a decision,
with the times the payer received and decided them; when the sweeper next looks (pure)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from caremesh_contracts import (
    AuthorizationApproved,
    AuthorizationCancelled,
    AuthorizationDenied,
    AuthorizationExpired,
    AuthorizationRequired,
)
from caremesh_insurance.domain.authorization import Approval, Denial, LinkState, PriorAuthorization, Priority, Status
from caremesh_kit.errors import Invalid

T0 = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
APRIL = date(2026, 4, 1)


def waiting(*appointments: tuple[str, date], provider: str = "pr-1") -> PriorAuthorization:
    first, day = appointments[0]
    a = PriorAuthorization.require(
        "pa-1", "p-1", "cov-1", "Acme", "97110", first, "system", T0, service_date=day, provider_id=provider
    )
    for appt, d in appointments[1:]:
        a.attach(appt, d, provider, T0)
    a.take_events()
    return a


def submitted(a: PriorAuthorization, units: int = 10, **kw) -> PriorAuthorization:
    a.draft("coord", T0)
    a.submit(Priority.STANDARD, units, "coord", T0, **kw)
    a.take_events()
    return a


def approval(
    units: int = 10, valid_from: date = date(2026, 3, 1), valid_to: date = date(2026, 6, 30), **kw
) -> Approval:
    return Approval(authorization_number="AUTH1", approved_units=units, valid_from=valid_from, valid_to=valid_to, **kw)


def test_another_appointment_waits_on_an_open_authorization_and_says_so_once():
    a = waiting(("appt-1", APRIL))
    assert a.attach("appt-2", date(2026, 4, 8), "pr-1", T0)
    [event] = a.take_events()
    assert isinstance(event, AuthorizationRequired) and (event.appointment_id, event.authorization_id) == (
        "appt-2",
        "pa-1",
    )
    assert not a.attach("appt-2", date(2026, 4, 8), "pr-1", T0)  # a redelivery
    assert a.appointment_ids == ["appt-1", "appt-2"] and a.take_events() == []


def test_an_approval_covers_each_waiting_appointment_it_fits_and_says_which():
    a = submitted(waiting(("appt-1", APRIL), ("appt-2", date(2026, 8, 1)), ("appt-3", APRIL)))
    assert a.approve(approval(units=10, provider_id="pr-1"), "coord", T0)
    events = a.take_events()
    assert [(e.appointment_id, e.covers_appointment) for e in events] == [
        ("appt-1", True),
        ("appt-2", False),
        ("appt-3", True),
    ]  # appt-2 falls after the valid period
    assert all(isinstance(e, AuthorizationApproved) and e.authorization_number == "AUTH1" for e in events)
    assert [x.state for x in a.links] == [LinkState.COVERED, LinkState.NOT_COVERED, LinkState.COVERED]
    assert a.units_held == 2


def test_units_held_for_covered_visits_limit_what_else_fits():
    a = submitted(waiting(("appt-1", APRIL)), units=2)
    a.approve(approval(units=2), "coord", T0)
    assert a.reserve("appt-2", "97110", APRIL, "pr-1", T0)
    assert not a.covers("97110", APRIL, "pr-1")  # both units are held
    assert not a.reserve("appt-3", "97110", APRIL, "pr-1", T0)
    assert a.release("appt-2", T0) and a.covers("97110", APRIL, "pr-1")
    assert not a.release("appt-2", T0)


def test_fewer_units_than_waiting_appointments_leaves_the_last_uncovered():
    a = submitted(waiting(("appt-1", APRIL), ("appt-2", APRIL)), units=2)
    a.approve(approval(units=1), "coord", T0)
    assert [(e.appointment_id, e.covers_appointment, e.partial) for e in a.take_events()] == [
        ("appt-1", True, True),
        ("appt-2", False, True),
    ]


def test_an_approval_with_no_one_waiting_names_no_appointment():
    a = submitted(waiting(("appt-1", APRIL)))
    a.release("appt-1", T0)  # the visit was cancelled
    a.approve(approval(), "coord", T0)
    [event] = a.take_events()
    assert (event.appointment_id, event.covers_appointment) == (None, False)


def test_a_denial_tells_each_waiting_appointment_and_an_appeal_can_still_cover_them():
    a = submitted(waiting(("appt-1", APRIL), ("appt-2", APRIL)))
    a.deny(Denial(reason_code="N386", reason="Not covered without a referral"), "coord", T0 + timedelta(days=1))
    events = a.take_events()
    assert [type(e) for e in events] == [AuthorizationDenied, AuthorizationDenied]
    assert [e.appointment_id for e in events] == ["appt-1", "appt-2"]
    a.appeal("coord", T0 + timedelta(days=2))
    a.take_events()
    a.approve(approval(), "coord", T0 + timedelta(days=3))
    assert [e.covers_appointment for e in a.take_events()] == [True, True]


def test_cancelling_releases_waiting_and_covered_appointments():
    a = submitted(waiting(("appt-1", APRIL), ("appt-2", date(2027, 1, 1))))
    a.approve(approval(), "coord", T0)
    a.take_events()
    assert a.reserve("appt-3", "97110", APRIL, "pr-1", T0)
    a.cancel("coord", T0)
    events = a.take_events()
    assert all(isinstance(e, AuthorizationCancelled) for e in events)
    assert [e.appointment_id for e in events] == ["appt-1", "appt-3"]  # appt-2 was not covered
    assert {x.state for x in a.links} == {LinkState.RELEASED, LinkState.NOT_COVERED}


def test_expiry_tells_the_covered_appointments_still_to_come():
    a = submitted(waiting(("appt-1", APRIL)))
    a.approve(approval(units=3), "coord", T0)
    a.count_visit("appt-1", T0)
    a.reserve("appt-2", "97110", APRIL, "pr-1", T0)
    a.take_events()
    assert a.review(datetime(2026, 7, 1, tzinfo=UTC))
    expired = [e for e in a.take_events() if isinstance(e, AuthorizationExpired)]
    assert [(e.appointment_id, e.reason) for e in expired] == [("appt-2", "period_ended")]
    assert a.link("appt-1").state is LinkState.FULFILLED and a.link("appt-2").state is LinkState.RELEASED


def test_a_visit_not_linked_counts_only_when_the_approval_matches_it():
    a = submitted(waiting(("appt-1", APRIL)))
    a.approve(approval(provider_id="pr-1"), "coord", T0)
    assert not a.count_visit("v-other", T0, service_code="99213", day=APRIL, provider_id="pr-1")
    assert not a.count_visit("v-late", T0, service_code="97110", day=date(2026, 9, 1), provider_id="pr-1")
    assert not a.count_visit("v-else", T0, service_code="97110", day=APRIL, provider_id="pr-2")
    assert a.count_visit("v-ok", T0, service_code="97110", day=APRIL, provider_id="pr-1")
    assert a.units_used == 1 and a.link("v-ok").state is LinkState.FULFILLED
    assert a.count_visit("v-bare", T0)  # no service given: the caller matched it
    assert a.units_used == 2


def test_a_waiting_or_released_appointment_uses_no_unit():
    a = submitted(waiting(("appt-1", APRIL), ("appt-2", date(2027, 1, 1))))
    a.approve(approval(), "coord", T0)
    a.release("appt-1", T0)
    assert not a.count_visit("appt-1", T0) and not a.count_visit("appt-2", T0)
    assert a.units_used == 0


def test_a_partial_approval_under_appeal_still_covers_visits():
    a = submitted(waiting(("appt-1", APRIL)), units=12)
    a.approve(approval(units=6), "coord", T0)
    a.appeal("coord", T0 + timedelta(days=1))
    assert a.status is Status.APPEALED and a.in_force
    assert a.count_visit("appt-1", T0 + timedelta(days=2))
    assert a.reserve("appt-2", "97110", APRIL, "pr-1", T0)
    a.approve(approval(units=12), "coord", T0 + timedelta(days=3))  # the appeal wins the rest
    assert a.status is Status.APPROVED and a.units_remaining == 11


def test_times_from_the_payer_are_checked():
    a = waiting(("appt-1", APRIL))
    a.draft("coord", T0)
    with pytest.raises(Invalid) as err:
        a.submit(Priority.URGENT, 1, "coord", T0, received_at=T0 + timedelta(minutes=1))
    assert err.value.extra["field"] == "received_at" and a.status is Status.DRAFT
    received = T0 - timedelta(days=2)
    a.submit(Priority.URGENT, 1, "coord", T0, received_at=received)
    assert (a.submitted_at, a.decision_due) == (received, received + timedelta(hours=72))
    for decided in (received - timedelta(seconds=1), T0 + timedelta(seconds=1)):
        with pytest.raises(Invalid) as err:
            a.approve(approval(units=1), "coord", T0, decided_at=decided)
        assert err.value.extra["field"] == "decided_at" and a.status is Status.SUBMITTED
    a.approve(approval(units=1), "coord", T0, decided_at=T0 - timedelta(days=1))
    [cycle] = a.cycles
    assert (cycle.kind, cycle.outcome, cycle.decided_at - cycle.submitted_at) == (
        "initial",
        "approved",
        timedelta(days=1),
    )


def test_each_request_keeps_its_clock_and_whether_it_was_late():
    a = submitted(waiting(("appt-1", APRIL)))
    a.report_if_overdue(T0 + timedelta(days=8))
    a.deny(Denial(reason_code="N1", reason="Not covered"), "coord", T0 + timedelta(days=9))
    a.appeal("coord", T0 + timedelta(days=10), priority=Priority.URGENT)
    a.approve(approval(), "coord", T0 + timedelta(days=11))
    first, second = a.cycles
    assert (first.outcome, first.overdue_reported, first.late(T0)) == ("denied", True, True)
    assert (second.kind, second.priority, second.outcome, second.late(T0 + timedelta(days=30))) == (
        "appeal",
        Priority.URGENT,
        "approved",
        False,
    )


def test_next_review_is_the_deadline_then_the_expiry_notice_then_the_end():
    a = waiting(("appt-1", APRIL))
    assert a.next_review_at is None  # nobody has asked the payer yet
    submitted(a)
    assert a.next_review_at == a.decision_due
    a.report_if_overdue(a.decision_due + timedelta(seconds=1))
    assert a.next_review_at is None  # told once; a decision is up to people now
    a.approve(approval(valid_to=date(2026, 6, 30)), "coord", T0 + timedelta(days=8))
    assert a.next_review_at == datetime(2026, 6, 16, tzinfo=UTC)
    a.review(datetime(2026, 6, 16, tzinfo=UTC))
    assert a.next_review_at == datetime(2026, 7, 1, tzinfo=UTC)
    a.review(datetime(2026, 7, 1, tzinfo=UTC))
    assert a.status is Status.EXPIRED and a.next_review_at is None
    stored = a.to_document()
    assert stored["next_review_at"] is None and stored["appointment_ids"] == ["appt-1"]
    assert PriorAuthorization.from_document(stored | {"version": 3}).links == a.links


def test_a_check_waiting_on_an_authorization_confirms_nothing_but_still_denies():
    from caremesh_contracts import EligibilityConfirmed, EligibilityDenied
    from caremesh_insurance.domain import (
        Decision,
        DenialReason,
        EligibilityCheck,
        EligibilityResult,
        Outcome,
        Trigger,
    )

    ok = EligibilityResult(decision=Decision(outcome=Outcome.CONFIRMED, coverage_id="cov-1"), adapter="rules")
    no = EligibilityResult(
        decision=Decision(outcome=Outcome.DENIED, reason=DenialReason.COVERAGE_INACTIVE), adapter="rules"
    )
    check = EligibilityCheck.for_appointment(
        "appt-1", "p-1", "97110", APRIL, None, ok, T0, authorization_id="pa-1", awaiting_authorization=True
    )
    assert check.take_events() == []  # authorization.required went out instead
    check.recheck(Trigger.COVERAGE_CHANGED, no, T0)
    assert [type(e) for e in check.take_events()] == [EligibilityDenied]
    check.recheck(Trigger.COVERAGE_CHANGED, ok, T0)
    assert check.take_events() == []  # the authorization's decision books the visit, not this
    assert check.authorization_settled() and not check.authorization_settled()
    check.recheck(Trigger.COVERAGE_CHANGED, no, T0)
    check.recheck(Trigger.COVERAGE_CHANGED, ok, T0)
    assert [type(e) for e in check.take_events()] == [EligibilityDenied, EligibilityConfirmed]
