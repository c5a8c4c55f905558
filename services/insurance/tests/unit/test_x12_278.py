"""The 278 review request generator (005010X217) and the strict check it must pass (pure).

x12sdk has no 278 model; the structure is checked by ``read_278`` and the segments x12sdk
models generically (NM1, DMG, DTP, TRN, HI, envelopes) by x12sdk's own segment models.
"""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from caremesh_insurance.domain.x12 import X12Error
from caremesh_insurance.domain.x12.request import Person270
from caremesh_insurance.domain.x12.review import Review278, build_278
from caremesh_insurance.domain.x12.review_check import read_278

ADA = Person270("Lovelace", "Ada", date(1984, 3, 9))
BASE = Review278(
    umo_name="Acme Health",
    umo_id="ACME01",
    requester_name="CareMesh Clinic",
    requester_npi="1234567893",
    member_id="M-1",
    subscriber=ADA,
    procedure_code="97110",
    units=12,
    certification="I",
    level_of_service="E",
    trace="t123",
    trace_originator="9000000000",
    sender_id="CAREMESH",
    receiver_id="ACME01",
    control_number=42,
    created=datetime(2026, 3, 6, 17, 5, tzinfo=UTC),
    service_from=date(2026, 3, 10),
    service_to=date(2026, 5, 10),
    diagnosis_codes=["M54.50", "M25.561"],
)


def segments(text: str) -> list[list[str]]:
    return [s.split("*") for s in text.split("~") if s]


def tags(text: str) -> list[str]:
    return [s[0] for s in segments(text)]


def test_a_request_has_the_envelope_the_levels_and_the_counts():
    text = build_278(BASE)
    segs = segments(text)
    assert tags(text) == [
        "ISA",
        "GS",
        "ST",
        "BHT",
        "HL",
        "NM1",
        "HL",
        "NM1",
        "HL",
        "NM1",
        "DMG",
        "HL",
        "TRN",
        "UM",
        "HI",
        "HL",
        "UM",
        "DTP",
        "SV1",
        "SE",
        "GE",
        "IEA",
    ]
    isa, gs, st = segs[0], segs[1], segs[2]
    assert len(text.split("~")[0]) + 1 == 106  # the ISA is fixed-width
    assert (isa[13], isa[15], gs[1], gs[6], gs[8]) == ("000000042", "T", "HI", "42", "005010X217")
    assert st == ["ST", "278", "0042", "005010X217"]
    assert segs[3] == ["BHT", "0007", "13", "t123", "20260306", "1705"]
    se, ge, iea = segs[-3], segs[-2], segs[-1]
    assert se == ["SE", str(len(segs) - 4), "0042"]  # ST through SE
    assert ge == ["GE", "1", "42"] and iea == ["IEA", "1", "000000042"]
    hl = [s for s in segs if s[0] == "HL"]
    assert hl == [
        ["HL", "1", "", "20", "1"],
        ["HL", "2", "1", "21", "1"],
        ["HL", "3", "2", "22", "1"],
        ["HL", "4", "3", "EV", "1"],
        ["HL", "5", "4", "SS", "0"],
    ]
    assert ["NM1", "X3", "2", "ACME HEALTH", "", "", "", "", "PI", "ACME01"] in segs
    assert ["NM1", "1P", "2", "CAREMESH CLINIC", "", "", "", "", "XX", "1234567893"] in segs
    assert ["NM1", "IL", "1", "LOVELACE", "ADA", "", "", "", "MI", "M-1"] in segs
    assert ["UM", "HS", "I", "1", "11:B", "", "E"] in segs
    assert ["HI", "ABK:M5450", "ABF:M25561"] in segs
    assert ["DTP", "472", "RD8", "20260310-20260510"] in segs
    assert ["SV1", "HC:97110", "", "UN", "12"] in segs
    checked = read_278(text)
    assert (checked.control_number, checked.trace, checked.findings) == ("000000042", "t123", [])
    [service] = checked.services
    assert service.first("SV1").el(1) == "HC:97110"


def test_a_dependent_patient_gets_level_23_and_an_urgent_appeal_says_so():
    mary = Person270("Lovelace", "Mary", date(2015, 6, 1))
    text = build_278(
        replace(
            BASE,
            dependent=mary,
            certification="1",
            level_of_service="U",
            diagnosis_codes=[],
            service_from=date(2026, 3, 10),
            service_to=date(2026, 3, 10),
        )
    )
    segs = segments(text)
    assert [s for s in segs if s[0] == "HL"][3:] == [
        ["HL", "4", "3", "23", "1"],
        ["HL", "5", "4", "EV", "1"],
        ["HL", "6", "5", "SS", "0"],
    ]
    assert ["NM1", "QC", "1", "LOVELACE", "MARY"] in segs and ["DMG", "D8", "20150601"] in segs
    assert ["UM", "HS", "1", "1", "11:B", "", "U"] in segs and ["UM", "HS", "1", "1"] in segs
    assert "HI" not in tags(text) and ["DTP", "472", "D8", "20260310"] in segs
    assert read_278(text).level("23") is not None


def test_no_period_sends_no_service_date():
    text = build_278(replace(BASE, service_from=None, service_to=None))
    assert "DTP" not in tags(text)
    read_278(text)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"control_number": 0}, "control number"),
        ({"procedure_code": "9711"}, "CPT or HCPCS"),
        ({"units": 0}, "units"),
        ({"diagnosis_codes": ["54.5"]}, "ICD-10-CM"),
        ({"diagnosis_codes": ["M54.5"] * 13}, "at most 12"),
        ({"certification": "X"}, "certification type"),
        ({"level_of_service": "Z"}, "level of service"),
        ({"service_type": "ZZZ"}, "service type"),
        ({"service_to": None}, "both ends"),
        ({"service_to": date(2026, 1, 1)}, "ends before"),
        ({"requester_npi": "123"}, "NPI"),
        ({"trace_originator": "123"}, "trace originator"),
        ({"subscriber": Person270("李", "A")}, "family name"),
    ],
)
def test_the_generator_refuses_what_x12_cannot_carry(change, message):
    with pytest.raises(ValueError, match=message):
        build_278(replace(BASE, **change))


GOOD = build_278(BASE)


def mutate(old: str, new: str, recount: bool = True) -> str:
    assert old in GOOD, old
    text = GOOD.replace(old, new)
    if recount:
        n = len(segments(text)) - 4
        text = text.replace(f"SE*{len(segments(GOOD)) - 4}*", f"SE*{n}*")
    return text


def drop(segment: str) -> str:
    return mutate(segment + "~", "")


@pytest.mark.parametrize(
    ("text", "segment", "message"),
    [
        (mutate("SE*18*", "SE*19*", recount=False), "SE", "SE01 says 19 segments but the transaction set has 18"),
        (mutate("GS*HI*", "GS*HS*"), "GS", "GS01 must be HI for a 278"),
        (mutate("ST*278*0042*005010X217", "ST*278*0042*005010X279A1"), "ST", "ST03 must be 005010X217"),
        (mutate("SE*18*0042", "SE*18*0043"), "SE", "SE02 (0043) does not match ST02 (0042)"),
        (mutate("IEA*1*", "IEA*2*"), "IEA", "IEA01 says 2 functional groups"),
        (mutate("BHT*0007*13", "BHT*0022*13"), "BHT", "BHT01 must be 0007"),
        (mutate("BHT*0007*13", "BHT*0007*11"), "BHT", "BHT02 must be 13"),
        (mutate("HL*3*2*22*1", "HL*3*1*22*1"), "HL", "must hang from 21, not 20"),
        (mutate("HL*4*3*EV*1", "HL*5*3*EV*1"), "HL", "HL01 must be 4"),
        (mutate("HL*5*4*SS*0", "HL*5*4*SS*1"), "HL", "HL04 must be 0"),
        (mutate("HL*1**20*1", "HL*1*9*20*1"), "HL", "HL02 must be empty"),
        (drop("UM*HS*I*1*11:B**E"), "HL", "level EV needs exactly one UM"),
        (mutate("UM*HS*I*1*11:B**E", "UM*HS*Q*1*11:B**E"), "UM", "UM02 must be one of"),
        (mutate("UM*HS*I*1*11:B**E", "UM*HS*I*1*11:C**E"), "UM", "UM04 must be a facility code"),
        (mutate("UM*HS*I*1*11:B**E", "UM*HS*I*1*11:B**Z"), "UM", "UM06 must be one of"),
        (mutate("UM*HS*I*1~DTP", "UM*HS*2*1~DTP"), "UM", "must match the patient event's"),
        (mutate("NM1*X3*2*ACME HEALTH*****PI", "NM1*X3*2*ACME HEALTH*****ZZ"), "NM1", "NM108 must be one of"),
        (mutate("NM1*IL*1*LOVELACE*ADA****MI*M-1", "NM1*IL*1*LOVELACE*ADA****MI"), "NM1", "x12sdk refused NM1"),
        (mutate("HI*ABK:M5450", "HI*ABF:M5450"), "HI", "HI01 must be the principal diagnosis"),
        (mutate("HI*ABK:M5450", "HI*ABK:M54.50"), "HI", "without its dot"),
        (mutate("DTP*472*RD8*20260310-20260510", "DTP*472*RD8*20260510-20260310"), "DTP", "ends before it starts"),
        (mutate("DTP*472*RD8*20260310-20260510", "DTP*472*D8*20261310"), "DTP", "x12sdk refused DTP"),
        (mutate("SV1*HC:97110**UN*12", "SV1*97110**UN*12"), "SV1", "SV101 must be a procedure code"),
        (mutate("SV1*HC:97110**UN*12", "SV1*HC:97110**UN*0"), "SV1", "SV104 must be a positive quantity"),
        (mutate("DMG*D8*19840309", "REF*6P*G1~DMG*D8*19840309"), None, None),  # allowed at level 22
        (mutate("TRN*1*t123*9000000000", "SV1*HC:97110**UN*1"), "SV1", "SV1 does not belong at level EV"),
        (
            mutate("HL*5*4*SS*0~UM*HS*I*1~DTP*472*RD8*20260310-20260510~SV1*HC:97110**UN*12~", ""),
            "HL",
            "needs a service level",
        ),
    ],
)
def test_the_check_refuses_each_defect_and_says_where(text, segment, message):
    if message is None:
        read_278(text)
        return
    with pytest.raises(X12Error) as err:
        read_278(text)
    assert message in str(err.value) and err.value.segment == segment, str(err.value)
