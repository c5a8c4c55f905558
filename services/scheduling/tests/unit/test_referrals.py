"""Closed-loop referrals (pure)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from caremesh_contracts.referrals import (
    ReferralClosed,
    ReferralOverdue,
    ReferralReceived,
    ReferralRejected,
    ReferralScheduled,
)
from caremesh_kit.codes import ICD10CM, SNOMED
from caremesh_kit.errors import Conflict, Invalid
from caremesh_scheduling.domain.referrals import TRANSITIONS, Referral, ReferralRequest, Status

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def request(**kw) -> ReferralRequest:
    return ReferralRequest.model_validate(
        {
            "patient_id": "p-1",
            "service_code": "99243",
            "referring": {"name": "Dr. Refer", "npi": "1234567893", "reference": "REF-77"},
            "reasons": [{"system": ICD10CM, "code": "M54.5", "display": "Low back pain"}],
            "attachments": [{"url": "https://clinic.example.org/docs/42", "title": "Referral letter"}],
        }
        | kw
    )


def received(**kw) -> Referral:
    r = Referral.receive("ref-1", request(**kw), "coord", T0)
    r.take_events()
    return r


def test_receiving_checks_the_reason_codes_and_says_so():
    r = Referral.receive("ref-1", request(), "coord", T0)
    [event] = r.take_events()
    assert isinstance(event, ReferralReceived) and event.priority == "routine"
    assert "reasons" not in event.model_dump()  # no diagnoses on the bus


@pytest.mark.parametrize(
    ("reasons", "field"),
    [
        ([{"system": ICD10CM, "code": "M545", "display": "x"}], "reasons[0].code"),
        ([{"system": SNOMED, "code": "279039007", "display": "Low back pain"}], "reasons[0].system"),
    ],
)
def test_a_bad_reason_code_names_it(reasons, field):
    with pytest.raises(Invalid) as err:
        Referral.receive("ref-1", request(reasons=reasons), "coord", T0)
    assert err.value.extra["field"] == field


def test_a_due_date_in_the_past_is_refused():
    with pytest.raises(Invalid) as err:
        Referral.receive("ref-1", request(due_by="2026-11-01"), "coord", T0)
    assert err.value.extra["field"] == "due_by"


def test_scheduled_then_fulfilled_closes_the_loop_for_the_referring_provider():
    r = received()
    r.accept("coord", T0)
    assert r.schedule("appt-1", T0 + 3 * DAY, "99243", "coord", T0 + DAY)
    assert isinstance(r.take_events()[-1], ReferralScheduled)
    assert not r.schedule("appt-1", T0 + 3 * DAY, "99243", "coord", T0 + DAY)  # a repeat
    assert r.appointment_fulfilled("appt-1", date(2026, 11, 5), T0 + 3 * DAY)
    [closed] = r.take_events()
    assert isinstance(closed, ReferralClosed)
    assert (closed.outcome, closed.referring_reference, closed.appointment_id, closed.seen_on) == (
        "completed",
        "REF-77",
        "appt-1",
        date(2026, 11, 5),
    )
    assert r.status is Status.CLOSED
    assert [t.status for t in r.history] == ["received", "accepted", "scheduled", "completed", "closed"]
    assert not r.appointment_fulfilled("appt-1", date(2026, 11, 5), T0 + 4 * DAY)  # redelivered


def test_another_appointments_fulfilment_does_nothing():
    r = received()
    r.schedule("appt-1", T0 + 3 * DAY, "99243", "coord", T0)
    assert not r.appointment_fulfilled("appt-2", date(2026, 11, 5), T0 + 3 * DAY)
    assert r.status is Status.SCHEDULED


def test_a_second_appointment_while_scheduled_is_a_409_and_the_wrong_service_a_422():
    r = received()
    with pytest.raises(Invalid):
        r.schedule("appt-1", T0 + DAY, "99213", "coord", T0)
    r.schedule("appt-1", T0 + DAY, "99243", "coord", T0)
    with pytest.raises(Conflict):
        r.schedule("appt-2", T0 + DAY, "99243", "coord", T0)


def test_a_cancelled_visit_puts_the_referral_back_to_waiting():
    r = received()
    r.schedule("appt-1", T0 + DAY, "99243", "coord", T0)
    assert r.appointment_cancelled("appt-1", T0)
    assert r.status is Status.ACCEPTED and r.appointment_id is None
    assert r.schedule("appt-2", T0 + 2 * DAY, "99243", "coord", T0)


def test_rejection_closes_the_loop_with_the_reason():
    r = received()
    r.reject("Not a service we offer", "coord", T0)
    rejected, closed = r.take_events()
    assert isinstance(rejected, ReferralRejected) and rejected.reason == "Not a service we offer"
    assert closed.outcome == "rejected" and r.status is Status.CLOSED


def test_overdue_once_by_age_and_not_once_scheduled():
    r = received()
    max_age = timedelta(days=7)
    assert not r.report_if_overdue(max_age, T0 + 7 * DAY)
    assert r.report_if_overdue(max_age, T0 + 7 * DAY + timedelta(seconds=1))
    [event] = r.take_events()
    assert isinstance(event, ReferralOverdue) and event.received_at == T0
    assert not r.report_if_overdue(max_age, T0 + 30 * DAY) and r.overdue
    r.schedule("appt-1", T0 + 40 * DAY, "99243", "coord", T0 + 8 * DAY)
    assert not r.overdue


def test_overdue_by_its_own_due_date_before_the_age():
    r = received(due_by="2026-11-04")
    assert not r.report_if_overdue(timedelta(days=30), datetime(2026, 11, 4, 23, tzinfo=UTC))
    assert r.report_if_overdue(timedelta(days=30), datetime(2026, 11, 5, 0, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("current", "target"), [(c, t) for c in Status for t in Status if t != c and t not in TRANSITIONS[c]]
)
def test_every_illegal_move_is_a_409_naming_both(current, target):
    r = received()
    r.status = current
    with pytest.raises(Conflict) as err:
        r._move(target, "coord", T0)
    assert err.value.extra == {"current": current.value, "requested": target.value}


def test_withdrawing_a_scheduled_referral_is_refused():
    r = received()
    r.schedule("appt-1", T0 + DAY, "99243", "coord", T0)
    with pytest.raises(Conflict):
        r.withdraw("coord", T0)
    fresh = received()
    assert fresh.withdraw("coord", T0) and fresh.take_events()[-1].outcome == "withdrawn"
