"""From a 271 to an eligibility decision, and from a check to a FHIR CoverageEligibilityResponse."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fhir.resources.R4B.coverageeligibilityresponse import CoverageEligibilityResponse

from caremesh_insurance.domain import (
    Coverage,
    CoverageTerms,
    DenialReason,
    EligibilityCheck,
    Outcome,
    Payer,
    PayerTerms,
    Person,
    Plan,
    PlanTerms,
    RejectionAction,
    Trigger,
    Visit,
)
from caremesh_insurance.domain.eligibility import fhir
from caremesh_insurance.domain.eligibility.x12_mapping import inquiry_for, interpret
from caremesh_insurance.domain.x12 import PayerUnavailable, X12Error, build_270, parse_271
from caremesh_testing.fake_payer import Answer, build_271, read_270
from caremesh_testing.fixtures import fixtures_dir

FIXTURES = fixtures_dir() / "x12"
NOW = datetime(2026, 4, 28, 12, 0, tzinfo=UTC)
DAY = date(2026, 5, 1)
PAYER = Payer.create(
    "payer-1",
    PayerTerms(name="ABC Company", payer_identifier="842610001", adapter="x12", x12_endpoint="http://payer.test/270"),
    NOW,
)
PLAN = Plan.create(
    "plan-1",
    PlanTerms(
        payer_id="payer-1",
        name="Gold 123",
        deductible="1000",
        services=[
            {"code": "99213", "cost_share": {"copay": "40"}},
            {"code": "97110", "visits_per_year": 2},
            {"code": "99214", "prior_authorization": True},
        ],
    ),
    NOW,
)


def coverage(dependent: bool = False) -> Coverage:
    terms = CoverageTerms(
        patient_id="pat-1",
        plan_id="plan-1",
        member_id="11122333301",
        period_start=date(2026, 1, 1),
        relationship="child" if dependent else "self",
        subscriber=Person(given_name="Robert", family_name="Smith", birth_date=date(1943, 5, 19)),
        dependent=Person(given_name="Mary", family_name="Smith", birth_date=date(2010, 10, 14)) if dependent else None,
    )
    c = Coverage.register("cov-1", terms, PLAN, "ABC Company", NOW)
    c.take_events()
    return c


def fixture(name: str) -> str:
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f"the X12 sample {path} is missing (see shared/fixtures/README.md)")
    return path.read_text()


def answered(answer: Answer, code: str = "99213", dependent: bool = False, visits=()):
    c = coverage(dependent)
    q = inquiry_for(
        c,
        PAYER,
        provider_name="CareMesh Clinic",
        provider_npi="1234567893",
        sender_id="CAREMESH",
        trace="trace1",
        trace_originator="9000000000",
        control_number=5,
        day=DAY,
        now=NOW,
        usage="T",
    )
    text = build_271(read_270(build_270(q)), answer)
    return interpret(parse_271(text), "trace1", c, PLAN, DAY, code, list(visits))


def test_the_270_for_a_coverage_names_the_member_and_the_dependent():
    q = inquiry_for(
        coverage(dependent=True),
        PAYER,
        provider_name="CareMesh Clinic",
        provider_npi="1234567893",
        sender_id="CAREMESH",
        trace="t",
        trace_originator="9000000000",
        control_number=1,
        day=DAY,
        now=NOW,
        usage="T",
    )
    assert (q.member_id, q.subscriber.family_name, q.dependent.given_name, q.receiver_id) == (
        "11122333301",
        "Smith",
        "Mary",
        "842610001",
    )


def test_a_coverage_without_the_subscriber_cannot_be_asked_about():
    c = coverage().model_copy(update={"terms": coverage().terms.model_copy(update={"subscriber": None})})
    with pytest.raises(ValueError, match="lacks the subscriber's name"):
        inquiry_for(
            c,
            PAYER,
            provider_name="x",
            provider_npi="1234567893",
            sender_id="CAREMESH",
            trace="t",
            trace_originator="9000000000",
            control_number=1,
            day=DAY,
            now=NOW,
            usage="T",
        )


def test_active_coverage_confirms_with_the_payers_figures_over_the_plans():
    r = answered(
        Answer(
            copay=Decimal("20"),
            deductible=Decimal("500"),
            deductible_remaining=Decimal("125.50"),
            coinsurance=Decimal("0.2"),
            visits_per_year=20,
            visits_remaining=3,
        )
    )
    assert (r.decision.outcome, r.decision.coverage_id, r.adapter, r.coverage_active) == (
        Outcome.CONFIRMED,
        "cov-1",
        "x12",
        True,
    )
    service = r.benefits[0]
    assert (
        service.service_code,
        service.copay,
        service.coinsurance_percent,
        service.deductible,
        service.deductible_remaining,
        service.visits_per_year,
        service.visits_remaining,
    ) == ("99213", Decimal("20"), Decimal("20.00"), Decimal("500"), Decimal("125.50"), 20, 3)
    types = {b.service_type: b for b in r.benefits[1:]}
    assert types["98"].copay == Decimal("20") and types["98"].in_network is True
    assert types["30"].covered is True and types["30"].deductible == Decimal("500")


def test_inactive_coverage_is_denied_as_inactive():
    r = answered(Answer(active=False))
    assert (r.decision.reason, r.coverage_active) == (DenialReason.COVERAGE_INACTIVE, False)


def test_a_procedure_the_payer_excludes_is_not_covered_even_if_the_plan_lists_it():
    assert answered(Answer(non_covered=["99213"])).decision.reason is DenialReason.SERVICE_NOT_COVERED


def test_a_code_the_payer_does_not_name_is_decided_by_the_plan():
    assert answered(Answer(), code="99215").decision.reason is DenialReason.SERVICE_NOT_COVERED
    visits = [Visit(coverage_id="cov-1", service_code="97110", service_date=date(2026, 3, d)) for d in (1, 2)]
    assert answered(Answer(), code="97110", visits=visits).decision.reason is DenialReason.VISIT_LIMIT_REACHED
    r = answered(Answer(copay=None), code="99214")
    assert r.decision.outcome is Outcome.CONFIRMED and r.benefits[0].prior_authorization_required is True


def test_no_visits_remaining_at_the_payer_reaches_the_limit():
    assert answered(Answer(visits_remaining=0)).decision.reason is DenialReason.VISIT_LIMIT_REACHED


@pytest.mark.parametrize("dependent", [False, True])
def test_a_rejection_denies_with_its_aaa_codes(dependent):
    r = answered(Answer(rejection=("patient", "75", "C")), dependent=dependent)
    assert r.decision.reason is DenialReason.PAYER_REJECTED
    [x] = r.rejections
    assert (x.loop, x.code, x.description, x.follow_up) == (
        "2100D" if dependent else "2100C",
        "75",
        "Subscriber/insured not found",
        "Please correct and resubmit",
    )


def test_a_payer_that_cannot_answer_now_is_not_a_denial():
    with pytest.raises(PayerUnavailable, match="AAA 42"):
        answered(Answer(rejection=("payer", "42", "R")))


# -- the real samples through the same path ------------------------------------------------------------------


def test_the_subscriber_sample_confirms_with_its_in_network_copay():
    r = interpret(
        parse_271(fixture("subscriber-health-benefit-check.271")), "93175-012547", coverage(), PLAN, DAY, "99213", []
    )
    assert r.decision.outcome is Outcome.CONFIRMED and r.payer == "ABC COMPANY"
    assert r.benefits[0].copay == Decimal("10.00")  # the payer's office-visit copay, in network
    types = {(b.service_type, b.in_network): b for b in r.benefits[1:]}
    assert types[("MH", True)].copay == Decimal("10.00") and types[("MH", False)].copay == Decimal("30.00")


def test_the_dependent_sample_answers_for_the_dependent():
    r = interpret(
        parse_271(fixture("dependent-health-benefit-check.271")), "93175-012547", coverage(True), PLAN, DAY, "99213", []
    )
    assert r.decision.outcome is Outcome.CONFIRMED and r.benefits[0].copay == Decimal("10.00")


def test_the_error_sample_asks_to_fix_the_providers_enrollment_and_keeps_the_envelope_finding():
    r = interpret(
        parse_271(fixture("subscriber-health-benefit-check-error.271")), None, coverage(), PLAN, DAY, "99213", []
    )
    # AAA 50 (provider ineligible for inquiries) is no denial of the patient: the rules decide.
    assert (r.decision.outcome, r.action) == (Outcome.CONFIRMED, RejectionAction.FIX_ENROLLMENT)
    assert [(x.loop, x.code) for x in r.rejections] == [("2100B", "50")]
    assert r.findings == ["segment 10 (SE): SE02 (4323) does not match ST02 (4321)"]


def test_a_271_that_answers_nothing_about_the_patient_is_an_error():
    text = fixture("subscriber-health-benefit-check.271")
    no_eb = text.replace("EB*1**30**GOLD 123 PLAN~", "").replace("EB*1**1^33^35^47^86^88^98^AL^MH^UC~", "")
    no_eb = no_eb.replace("SE*22*", "SE*20*")
    with pytest.raises(X12Error, match="neither whether the coverage is active"):
        interpret(parse_271(no_eb), "93175-012547", coverage(), PLAN, DAY, "99213", [])


# -- FHIR ------------------------------------------------------------------------------------------------


def check_of(result) -> EligibilityCheck:
    return EligibilityCheck.for_appointment("appt-1", "pat-1", "99213", DAY, None, result, NOW, {})


def roundtrip(resource) -> dict:
    data = resource.model_dump(mode="json")
    CoverageEligibilityResponse.model_validate(data)  # valid R4B, read back
    return data


def test_a_confirmation_as_coverage_eligibility_response():
    r = answered(
        Answer(
            copay=Decimal("20"), deductible=Decimal("500"), deductible_remaining=Decimal("125.50"), visits_per_year=20
        )
    )
    data = roundtrip(fhir.coverage_eligibility_response(check_of(r)))
    assert (data["resourceType"], data["id"], data["status"], data["outcome"], data["purpose"]) == (
        "CoverageEligibilityResponse",
        "appt-1",
        "active",
        "complete",
        ["validation", "benefits"],
    )
    assert data["patient"] == {"reference": "Patient/pat-1"} and data["servicedDate"] == "2026-05-01"
    assert data["meta"]["versionId"] == "1" and data["insurer"]["display"] == "ABC COMPANY"
    [insurance] = data["insurance"]
    assert insurance["coverage"] == {"reference": "Coverage/cov-1"} and insurance["inforce"] is True
    service = insurance["item"][0]
    assert service["productOrService"]["coding"][0] == {"system": fhir.CPT, "code": "99213"}
    benefits = {b["type"]["coding"][0]["code"]: b for b in service["benefit"]}
    assert benefits["copay"]["allowedMoney"] == {"value": 20.0, "currency": "USD"}
    assert benefits["deductible"]["allowedMoney"]["value"] == 500.0
    assert benefits["deductible"]["usedMoney"]["value"] == 374.5
    assert benefits["visit"]["allowedUnsignedInt"] == 20
    categories = [i["category"]["coding"][0]["code"] for i in insurance["item"][1:]]
    assert "98" in categories and "30" in categories


def test_a_rejection_as_coverage_eligibility_response_lists_its_errors():
    r = answered(Answer(rejection=("patient", "75", "C")))
    data = roundtrip(fhir.coverage_eligibility_response(check_of(r)))
    assert data["outcome"] == "error"
    assert data["disposition"] == "The insurer could not verify this coverage."
    [error] = data["error"]
    assert error["code"]["coding"][0] == {
        "system": fhir.AAA_REASON,
        "code": "75",
        "display": "Subscriber/insured not found",
    }


def test_each_run_is_a_version_of_the_resource():
    check = check_of(answered(Answer()))
    check.recheck(Trigger.PRE_VISIT, answered(Answer(active=False)), NOW)
    first = roundtrip(fhir.coverage_eligibility_response(check, check.run(1)))
    latest = roundtrip(fhir.coverage_eligibility_response(check))
    assert (first["meta"]["versionId"], latest["meta"]["versionId"]) == ("1", "2")
    assert latest["insurance"][0]["inforce"] is False
    assert latest["disposition"] == "The coverage on file is not active on the date of the visit."


def test_an_id_fhir_cannot_carry_becomes_a_stable_uuid():
    assert fhir.fhir_id("appt-1") == "appt-1"
    odd = fhir.fhir_id("appt/1 with spaces")
    assert odd == fhir.fhir_id("appt/1 with spaces") and len(odd) == 36
