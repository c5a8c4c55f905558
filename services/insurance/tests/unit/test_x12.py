"""The X12 005010X279A1 exchange: the 270 we write, the envelope reader, and the 271 parser on the
real samples in ../shared/fixtures/x12/ and on responses built to the standard."""

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from x12sdk.io import X12ModelReader

from caremesh_insurance.domain.x12 import Inquiry270, Person270, X12Error, build_270, parse_271
from caremesh_insurance.domain.x12.envelope import read, tokenize
from caremesh_testing.fake_payer import Answer, build_271, read_270
from caremesh_testing.fixtures import fixtures_dir

REPO_ROOT = Path(__file__).resolve().parents[4]
FIXTURES = fixtures_dir() / "x12"


@pytest.fixture(scope="module")
def fixtures() -> Path:
    expected = [
        "subscriber-health-benefit-check.271",
        "dependent-health-benefit-check.271",
        "subscriber-health-benefit-check-error.271",
        "subscriber-health-benefit-check.270",
        "dependent-health-benefit-check.270",
    ]
    missing = [name for name in expected if not (FIXTURES / name).is_file()]
    if missing:
        pytest.fail(
            f"the X12 samples are missing from {FIXTURES}: {', '.join(missing)} "
            "(they come with the shared folder beside the repository; see shared/fixtures/README.md)"
        )
    return FIXTURES


def sample(fixtures: Path, name: str) -> str:
    return (fixtures / name).read_text()


INQUIRY = Inquiry270(
    payer_name="ABC Company",
    payer_id="842610001",
    provider_name="Bone & Joint Clinic",
    provider_npi="1234567893",
    member_id="11122333301",
    subscriber=Person270("Smith", "Robert", date(1943, 5, 19)),
    service_date=date(2026, 5, 1),
    trace="93175012547",
    trace_originator="9877281234",
    sender_id="CAREMESH",
    receiver_id="842610001",
    control_number=907,
    created=datetime(2026, 4, 28, 11, 47, tzinfo=UTC),
)
DEPENDENT = replace(INQUIRY, dependent=Person270("Smith", "Mary", date(1998, 10, 14)), group_id="G-77")


def tags(x12: str) -> list[str]:
    return [s.tag for s in tokenize(x12)[1]]


def segments(x12: str) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for s in tokenize(x12)[1]:
        out.setdefault(s.tag, []).append(s.elements)
    return out


# -- the 270 -----------------------------------------------------------------------------------------


def test_a_270_for_the_subscriber_has_the_right_segments_in_order():
    x12 = build_270(INQUIRY)
    assert tags(x12) == [
        "ISA",
        "GS",
        "ST",
        "BHT",
        "HL",
        "NM1",
        "HL",
        "NM1",
        "HL",
        "TRN",
        "NM1",
        "DMG",
        "DTP",
        "EQ",
        "SE",
        "GE",
        "IEA",
    ]
    s = segments(x12)
    assert s["BHT"][0][1:3] == ["0022", "13"]
    assert [h[1:] for h in s["HL"]] == [["1", "", "20", "1"], ["2", "1", "21", "1"], ["3", "2", "22", "0"]]
    assert s["NM1"][0] == ["NM1", "PR", "2", "ABC COMPANY", "", "", "", "", "PI", "842610001"]
    assert s["NM1"][1] == ["NM1", "1P", "2", "BONE & JOINT CLINIC", "", "", "", "", "XX", "1234567893"]
    assert s["NM1"][2] == ["NM1", "IL", "1", "SMITH", "ROBERT", "", "", "", "MI", "11122333301"]
    assert s["TRN"][0] == ["TRN", "1", "93175012547", "9877281234"]
    assert s["DMG"][0] == ["DMG", "D8", "19430519"]
    assert s["DTP"][0] == ["DTP", "291", "D8", "20260501"]
    assert s["EQ"][0] == ["EQ", "30"]


def test_a_270_for_a_dependent_asks_at_level_23():
    x12 = build_270(DEPENDENT)
    s = segments(x12)
    assert [h[1:] for h in s["HL"]][2:] == [["3", "2", "22", "1"], ["4", "3", "23", "0"]]
    assert s["REF"] == [["REF", "6P", "G-77"]]
    assert s["NM1"][3] == ["NM1", "03", "1", "SMITH", "MARY"]
    order = tags(x12)
    assert order.index("TRN") > order.index("HL") and order[order.index("TRN") - 1] == "HL"  # in 2000D
    assert order.index("DTP") > order.index("NM1", order.index("TRN"))


@pytest.mark.parametrize("inquiry", [INQUIRY, DEPENDENT], ids=["subscriber", "dependent"])
def test_the_270_envelope_counts_and_control_numbers_match(inquiry):
    x12 = build_270(inquiry)
    _, segs = tokenize(x12)
    assert x12.index("GS") == 106 and len(x12.split("~")[0]) == 105  # ISA is fixed-width
    s = segments(x12)
    isa, gs, st, se, ge, iea = s["ISA"][0], s["GS"][0], s["ST"][0], s["SE"][0], s["GE"][0], s["IEA"][0]
    assert (isa[13], iea[2], iea[1]) == ("000000907", "000000907", "1")
    assert (gs[1], gs[6], ge[2], ge[1], gs[8]) == ("HS", "907", "907", "1", "005010X279A1")
    assert (st[1], st[2], se[2], st[3]) == ("270", "0907", "0907", "005010X279A1")
    assert int(se[1]) == len([x for x in segs if x.tag not in ("ISA", "GS", "GE", "IEA")])
    interchange = read(x12, expect="270", strict=True)
    assert interchange.findings == [] and interchange.usage == "T"


@pytest.mark.parametrize("inquiry", [INQUIRY, DEPENDENT], ids=["subscriber", "dependent"])
def test_the_270_is_accepted_by_x12sdk(inquiry):
    """x12sdk is an independent parser: its 270 model checks loops, element sizes, codes and SE01."""
    with X12ModelReader(build_270(inquiry)) as reader:
        [model] = list(reader.models())
    [member] = list(model.members())
    assert member.is_dependent is (inquiry.dependent is not None)
    assert [b.eq_segment.service_type_code for b in member.benefits] == [["30"]]


def test_names_are_written_in_the_x12_character_set():
    x12 = build_270(replace(INQUIRY, subscriber=Person270("Núñez*Ó'Brien~", "Zoë^:", None)))
    nm1 = segments(x12)["NM1"][2]
    assert nm1[3:5] == ["NUNEZ O'BRIEN", "ZOE"]
    assert "DMG" not in segments(x12)  # no birth date, no DMG


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"provider_npi": "12345"}, "NPI"),
        ({"member_id": "A*B"}, "member id"),
        ({"control_number": 0}, "control number"),
        ({"trace_originator": "1234567890"}, "trace originator"),
        ({"sender_id": "WAY-TOO-LONG-SENDER"}, "sender id"),
        ({"usage": "X"}, "usage"),
        ({"subscriber": Person270("***", "Ann")}, "family name"),
    ],
)
def test_a_270_that_would_be_invalid_is_not_written(change, message):
    with pytest.raises(ValueError, match=message):
        build_270(replace(INQUIRY, **change))


def test_the_fixture_270s_pass_the_strict_envelope_reader(fixtures):
    for name in ("subscriber-health-benefit-check.270", "dependent-health-benefit-check.270"):
        assert read(sample(fixtures, name), expect="270", strict=True).findings == []


# -- the 271: the real samples ---------------------------------------------------------------------------


def test_the_subscriber_sample(fixtures):
    r = parse_271(sample(fixtures, "subscriber-health-benefit-check.271"))
    assert (r.control_number, r.payer_name, r.payer_id, r.rejections, r.findings) == (
        "4321",
        "ABC COMPANY",
        "841610001",
        [],
        [],
    )
    [m] = r.members
    assert (m.level, m.member_id, m.trace_numbers) == ("subscriber", "123456789", ["93175-012547"])
    assert m.dates == {"346": (date(2006, 1, 1), None)}
    assert [b.code for b in m.benefits] == ["1", "L", "1", "B", "B"]
    plan, _, standard, copay_in, copay_out = m.benefits
    assert (plan.service_types, plan.plan_description) == (["30"], "GOLD 123 PLAN")
    assert standard.service_types == ["1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC"]
    assert (copay_in.amount, copay_in.in_network, copay_in.time_period) == (Decimal("10.00"), True, "27")
    assert (copay_out.amount, copay_out.in_network) == (Decimal("30.00"), False)
    assert r.member_for("93175-012547") is m and r.member_for(None) is m


def test_the_dependent_sample_answers_about_the_dependent(fixtures):
    r = parse_271(sample(fixtures, "dependent-health-benefit-check.271"))
    assert [m.level for m in r.members] == ["subscriber", "dependent"]
    subscriber, dependent = r.members
    assert subscriber.member_id == "123456789" and subscriber.benefits == []
    assert dependent.trace_numbers == ["93175-012547"] and len(dependent.benefits) == 5
    assert r.member_for("93175-012547") is dependent and r.member_for(None) is dependent


def test_the_error_sample_is_flagged_strictly_and_its_rejection_still_read_leniently(fixtures):
    text = sample(fixtures, "subscriber-health-benefit-check-error.271")
    with pytest.raises(X12Error, match=r"segment 10 \(SE\): SE02 \(4323\) does not match ST02 \(4321\)"):
        parse_271(text, strict=True)
    r = parse_271(text)
    assert r.findings == ["segment 10 (SE): SE02 (4323) does not match ST02 (4321)"]
    [aaa] = r.rejections
    assert (aaa.loop, aaa.valid_request, aaa.code, aaa.description, aaa.follow_up_code) == (
        "2100B",
        True,
        "50",
        "Provider ineligible for inquiries",
        "N",
    )
    assert aaa.follow_up == "Resubmission not allowed" and r.members == []


# -- the 271: responses built to the standard ----------------------------------------------------------


def built(answer: Answer, inquiry: Inquiry270 = INQUIRY) -> str:
    return build_271(
        read_270(build_270(inquiry)), answer, control_number=55, now=datetime(2026, 4, 28, 12, 0, tzinfo=UTC)
    )


def test_built_active_response_with_deductible_coinsurance_and_visits():
    r = parse_271(
        built(
            Answer(
                copay=Decimal("20"),
                coinsurance=Decimal("0.2"),
                deductible=Decimal("500"),
                deductible_remaining=Decimal("125.50"),
                visits_per_year=20,
                visits_remaining=3,
                authorization_required=True,
            )
        )
    )
    [m] = r.members
    by_code = {(b.code, b.time_period): b for b in m.benefits}
    assert by_code[("C", "23")].amount == Decimal("500") and by_code[("C", "29")].amount == Decimal("125.50")
    assert by_code[("A", "27")].percent == Decimal("0.2")
    assert (by_code[("F", "23")].quantity_qualifier, by_code[("F", "23")].quantity) == ("VS", Decimal("20"))
    assert by_code[("F", "29")].quantity == Decimal("3")
    assert any(b.authorization_required for b in m.benefits)
    assert m.trace_numbers == ["93175012547"]


def test_built_inactive_response():
    [m] = parse_271(built(Answer(active=False))).members
    assert [(b.code, b.service_types) for b in m.benefits] == [("6", ["30"])]


def test_built_response_naming_a_procedure_not_covered():
    [m] = parse_271(built(Answer(non_covered=["99215"]))).members
    [i] = [b for b in m.benefits if b.code == "I"]
    assert i.procedure == ("HC", "99215") and i.name == "Non covered"


@pytest.mark.parametrize(
    ("level", "code", "follow", "loop"),
    [
        ("payer", "42", "R", "2100A"),
        ("receiver", "51", "C", "2100B"),
        ("patient", "75", "C", "2100C"),
        ("patient", "72", "C", "2100C"),
    ],
)
def test_built_rejections_are_read_with_their_codes(level, code, follow, loop):
    r = parse_271(built(Answer(rejection=(level, code, follow))))
    [aaa] = r.all_rejections(r.member_for("93175012547"))
    assert (aaa.loop, aaa.code, aaa.follow_up_code) == (loop, code, follow)
    assert aaa.valid_request is (code != "72")
    assert aaa.transient is (code == "42")


def test_a_dependent_rejection_stands_in_loop_2100d():
    r = parse_271(built(Answer(rejection=("patient", "67", "C")), DEPENDENT))
    dependent = r.member_for("93175012547")
    assert dependent is not None and dependent.level == "dependent"
    assert [(x.loop, x.code, x.description) for x in dependent.rejections] == [("2100D", "67", "Patient not found")]


def test_line_breaks_between_segments_and_other_delimiters_are_read():
    text = built(Answer())
    assert parse_271(text.replace("~", "~\r\n")).members[0].member_id == "11122333301"
    other = text.replace("*", "|").replace("~", "!\n").replace("^", "}")
    [m] = parse_271(other).members
    assert m.benefits[1].service_types[:3] == ["1", "33", "35"]


def test_the_standard_counts_six_different_responses_here(fixtures):
    """The samples and the built ones together: at least six different 271s parse."""
    texts = {
        sample(fixtures, n)
        for n in (
            "subscriber-health-benefit-check.271",
            "dependent-health-benefit-check.271",
            "subscriber-health-benefit-check-error.271",
        )
    }
    texts |= {
        built(a)
        for a in (
            Answer(),
            Answer(active=False),
            Answer(rejection=("patient", "75", "C")),
            Answer(non_covered=["99215"]),
            Answer(deductible_remaining=Decimal("10")),
        )
    }
    assert len(texts) >= 6
    assert all(parse_271(t) for t in texts)


# -- malformed input: each kind rejected with a message that says what and where --------------------------


def good() -> str:
    return built(Answer(deductible=Decimal("500")))


def swap(old: str, new: str, count: int = 1):
    return lambda t: t.replace(old, new, count)


def add(after: str, segment: str):
    """Insert a segment and keep SE01 right, so the error is about the segment itself."""

    def mangle(t: str) -> str:
        t = t.replace(after, after + segment, 1)
        se = t[t.index("~SE*") + 4 :]
        count = se.split("*")[0]
        return t.replace(f"~SE*{count}*", f"~SE*{int(count) + 1}*")

    return mangle


MALFORMED = {
    "empty": (lambda t: "", "the interchange is empty"),
    "not x12": (lambda t: "<xml>hello</xml>", "must start with an ISA segment"),
    "a file path": (lambda t: "/etc/passwd", "must start with an ISA segment"),
    "short isa": (lambda t: t[:80], "ISA segment must be 106 characters"),
    "isa element too long": (
        swap("*ZZ*842610001      *", "*ZZ*842610001       *"),
        "ISA06 must be 15 characters long, not 16",
    ),
    "isa delimiters clash": (lambda t: t.replace("~", ":"), "four distinct characters"),
    "wrong isa version": (swap("*00501*", "*00401*"), "ISA12 00401 (version 4010) is not supported"),
    "bad usage": (swap("*0*T*:", "*0*Z*:"), "ISA15 (usage) must be P or T"),
    "a 270 instead": (lambda t: build_270(INQUIRY), "GS01 must be HB for a 271"),
    "wrong version": (lambda t: t.replace("005010X279A1", "004010X092A1"), "GS08 must be 005010X279A1"),
    "no SE": (lambda t: t[: t.index("SE*")] + t[t.index("GE*") :], "has no SE trailer"),
    "SE01 count": (lambda t: t.replace("SE*", "SE*9", 1), "SE01 says 9"),
    "GE01 count": (swap("GE*1*", "GE*2*"), "GE01 says 2 transaction sets but the group has 1"),
    "IEA01 count": (swap("IEA*1*", "IEA*3*"), "IEA01 says 3 functional groups"),
    "after IEA": (lambda t: t + "ZZZ*1~", "nothing may follow the IEA"),
    "lower-case segment": (swap("DTP*346", "dtp*346"), "2 or 3 character upper-case identifier"),
    "unknown EB01": (swap("EB*1**30", "EB*Z9**30"), "EB01 Z9 is not an eligibility or benefit code"),
    "unknown service type": (swap("EB*1**30", "EB*1**ZZ"), "EB03 ZZ is not a service type code"),
    "bad amount": (swap("*23*500*", "*23*5O0*"), "EB07 must be a number"),
    "bad network flag": (lambda t: t.replace("*****Y~", "*****Q~", 1), "EB12 must be one of"),
    "unknown AAA code": (
        add("NM1*1P*2*BONE & JOINT CLINIC*****XX*1234567893~", "AAA*Y**ZZ*C~"),
        "AAA03 ZZ is not a reject reason",
    ),
    "HL with a wrong parent": (swap("HL*3*2*22", "HL*3*1*22"), "HL02 must name a level 21 parent"),
    "HL with an unknown level": (swap("HL*3*2*22", "HL*3*2*99"), "HL03 must be 20, 21, 22 or 23"),
    "segment out of its loop": (
        add("NM1*1P*2*BONE & JOINT CLINIC*****XX*1234567893~", "EQ*30~"),
        "EQ): is not allowed in loop 2100B",
    ),
    "loop without its name": (add("HL*2*1*21*1~", "N3*1 MAIN ST~"), "loop 2100B must start with NM1"),
    "bad date": (swap("DTP*346*D8*20260101", "DTP*346*D8*20261301"), "DTP03 is not a valid date"),
    "missing subscriber name": (swap("NM1*IL*", "NM1*XX*"), "NM101 must be one of IL in loop 2100C"),
    "no BHT": (swap("BHT*0022*11", "BHT*0022*13"), "a 271 starts with BHT*0022*11"),
    "bad EB13": (lambda t: t.replace("EB*C*IND*30***23*500", "EB*C*IND*30***23*500******HC:"), "EB13 must be a"),
    "too large": (lambda t: t + " " * 1_000_001, "larger than 1000000 bytes"),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_271s_are_rejected_with_a_clear_message(kind):
    mangle, message = MALFORMED[kind]
    text = good()
    broken = mangle(text)
    assert broken != text, "the mangling must change the input"
    with pytest.raises(X12Error) as exc:
        parse_271(broken)
    assert message in str(exc.value)
    assert "SMITH" not in str(exc.value) and "11122333301" not in str(exc.value)  # no patient data


def test_at_least_twenty_kinds_of_malformed_input_are_covered():
    assert len(MALFORMED) >= 20


def test_mismatched_control_numbers_are_findings_unless_strict():
    text = good().replace("GE*1*55~", "GE*1*56~").replace("IEA*1*000000055~", "IEA*1*000000054~")
    r = parse_271(text)
    assert [f.split(": ", 1)[1] for f in r.findings] == [
        "GE02 (56) does not match GS06 (55)",
        "IEA02 (000000054) does not match ISA13 (000000055)",
    ]
    with pytest.raises(X12Error, match="GE02 \\(56\\) does not match GS06 \\(55\\)"):
        parse_271(text, strict=True)
