"""Unit tests of insurance's pure domain: coverage terms, eligibility decisions and their events."""

from datetime import UTC, date, datetime, timedelta

import pytest
from caremesh_contracts import CoverageRegistered, EligibilityConfirmed, EligibilityDenied
from caremesh_insurance.domain import (
    PLAIN_REASONS,
    Coverage,
    CoverageTerms,
    Decision,
    DenialReason,
    EligibilityCheck,
    Outcome,
    decide,
)
from pydantic import ValidationError

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def terms(**over) -> CoverageTerms:
    values = dict(patient_id="pat-1", payer="Acme Health", plan="Silver", member_id="M-123",
                  period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), service_codes=["99213", "G0008"])
    values.update(over)
    return CoverageTerms(**values)


def coverage(cid: str = "cov-1", registered_at: datetime = NOW, **over) -> Coverage:
    c = Coverage.register(cid, terms(**over), registered_at)
    c.take_events()
    return c


# -- decide -------------------------------------------------------------------------------------

def test_no_coverages_is_no_coverage():
    assert decide([], date(2026, 5, 3), "99213") == Decision(outcome=Outcome.DENIED, reason=DenialReason.NO_COVERAGE)


def test_coverage_not_active_on_the_day_is_coverage_inactive():
    c = coverage(period_start=date(2026, 1, 1), period_end=date(2026, 3, 31))
    d = decide([c], date(2026, 5, 3), "99213")
    assert d == Decision(outcome=Outcome.DENIED, reason=DenialReason.COVERAGE_INACTIVE)
    assert d.coverage_id is None


def test_coverage_not_yet_started_is_coverage_inactive():
    c = coverage(period_start=date(2026, 6, 1), period_end=None)
    assert decide([c], date(2026, 5, 31), "99213").reason is DenialReason.COVERAGE_INACTIVE


def test_active_coverage_without_the_service_is_service_not_covered():
    c = coverage(service_codes=["99214"])
    d = decide([c], date(2026, 5, 3), "99213")
    assert d == Decision(outcome=Outcome.DENIED, reason=DenialReason.SERVICE_NOT_COVERED)


def test_covered_service_is_confirmed_with_the_coverage_id():
    c = coverage("cov-7")
    d = decide([c], date(2026, 5, 3), "G0008")
    assert d == Decision(outcome=Outcome.CONFIRMED, coverage_id="cov-7")
    assert d.reason is None


@pytest.mark.parametrize(("day", "outcome"), [
    (date(2026, 2, 28), Outcome.DENIED),
    (date(2026, 3, 1), Outcome.CONFIRMED),   # period_start is inclusive
    (date(2026, 6, 15), Outcome.CONFIRMED),
    (date(2026, 8, 31), Outcome.CONFIRMED),  # period_end is inclusive
    (date(2026, 9, 1), Outcome.DENIED),
])
def test_period_bounds_are_inclusive(day, outcome):
    c = coverage(period_start=date(2026, 3, 1), period_end=date(2026, 8, 31))
    d = decide([c], day, "99213")
    assert d.outcome is outcome
    if outcome is Outcome.DENIED:
        assert d.reason is DenialReason.COVERAGE_INACTIVE


def test_single_day_period():
    c = coverage(period_start=date(2026, 3, 1), period_end=date(2026, 3, 1))
    assert decide([c], date(2026, 3, 1), "99213").outcome is Outcome.CONFIRMED
    assert decide([c], date(2026, 3, 2), "99213").outcome is Outcome.DENIED


def test_open_ended_period_covers_any_later_day():
    c = coverage(period_start=date(2026, 1, 1), period_end=None)
    assert decide([c], date(2099, 12, 31), "99213") == Decision(outcome=Outcome.CONFIRMED, coverage_id="cov-1")
    assert decide([c], date(2025, 12, 31), "99213").reason is DenialReason.COVERAGE_INACTIVE


def test_earliest_registered_covering_coverage_wins_whatever_the_list_order():
    later = coverage("cov-later", registered_at=NOW + timedelta(days=1))
    earlier = coverage("cov-earlier", registered_at=NOW)
    assert decide([later, earlier], date(2026, 5, 3), "99213").coverage_id == "cov-earlier"
    assert decide([earlier, later], date(2026, 5, 3), "99213").coverage_id == "cov-earlier"


def test_an_earlier_coverage_that_does_not_cover_the_service_is_skipped():
    earliest = coverage("cov-a", registered_at=NOW, service_codes=["99214"])
    later = coverage("cov-b", registered_at=NOW + timedelta(days=1), service_codes=["99213"])
    assert decide([earliest, later], date(2026, 5, 3), "99213") == Decision(outcome=Outcome.CONFIRMED,
                                                                             coverage_id="cov-b")


def test_an_earlier_coverage_inactive_on_the_day_is_skipped():
    lapsed = coverage("cov-old", registered_at=NOW - timedelta(days=400),
                      period_start=date(2025, 1, 1), period_end=date(2025, 12, 31))
    current = coverage("cov-new", registered_at=NOW)
    assert decide([lapsed, current], date(2026, 5, 3), "99213").coverage_id == "cov-new"


def test_inactive_coverage_of_the_service_plus_active_one_without_it_is_service_not_covered():
    lapsed_covering = coverage("cov-old", period_start=date(2025, 1, 1), period_end=date(2025, 12, 31),
                               service_codes=["99213"])
    active_other = coverage("cov-new", service_codes=["99214"])
    d = decide([lapsed_covering, active_other], date(2026, 5, 3), "99213")
    assert d == Decision(outcome=Outcome.DENIED, reason=DenialReason.SERVICE_NOT_COVERED)


def test_service_codes_match_exactly():
    c = coverage(service_codes=["G0008"])
    assert decide([c], date(2026, 5, 3), "g0008").reason is DenialReason.SERVICE_NOT_COVERED
    assert decide([c], date(2026, 5, 3), "G000").reason is DenialReason.SERVICE_NOT_COVERED


# -- CoverageTerms ------------------------------------------------------------------------------

def test_terms_reject_period_end_before_start():
    with pytest.raises(ValidationError, match="period_end is before period_start"):
        terms(period_start=date(2026, 5, 2), period_end=date(2026, 5, 1))


def test_terms_accept_period_end_equal_to_start():
    t = terms(period_start=date(2026, 5, 1), period_end=date(2026, 5, 1))
    assert t.active_on(date(2026, 5, 1)) is True


@pytest.mark.parametrize("code", ["99213", "0001U", "0520T", "G0008", "J1100", "A0425"])
def test_terms_accept_cpt_and_hcpcs_codes(code):
    assert terms(service_codes=[code]).service_codes == [code]


@pytest.mark.parametrize("code", [
    "9921",      # too short
    "992133",    # too long
    "g0008",     # lower-case HCPCS
    "GG008",     # two letters
    "99213 ",    # trailing space
    " 99213",    # leading space
    "992-13",
    "",
])
def test_terms_reject_codes_that_are_not_cpt_or_hcpcs(code):
    with pytest.raises(ValidationError, match="not CPT/HCPCS codes"):
        terms(service_codes=["99213", code])


def test_terms_name_every_bad_code():
    with pytest.raises(ValidationError) as exc:
        terms(service_codes=["99213", "abc", "12"])
    assert "not CPT/HCPCS codes: abc, 12" in str(exc.value)


def test_terms_reject_a_code_with_a_trailing_newline():
    with pytest.raises(ValidationError, match="not CPT/HCPCS codes"):
        terms(service_codes=["99213\n"])


def test_terms_need_at_least_one_service_code():
    with pytest.raises(ValidationError):
        terms(service_codes=[])


# -- Coverage.register --------------------------------------------------------------------------

def test_register_coverage_raises_coverage_registered_without_plan_details():
    c = Coverage.register("cov-1", terms(), NOW)
    assert c.registered_at == NOW
    [event] = c.take_events()
    assert event == CoverageRegistered(coverage_id="cov-1", patient_id="pat-1", payer="Acme Health",
                                       period_start=date(2026, 1, 1), period_end=date(2026, 12, 31))
    assert "M-123" not in event.model_dump_json()  # no member id on the bus


# -- EligibilityCheck.record --------------------------------------------------------------------

def test_record_confirmed_raises_eligibility_confirmed():
    decision = Decision(outcome=Outcome.CONFIRMED, coverage_id="cov-7")
    check = EligibilityCheck.record("appt-1", "pat-1", "99213", date(2026, 5, 3), decision, NOW)

    assert check.id == "appt-1"
    assert check.decision == decision
    assert check.service_date == date(2026, 5, 3)
    assert check.checked_at == NOW
    assert check.take_events() == [EligibilityConfirmed(appointment_id="appt-1", patient_id="pat-1",
                                                        coverage_id="cov-7")]


@pytest.mark.parametrize(("reason", "plain"), [
    (DenialReason.NO_COVERAGE, "No insurance coverage is on file for this patient."),
    (DenialReason.COVERAGE_INACTIVE, "The coverage on file is not active on the date of the visit."),
    (DenialReason.SERVICE_NOT_COVERED, "The plan on file does not cover this service."),
])
def test_record_denied_raises_eligibility_denied_with_a_plain_language_reason(reason, plain):
    decision = Decision(outcome=Outcome.DENIED, reason=reason)
    check = EligibilityCheck.record("appt-1", "pat-1", "99213", date(2026, 5, 3), decision, NOW)

    [event] = check.take_events()
    assert event == EligibilityDenied(appointment_id="appt-1", patient_id="pat-1", reason_code=reason.value,
                                      reason=plain)
    assert "99213" not in event.reason   # no clinical detail
    assert "_" not in event.reason       # not a code


def test_every_denial_reason_has_plain_language():
    assert set(PLAIN_REASONS) == set(DenialReason)


def test_record_denied_without_a_reason_defaults_to_no_coverage():
    check = EligibilityCheck.record("appt-1", "pat-1", "99213", date(2026, 5, 3),
                                    Decision(outcome=Outcome.DENIED), NOW)
    [event] = check.take_events()
    assert isinstance(event, EligibilityDenied)
    assert event.reason_code == "no_coverage"
    assert event.reason == PLAIN_REASONS[DenialReason.NO_COVERAGE]


def test_decide_then_record_end_to_end():
    c = coverage("cov-9", service_codes=["99214"])
    check = EligibilityCheck.record("appt-2", "pat-1", "99213", date(2026, 5, 3),
                                    decide([c], date(2026, 5, 3), "99213"), NOW)
    [event] = check.take_events()
    assert isinstance(event, EligibilityDenied)
    assert event.reason_code == "service_not_covered"
