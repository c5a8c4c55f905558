"""271s as real payers send them (the small files in data/x12): another X12 version, indentation
and line breaks, a version label without its addenda, rejections aimed at the provider rather than
the patient (every AAA reject reason classified), and answers about someone other than the
patient asked about (pure)."""

from pathlib import Path

import pytest

from caremesh_insurance.domain import Outcome
from caremesh_insurance.domain.eligibility.decision import DenialReason, RejectionAction
from caremesh_insurance.domain.eligibility.x12_mapping import interpret
from caremesh_insurance.domain.x12 import PayerUnavailable, X12Error, parse_271
from caremesh_insurance.domain.x12.codes import REJECT_REASONS, RejectKind, reject_kind
from caremesh_testing.fake_payer import Answer

from .test_x12_eligibility import DAY, PLAN, answered, coverage

DATA = Path(__file__).parent / "data" / "x12"
TRACE = "93175-012547"


def data(name: str) -> str:
    return (DATA / name).read_text()


def test_a_4010_interchange_is_refused_as_an_unsupported_version():
    with pytest.raises(X12Error, match=r"ISA: ISA12 00401 .*version 4010.* not supported.* only 5010"):
        parse_271(data("version-4010.271"))


def test_indented_segments_on_their_own_lines_are_read():
    r = parse_271(data("indented.271"))
    [m] = r.members
    assert (m.member_id, m.trace_numbers, r.findings) == ("11122333301", [TRACE], [])
    assert parse_271(data("indented.271"), strict=True).members[0].member_id == "11122333301"


def test_a_line_break_inside_a_segment_is_still_refused():
    text = data("indented.271").replace("NM1*IL*1*SMITH*", "NM1*IL*1*SM\nITH*")
    with pytest.raises(X12Error, match="line breaks are only allowed between segments"):
        parse_271(text)


@pytest.mark.parametrize("strict", [False, True])
def test_a_271_labelled_without_the_a1_addenda_is_read_with_a_warning(strict):
    r = parse_271(data("x279-without-a1.271"), strict=strict)
    assert r.members[0].member_id == "11122333301"
    assert r.findings == [
        "segment 2 (GS): GS08 005010X279 lacks the A1 addenda; read as 005010X279A1",
        "segment 3 (ST): ST03 005010X279 lacks the A1 addenda; read as 005010X279A1",
    ]


def test_a_provider_ineligible_for_inquiries_is_a_coordinator_action_not_a_denial():
    r = interpret(parse_271(data("provider-ineligible.271")), None, coverage(), PLAN, DAY, "99213", [])
    assert r.decision.outcome is Outcome.CONFIRMED  # the plan data decides; nothing says the patient is not covered
    assert r.action is RejectionAction.FIX_ENROLLMENT
    assert [(x.loop, x.code) for x in r.rejections] == [("2100B", "50")]
    assert "AAA 50 (Provider ineligible for inquiries)" in (r.payer_error or "")
    assert "enrollment" in (r.payer_error or "")


def test_a_subscriber_only_answer_does_not_confirm_the_dependent_asked_about():
    text = data("subscriber-only.271")
    assert interpret(parse_271(text), TRACE, coverage(), PLAN, DAY, "99213", []).decision.outcome is Outcome.CONFIRMED
    with pytest.raises(X12Error, match="answers for the subscriber only, not for the dependent"):
        interpret(parse_271(text), TRACE, coverage(dependent=True), PLAN, DAY, "99213", [])


def test_an_answer_to_another_inquiry_or_member_is_not_taken():
    text = data("x279-without-a1.271")
    with pytest.raises(X12Error, match="another inquiry"):
        interpret(parse_271(text), "another-trace", coverage(), PLAN, DAY, "99213", [])
    untraced = text.replace("TRN*2*93175-012547*9877281234~\n", "").replace("SE*13*", "SE*12*")
    other = untraced.replace("MI*11122333301", "MI*99999999999")
    with pytest.raises(X12Error, match="another member"):
        interpret(parse_271(other), None, coverage(), PLAN, DAY, "99213", [])
    assert (
        interpret(parse_271(untraced), None, coverage(), PLAN, DAY, "99213", []).decision.outcome is Outcome.CONFIRMED
    )


def test_a_dependent_with_an_id_of_their_own_may_be_answered_as_the_subscriber():
    text = data("subscriber-only.271").replace("SMITH*ROBERT****MI*11122333301", "SMITH*MARY****MI*55500011101")
    text = text.replace("DMG*D8*19430519*M", "DMG*D8*20101014*F")
    r = interpret(parse_271(text), TRACE, coverage(dependent=True), PLAN, DAY, "99213", [])
    assert r.decision.outcome is Outcome.CONFIRMED


# -- every reject reason has its kind --------------------------------------------------------------------------

KINDS = {
    RejectKind.RETRY_LATER: {"04", "42", "62", "63", "80"},
    RejectKind.FIX_ENROLLMENT: {
        "35",
        "41",
        "43",
        "44",
        "45",
        "46",
        "47",
        "48",
        "49",
        "50",
        "51",
        "52",
        "53",
        "97",
        "T4",
    },
    RejectKind.NOT_COVERED: {"67", "75", "77", "78"},
}


@pytest.mark.parametrize("code", sorted(REJECT_REASONS))
def test_every_reject_reason_is_classified(code):
    expected = next((k for k, v in KINDS.items() if code in v), RejectKind.FIX_REQUEST)
    loop = "2100D" if code in ("64", "65", "66", "67", "68", "77") else "2100C"
    assert reject_kind(code, loop) is expected


def test_an_invalid_participant_is_the_provider_or_submitter_at_their_levels_and_the_patient_at_theirs():
    assert reject_kind("79", "2100B") is RejectKind.FIX_ENROLLMENT
    assert reject_kind("79", "2100A") is RejectKind.FIX_ENROLLMENT
    assert reject_kind("79", "2100C") is RejectKind.FIX_REQUEST


@pytest.mark.parametrize("loop", ["2000A", "2100A", "2100B"])
def test_not_found_aimed_at_the_payer_or_provider_levels_is_no_patient_denial(loop):
    assert reject_kind("75", loop) is RejectKind.FIX_REQUEST


@pytest.mark.parametrize(
    ("code", "loop", "outcome", "action"),
    [
        ("75", "patient", Outcome.DENIED, None),
        ("72", "patient", Outcome.CONFIRMED, RejectionAction.FIX_REQUEST),
        ("51", "receiver", Outcome.CONFIRMED, RejectionAction.FIX_ENROLLMENT),
        ("T4", "payer", Outcome.CONFIRMED, RejectionAction.FIX_ENROLLMENT),
    ],
)
def test_each_kind_decides_as_it_should(code, loop, outcome, action):
    r = answered(Answer(rejection=(loop, code, "C")))
    assert (r.decision.outcome, r.action) == (outcome, action)
    if outcome is Outcome.DENIED:
        assert r.decision.reason is DenialReason.PAYER_REJECTED


def test_retry_later_codes_leave_the_decision_to_the_rules():
    with pytest.raises(PayerUnavailable, match="AAA 63"):
        answered(Answer(rejection=("patient", "63", "R")))
