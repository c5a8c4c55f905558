"""Unit tests of insurance's pure domain: plans and their benefits, coverages and their events,
the rules adapter's decisions, and eligibility checks with their history and re-checks."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from caremesh_contracts import CoverageChanged, CoverageRegistered, EligibilityConfirmed, EligibilityDenied
from caremesh_insurance.domain import (
    PLAIN_REASONS,
    AppointmentStatus,
    CostShare,
    Coverage,
    CoverageOrder,
    CoverageStatus,
    CoverageTerms,
    Decision,
    DenialReason,
    EligibilityCheck,
    Outcome,
    PayerTerms,
    Person,
    Plan,
    PlanTerms,
    Trigger,
    Visit,
    decide,
    evaluate,
)
from caremesh_kit.errors import Conflict, Invalid

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DAY = date(2026, 5, 3)


def plan_terms(**over) -> PlanTerms:
    values = dict(
        payer_id="payer-1",
        name="Silver",
        services=[
            {"code": "99213", "cost_share": {"copay": "25"}},
            {"code": "G0008"},
            {"code": "97110", "visits_per_year": 2, "prior_authorization": True},
        ],
        cost_share={"coinsurance_percent": "20"},
        deductible="500",
    )
    values.update(over)
    return PlanTerms(**values)


def plan(plan_id: str = "plan-1", **over) -> Plan:
    p = Plan.create(plan_id, plan_terms(**over), NOW)
    p.version = 1
    return p


def terms(**over) -> CoverageTerms:
    values = dict(
        patient_id="pat-1",
        plan_id="plan-1",
        member_id="M-123",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    values.update(over)
    return CoverageTerms(**values)


def coverage(cid: str = "cov-1", registered_at: datetime = NOW, the_plan: Plan | None = None, **over) -> Coverage:
    p = the_plan or plan(**({"plan_id": over["plan_id"]} if "plan_id" in over else {}))
    c = Coverage.register(cid, terms(**over), p, "Acme Health", registered_at)
    c.take_events()
    c.version = 1
    return c


# -- plans and benefits -------------------------------------------------------------------------------


def test_a_plan_lists_its_codes_and_those_needing_prior_authorization():
    t = plan_terms()
    assert t.service_codes == ["97110", "99213", "G0008"]
    assert t.prior_authorization_codes == ["97110"]


def test_a_service_without_its_own_cost_share_takes_the_plans():
    t = plan_terms()
    assert t.cost_share_for("99213") == CostShare(copay=Decimal("25"))
    assert t.cost_share_for("G0008") == CostShare(coinsurance_percent=Decimal("20"))
    assert t.cost_share_for("99999") == CostShare(coinsurance_percent=Decimal("20"))


def test_amounts_are_served_as_decimal_strings():
    dumped = plan_terms().model_dump(mode="json")
    assert dumped["deductible"] == "500.00"
    assert dumped["services"][0]["cost_share"]["copay"] == "25.00"
    assert dumped["cost_share"]["coinsurance_percent"] == "20"


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"services": []}, "at least 1"),
        ({"services": [{"code": "9921"}]}, "not a CPT/HCPCS code: 9921"),
        ({"services": [{"code": "99213"}, {"code": "99213"}]}, "more than once: 99213"),
        ({"cost_share": {}}, "needs a copay, a coinsurance_percent or both"),
        ({"cost_share": {"coinsurance_percent": "101"}}, "less than or equal to 100"),
        ({"deductible": "-1"}, "greater than or equal to 0"),
        ({"deductible": "1.001"}, "decimal places"),
        ({"services": [{"code": "99213", "visits_per_year": 0}]}, "greater than or equal to 1"),
    ],
)
def test_plan_terms_refuse_what_makes_no_sense(over, message):
    with pytest.raises(ValidationError, match=message):
        plan_terms(**over)


@pytest.mark.parametrize("code", ["99213", "0001U", "0520T", "G0008", "J1100", "A0425"])
def test_plans_accept_cpt_and_hcpcs_codes(code):
    assert plan_terms(services=[{"code": code}]).service_codes == [code]


@pytest.mark.parametrize("code", ["9921", "992133", "g0008", "GG008", "99213 ", " 99213", "992-13", "", "99213\n"])
def test_plans_refuse_codes_that_are_not_cpt_or_hcpcs(code):
    with pytest.raises(ValidationError, match="not a CPT/HCPCS code"):
        plan_terms(services=[{"code": code}])


def test_revising_a_plan_with_the_same_terms_changes_nothing():
    p = plan()
    assert p.revise(plan_terms(), NOW) is False
    assert p.revise(plan_terms(deductible="750"), NOW) is True
    assert p.terms.deductible == Decimal("750")


def test_an_x12_payer_needs_its_identifier_and_endpoint():
    with pytest.raises(ValidationError, match="the x12 adapter needs payer_identifier and x12_endpoint"):
        PayerTerms(name="ABC", adapter="x12")
    t = PayerTerms(name="ABC", adapter="x12", payer_identifier="842610001", x12_endpoint="http://payer.test/270")
    assert t.model_dump()["x12_endpoint"] == "http://payer.test/270"


# -- coverages ----------------------------------------------------------------------------------------


def test_registering_raises_registered_and_changed_without_member_details():
    c = Coverage.register(
        "cov-1",
        terms(group_id="G-9", subscriber=Person(given_name="Ada", family_name="Byron")),
        plan(),
        "Acme Health",
        NOW,
    )
    registered, changed = c.take_events()
    assert registered == CoverageRegistered(
        coverage_id="cov-1",
        patient_id="pat-1",
        payer="Acme Health",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    assert changed == CoverageChanged(
        coverage_id="cov-1",
        patient_id="pat-1",
        coverage_version=1,
        plan_id="plan-1",
        payer_id="payer-1",
        status="active",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
        service_codes=["97110", "99213", "G0008"],
        prior_authorization_codes=["97110"],
    )
    for event in (registered, changed):
        body = event.model_dump_json()
        assert "M-123" not in body and "G-9" not in body and "Byron" not in body


def test_terms_refuse_an_end_before_the_start_and_a_dependent_of_oneself():
    with pytest.raises(ValidationError, match="period_end is before period_start"):
        terms(period_start=date(2026, 5, 2), period_end=date(2026, 5, 1))
    with pytest.raises(ValidationError, match="dependent is only for"):
        terms(dependent=Person(given_name="Mary", family_name="Smith"))
    assert terms(relationship="child", dependent=Person(given_name="Mary", family_name="Smith")).dependent


def test_amending_raises_changed_with_the_next_version():
    c = coverage()
    assert c.amend(terms(member_id="M-999"), plan(), "Acme Health", NOW) is True
    [changed] = c.take_events()
    assert isinstance(changed, CoverageChanged) and changed.coverage_version == 2
    assert c.amend(terms(member_id="M-999"), plan(), "Acme Health", NOW) is False  # nothing new


def test_a_coverage_cannot_move_to_another_patient():
    with pytest.raises(Invalid, match="another patient"):
        coverage().amend(terms(patient_id="pat-2"), plan(), "Acme Health", NOW)


def test_ending_only_moves_the_end_earlier():
    c = coverage()
    assert c.end(date(2026, 6, 30), plan(), NOW) is True
    [changed] = c.take_events()
    assert changed.period_end == date(2026, 6, 30)
    assert c.end(date(2026, 7, 31), plan(), NOW) is False
    with pytest.raises(Invalid, match="before period_start"):
        c.end(date(2025, 12, 31), plan(), NOW)


def test_a_cancelled_coverage_stays_cancelled_and_counts_for_nothing():
    c = coverage()
    assert c.cancel(plan(), NOW) is True
    [changed] = c.take_events()
    assert changed.status == "cancelled"
    assert c.cancel(plan(), NOW) is False
    assert c.active_on(DAY) is False
    with pytest.raises(Conflict):
        c.amend(terms(member_id="M-2"), plan(), "Acme Health", NOW)
    assert decide([c], {"plan-1": plan()}, DAY, "99213").decision.reason is DenialReason.NO_COVERAGE


def test_a_revised_plan_is_announced_once_per_version():
    c = coverage()
    revised = plan(services=[{"code": "99213"}, {"code": "99214", "prior_authorization": True}])
    revised.version = 2
    assert c.refresh_plan(revised, NOW) is True
    [changed] = c.take_events()
    assert changed.service_codes == ["99213", "99214"] and changed.prior_authorization_codes == ["99214"]
    assert c.refresh_plan(revised, NOW) is False


# -- the rules adapter ----------------------------------------------------------------------------------


def rules(coverages: list[Coverage], code: str = "99213", day: date = DAY, visits=(), plans=None):
    return decide(coverages, plans or {"plan-1": plan()}, day, code, visits)


def test_no_coverages_is_no_coverage():
    assert rules([]).decision == Decision(outcome=Outcome.DENIED, reason=DenialReason.NO_COVERAGE)


@pytest.mark.parametrize(
    ("day", "outcome"),
    [
        (date(2026, 2, 28), Outcome.DENIED),
        (date(2026, 3, 1), Outcome.CONFIRMED),  # period_start is inclusive
        (date(2026, 8, 31), Outcome.CONFIRMED),  # period_end is inclusive
        (date(2026, 9, 1), Outcome.DENIED),
    ],
)
def test_period_bounds_are_inclusive(day, outcome):
    c = coverage(period_start=date(2026, 3, 1), period_end=date(2026, 8, 31))
    d = rules([c], day=day).decision
    assert d.outcome is outcome
    assert d.reason is (DenialReason.COVERAGE_INACTIVE if outcome is Outcome.DENIED else None)


def test_open_ended_period_covers_any_later_day():
    c = coverage(period_end=None)
    assert rules([c], day=date(2099, 12, 31)).decision == Decision(outcome=Outcome.CONFIRMED, coverage_id="cov-1")


def test_a_service_the_plan_does_not_list_is_not_covered():
    assert rules([coverage()], code="99215").decision.reason is DenialReason.SERVICE_NOT_COVERED


def test_a_confirmation_carries_the_benefits_of_the_service():
    r = rules([coverage()], code="99213")
    [b] = r.benefits
    assert (b.copay, b.coinsurance_percent, b.deductible, b.prior_authorization_required) == (
        Decimal("25.00"),
        None,
        Decimal("500.00"),
        False,
    )
    [b] = rules([coverage()], code="97110").benefits
    assert (b.coinsurance_percent, b.prior_authorization_required, b.visits_per_year, b.visits_used) == (
        Decimal("20"),
        True,
        2,
        0,
    )


def test_the_primary_coverage_goes_first_then_the_earliest_registered():
    later = coverage("cov-later", registered_at=NOW + timedelta(days=1))
    earlier = coverage("cov-earlier", registered_at=NOW)
    secondary = coverage("cov-secondary", registered_at=NOW - timedelta(days=9), order=CoverageOrder.SECONDARY)
    assert rules([later, secondary, earlier]).decision.coverage_id == "cov-earlier"
    assert rules([secondary, later]).decision.coverage_id == "cov-later"


def test_an_earlier_coverage_without_the_service_is_skipped():
    other = plan("plan-2", services=[{"code": "99214"}])
    first = coverage("cov-a", registered_at=NOW, plan_id="plan-2", the_plan=other)
    second = coverage("cov-b", registered_at=NOW + timedelta(days=1))
    r = rules([first, second], plans={"plan-1": plan(), "plan-2": other})
    assert r.decision == Decision(outcome=Outcome.CONFIRMED, coverage_id="cov-b")


def test_an_active_plan_saying_no_beats_a_lapsed_one():
    lapsed = coverage("cov-old", period_start=date(2025, 1, 1), period_end=date(2025, 12, 31))
    other = plan("plan-2", services=[{"code": "99214"}])
    active = coverage("cov-new", plan_id="plan-2", the_plan=other)
    r = rules([lapsed, active], plans={"plan-1": plan(), "plan-2": other})
    assert r.decision.reason is DenialReason.SERVICE_NOT_COVERED


def visits(n: int, code: str = "97110", coverage_id: str = "cov-1", year: int = 2026) -> list[Visit]:
    return [Visit(coverage_id=coverage_id, service_code=code, service_date=date(year, 2, i + 1)) for i in range(n)]


def test_a_service_limit_counts_this_years_visits_of_that_service_on_that_coverage():
    c = coverage()
    assert rules([c], "97110", visits=visits(1)).decision.outcome is Outcome.CONFIRMED
    r = rules([c], "97110", visits=visits(2))
    assert r.decision.reason is DenialReason.VISIT_LIMIT_REACHED
    assert (r.benefits[0].visits_used, r.benefits[0].covered) == (2, False)
    assert rules([c], "97110", visits=visits(2, year=2025)).decision.outcome is Outcome.CONFIRMED
    assert rules([c], "97110", visits=visits(2, coverage_id="cov-9")).decision.outcome is Outcome.CONFIRMED
    assert rules([c], "97110", visits=visits(2, code="99213")).decision.outcome is Outcome.CONFIRMED


def test_a_plan_wide_limit_counts_every_covered_visit():
    c = coverage()
    plans = {"plan-1": plan(visits_per_year=3)}
    assert rules([c], "99213", visits=visits(2, code="G0008"), plans=plans).decision.outcome is Outcome.CONFIRMED
    r = rules([c], "99213", visits=visits(3, code="G0008"), plans=plans)
    assert r.decision.reason is DenialReason.VISIT_LIMIT_REACHED


def test_evaluate_can_leave_the_period_to_the_payer():
    c = coverage(period_start=date(2027, 1, 1), period_end=None)
    assert evaluate(c, plan(), DAY, "99213").decision.reason is DenialReason.COVERAGE_INACTIVE
    assert evaluate(c, plan(), DAY, "99213", check_period=False).decision.outcome is Outcome.CONFIRMED


# -- eligibility checks ------------------------------------------------------------------------------


def confirmed(coverage_id: str = "cov-1"):
    return rules([coverage(coverage_id)])


def denied_result(reason: DenialReason = DenialReason.COVERAGE_INACTIVE):
    from caremesh_insurance.domain.eligibility.decision import denied

    return denied(reason)


def appointment_check(result=None, service_date: date = DAY, now: datetime = NOW) -> EligibilityCheck:
    return EligibilityCheck.for_appointment(
        "appt-1", "pat-1", "99213", service_date, None, result or confirmed(), now, {"cov-1": 1}
    )


def test_an_appointment_check_raises_confirmed_with_its_trigger():
    check = appointment_check()
    assert check.take_events() == [
        EligibilityConfirmed(
            appointment_id="appt-1", patient_id="pat-1", coverage_id="cov-1", trigger="appointment_requested"
        )
    ]
    assert [r.trigger for r in check.runs] == [Trigger.APPOINTMENT_REQUESTED]
    assert check.appointment_status is AppointmentStatus.SCHEDULED


@pytest.mark.parametrize("reason", list(DenialReason))
def test_a_denial_carries_a_plain_language_reason(reason):
    check = appointment_check(denied_result(reason))
    [event] = check.take_events()
    assert event == EligibilityDenied(
        appointment_id="appt-1",
        patient_id="pat-1",
        reason_code=reason.value,
        reason=PLAIN_REASONS[reason],
        trigger="appointment_requested",
    )
    assert "99213" not in event.reason and "_" not in event.reason


def test_every_denial_reason_has_plain_language():
    assert set(PLAIN_REASONS) == set(DenialReason)


def test_a_recheck_keeps_history_and_announces_only_a_change():
    check = appointment_check()
    check.take_events()
    assert check.recheck(Trigger.ON_DEMAND, confirmed(), NOW) is True
    assert check.take_events() == []
    assert check.recheck(Trigger.ON_DEMAND, denied_result(), NOW + timedelta(hours=1)) is True
    [event] = check.take_events()
    assert isinstance(event, EligibilityDenied) and event.trigger == "on_demand"
    assert [r.number for r in check.runs] == [1, 2, 3]
    assert check.decision.reason is DenialReason.COVERAGE_INACTIVE
    assert check.checked_at == NOW + timedelta(hours=1)


def test_a_coverage_version_is_rechecked_once():
    check = appointment_check()
    assert check.saw("cov-1", 1) and not check.saw("cov-1", 2) and not check.saw("cov-2", 1)
    assert check.recheck_for_coverage("cov-1", 2, confirmed(), NOW, {"cov-1": 2}) is True
    assert check.recheck_for_coverage("cov-1", 2, confirmed(), NOW, {"cov-1": 2}) is False
    assert check.recheck_for_coverage("cov-1", 1, confirmed(), NOW, {"cov-1": 2}) is False
    assert check.latest.trigger is Trigger.COVERAGE_CHANGED and len(check.runs) == 2


def test_an_appointment_that_no_longer_takes_place_is_not_rechecked():
    check = appointment_check()
    assert check.appointment_ended(AppointmentStatus.CANCELLED) is True
    assert check.appointment_ended(AppointmentStatus.CANCELLED) is False
    assert check.recheck(Trigger.ON_DEMAND, denied_result(), NOW) is False
    assert check.claim_pre_visit(NOW, timedelta(minutes=5)) is False


def test_an_on_demand_check_raises_no_event():
    check = EligibilityCheck.on_demand("chk-1", "pat-1", "99213", DAY, confirmed(), NOW)
    assert check.take_events() == [] and check.appointment_id is None
    assert check.recheck(Trigger.ON_DEMAND, denied_result(), NOW) is True
    assert check.take_events() == []


def test_the_pre_visit_check_is_due_once_the_window_opens_unless_a_run_took_place_in_it():
    check = appointment_check(service_date=date(2026, 5, 20), now=NOW)  # checked on May 1
    assert not check.pre_visit_due(date(2026, 5, 16), 3)
    assert check.pre_visit_due(date(2026, 5, 17), 3)
    assert check.pre_visit_due(date(2026, 5, 20), 3)
    assert not check.pre_visit_due(date(2026, 5, 21), 3)  # the visit is past
    late = appointment_check(service_date=date(2026, 5, 3), now=NOW)  # requested inside the window
    assert not late.pre_visit_due(date(2026, 5, 2), 3)


def test_the_pre_visit_check_is_claimed_by_one_and_recorded_once():
    check = appointment_check(service_date=date(2026, 5, 20))
    lease = timedelta(minutes=5)
    at = datetime(2026, 5, 17, 8, tzinfo=UTC)
    assert check.claim_pre_visit(at, lease) is True
    assert check.claim_pre_visit(at + timedelta(minutes=1), lease) is False  # another replica
    assert check.claim_pre_visit(at + timedelta(minutes=6), lease) is True  # the first one died
    assert check.record_pre_visit(confirmed(), at, {"cov-1": 1}) is True
    assert check.record_pre_visit(confirmed(), at, {"cov-1": 1}) is False
    assert check.claim_pre_visit(at + timedelta(hours=1), lease) is False
    assert [r.trigger for r in check.runs] == [Trigger.APPOINTMENT_REQUESTED, Trigger.PRE_VISIT]
    assert not check.pre_visit_due(date(2026, 5, 18), 3)


def test_a_check_survives_the_store():
    check = appointment_check()
    check.take_events()
    doc = check.to_document() | {"version": 1}
    again = EligibilityCheck.from_document(doc)
    assert again.runs == check.runs and again.decision == check.decision


def test_coverage_status_values():
    assert [s.value for s in CoverageStatus] == ["active", "cancelled"]
