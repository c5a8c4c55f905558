"""Reading a 271 eligibility response (005010X279A1). Pure Python.

Two layers, each strict about its part:
1. ``envelope.read``: delimiters, envelopes, counts and control numbers;
2. the walk below: BHT, the HL hierarchy (20 payer, 21 receiver, 22 subscriber, 23 dependent)
   with the name segment each level needs, the segments each loop may hold, the codes of the
   elements read (EB01, EB03, EB06, EB09, EB11, EB12, AAA01, AAA03, AAA04, HL03) and their
   numbers and dates.

x12sdk's 271 model is not used here: it types EB09 (the quantity qualifier, e.g. VS for visits)
as a decimal and accepts at 2100C/2100D only the provider-level AAA03 codes, so it refuses
standard responses that state a visit limit or that the subscriber was not found (AAA 75).
Its code lists (EB01, EB03, EB06) are used, through ``codes``.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from caremesh_insurance.domain.x12 import codes
from caremesh_insurance.domain.x12.envelope import Delimiters, Segment, X12Error, read

LEVELS = {"20": "payer", "21": "receiver", "22": "subscriber", "23": "dependent"}
NAME_LOOPS = {"20": "2100A", "21": "2100B", "22": "2100C", "23": "2100D"}
# NM101 entity codes each level's name loop allows.
ENTITIES = {
    "20": {"2B", "36", "GP", "P5", "PR"},
    "21": {"1P", "2B", "36", "80", "FA", "GP", "P5", "PR"},
    "22": {"IL"},
    "23": {"03"},
}
BENEFIT_LOOPS = {"22": "2110C", "23": "2110D"}
# The segments each part of a 271 may hold (LS/LE wrap loop 2120, whose contents are skipped).
_NAME_SEGMENTS = {"NM1", "REF", "N3", "N4", "AAA", "PRV", "DMG", "INS", "HI", "DTP", "MPI", "PER", "TRN"}
_BENEFIT_SEGMENTS = {"EB", "HSD", "REF", "DTP", "AAA", "MSG", "III", "LS", "LE"}
_IN_2120 = {"NM1", "N3", "N4", "PER", "PRV"}


@dataclass
class Rejection:
    loop: str
    valid_request: bool
    code: str
    follow_up_code: str

    @property
    def description(self) -> str:
        return codes.REJECT_REASONS[self.code]

    @property
    def follow_up(self) -> str:
        return codes.FOLLOW_UPS[self.follow_up_code]

    @property
    def kind(self) -> codes.RejectKind:
        return codes.reject_kind(self.code, self.loop)

    @property
    def transient(self) -> bool:
        return self.kind is codes.RejectKind.RETRY_LATER


@dataclass
class Benefit:
    """One EB segment, with the AAA and MSG segments of its loop."""

    code: str  # EB01
    coverage_level: str = ""  # EB02
    service_types: list[str] = field(default_factory=list)  # EB03
    insurance_type: str = ""  # EB04
    plan_description: str = ""  # EB05
    time_period: str = ""  # EB06
    amount: Decimal | None = None  # EB07
    percent: Decimal | None = None  # EB08, a fraction (0.2 is 20 %)
    quantity_qualifier: str = ""  # EB09
    quantity: Decimal | None = None  # EB10
    authorization_required: bool | None = None  # EB11
    in_network: bool | None = None  # EB12
    procedure: tuple[str, str] | None = None  # EB13-1 qualifier, EB13-2 code
    messages: list[str] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def name(self) -> str:
        return codes.ELIGIBILITY_CODES[self.code]


@dataclass
class Member:
    """The subscriber (HL 22) or dependent (HL 23) a 271 answers about."""

    level: str  # subscriber or dependent
    trace_numbers: list[str] = field(default_factory=list)  # TRN02 of each TRN
    member_id: str | None = None  # NM109 when NM108 is MI
    family_name: str | None = None  # NM103
    given_name: str | None = None  # NM104
    birth_date: date | None = None  # DMG02 when DMG01 is D8
    dates: dict[str, tuple[date, date | None]] = field(default_factory=dict)  # DTP01 -> (from, to)
    rejections: list[Rejection] = field(default_factory=list)
    benefits: list[Benefit] = field(default_factory=list)


@dataclass
class Response271:
    control_number: str  # ST02
    payer_name: str | None = None
    payer_id: str | None = None
    rejections: list[Rejection] = field(default_factory=list)  # payer and receiver levels (2000A, 2100A, 2100B)
    members: list[Member] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def member_for(self, trace: str | None) -> Member | None:
        """The member whose TRN echoes ``trace``; else the only patient (a dependent if there is one)."""
        if trace:
            for m in self.members:
                if trace in m.trace_numbers:
                    return m
        patients = [m for m in self.members if m.level == "dependent"] or self.members
        return patients[0] if len(patients) == 1 else None

    def all_rejections(self, member: Member | None) -> list[Rejection]:
        own = (member.rejections + [r for b in member.benefits for r in b.rejections]) if member else []
        return self.rejections + own


def parse_271(text: str, *, strict: bool = False) -> Response271:
    """Parse one 271 transaction set; X12Error says what is wrong and where."""
    interchange = read(text, expect="271", strict=strict)
    if len(interchange.transactions) != 1:
        raise X12Error(f"expected one 271 transaction set, found {len(interchange.transactions)}")
    [transaction] = interchange.transactions
    response = _walk(transaction.segments, interchange.delimiters, transaction.control_number)
    response.findings = interchange.findings
    return response


def _walk(segments: list[Segment], d: Delimiters, control_number: str) -> Response271:
    response = Response271(control_number=control_number)
    level: str | None = None
    member: Member | None = None
    benefit: Benefit | None = None
    in_2120 = False
    ids: dict[str, str] = {}  # HL id -> level code
    named: set[str] = set()  # HL ids whose name loop (NM1) was seen
    bht = segments[1] if len(segments) > 2 else segments[0]
    if bht.tag != "BHT" or bht.el(1) != "0022" or bht.el(2) not in ("06", "11"):
        raise X12Error("a 271 starts with BHT*0022*11 (or *06)", position=bht.position, segment=bht.tag)
    hl_id = ""
    for seg in segments[2:-1]:  # between BHT and SE
        tag = seg.tag
        if tag == "HL":
            if hl_id and hl_id not in named:
                raise X12Error("the HL before it has no NM1", position=seg.position, segment=tag)
            level, member, benefit, in_2120 = _hl(seg, ids), None, None, False
            hl_id = seg.el(1)
            if level in ("22", "23"):
                member = Member(level=LEVELS[level])
                response.members.append(member)
            continue
        if level is None:
            raise X12Error("an HL segment must come first after BHT", position=seg.position, segment=tag)
        if in_2120:
            if tag == "LE":
                in_2120 = False
            elif tag not in _IN_2120:
                raise X12Error("is not allowed in loop 2120", position=seg.position, segment=tag)
            continue
        if tag == "EB":
            if member is None:
                raise X12Error("EB is only allowed under a subscriber or dependent", position=seg.position, segment=tag)
            benefit = _eb(seg, d)
            member.benefits.append(benefit)
            continue
        if benefit is not None:  # inside loop 2110C/D
            if tag not in _BENEFIT_SEGMENTS:
                raise X12Error(f"is not allowed in loop {BENEFIT_LOOPS[level]}", position=seg.position, segment=tag)
            if tag == "AAA":
                benefit.rejections.append(_aaa(seg, BENEFIT_LOOPS[level]))
            elif tag == "MSG":
                benefit.messages.append(seg.el(1))
            elif tag == "LS":
                in_2120 = True
            elif tag == "LE":
                raise X12Error("LE without LS", position=seg.position, segment=tag)
            continue
        if tag not in _NAME_SEGMENTS:
            raise X12Error(f"is not allowed in loop {NAME_LOOPS[level]}", position=seg.position, segment=tag)
        if tag == "NM1" and hl_id not in named:
            if seg.el(1) not in ENTITIES[level]:
                raise X12Error(
                    f"NM101 must be one of {', '.join(sorted(ENTITIES[level]))} in loop {NAME_LOOPS[level]}",
                    position=seg.position,
                    segment=tag,
                )
            named.add(hl_id)
        elif hl_id not in named and not (tag == "TRN" or (tag == "AAA" and level == "20")):
            raise X12Error(f"loop {NAME_LOOPS[level]} must start with NM1", position=seg.position, segment=tag)
        if tag == "AAA":
            rejection = _aaa(seg, NAME_LOOPS[level] if hl_id in named else "2000A")
            (member.rejections if member else response.rejections).append(rejection)
        elif tag == "NM1" and level == "20":
            response.payer_name, response.payer_id = seg.el(3) or None, seg.el(9) or None
        elif tag == "NM1" and member is not None:
            member.member_id = seg.el(9) if seg.el(8) == "MI" else member.member_id
            member.family_name, member.given_name = seg.el(3) or None, seg.el(4) or None
        elif tag == "DMG" and member is not None and seg.el(1) == "D8":
            try:
                member.birth_date = _date(seg.el(2))
            except ValueError:
                raise X12Error("DMG02 is not a valid date", position=seg.position, segment=tag) from None
        elif tag == "TRN" and member is not None:
            if seg.el(1) == "2" and seg.el(2):  # our own trace, echoed (TRN*1 would be the payer's)
                member.trace_numbers.append(seg.el(2))
        elif tag == "DTP" and member is not None:
            member.dates[seg.el(1)] = _period(seg)
    if hl_id and hl_id not in named:
        raise X12Error(f"loop {NAME_LOOPS[level or '20']} has no NM1", segment="HL")
    if not response.members and not response.rejections:
        raise X12Error("the 271 names no subscriber and carries no rejection (AAA)")
    return response


def _hl(seg: Segment, ids: dict[str, str]) -> str:
    hl_id, parent, code = seg.el(1), seg.el(2), seg.el(3)
    if code not in LEVELS:
        raise X12Error("HL03 must be 20, 21, 22 or 23", position=seg.position, segment="HL")
    if not hl_id or hl_id in ids:
        raise X12Error("HL01 must be a new hierarchical id", position=seg.position, segment="HL")
    expected_parent = {"20": None, "21": "20", "22": "21", "23": "22"}[code]
    if (expected_parent is None and parent) or (expected_parent and ids.get(parent) != expected_parent):
        raise X12Error(
            f"HL02 must name a level {expected_parent or 'nothing'} parent for level {code}",
            position=seg.position,
            segment="HL",
        )
    ids[hl_id] = code
    return code


def _aaa(seg: Segment, loop: str) -> Rejection:
    valid, code, follow = seg.el(1), seg.el(3), seg.el(4)
    if valid not in ("Y", "N"):
        raise X12Error("AAA01 must be Y or N", position=seg.position, segment="AAA")
    if code not in codes.REJECT_REASONS:
        raise X12Error(f"AAA03 {code or '(empty)'} is not a reject reason code", position=seg.position, segment="AAA")
    if follow not in codes.FOLLOW_UPS:
        raise X12Error(
            f"AAA04 {follow or '(empty)'} is not a follow-up action code", position=seg.position, segment="AAA"
        )
    return Rejection(loop=loop, valid_request=valid == "Y", code=code, follow_up_code=follow)


def _decimal(seg: Segment, n: int) -> Decimal | None:
    raw = seg.el(n)
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise X12Error(f"EB{n:02d} must be a number", position=seg.position, segment="EB") from None
    if not value.is_finite():
        raise X12Error(f"EB{n:02d} must be a number", position=seg.position, segment="EB")
    return value


def _flag(seg: Segment, n: int, allowed: dict[str, bool | None]) -> bool | None:
    raw = seg.el(n)
    if not raw:
        return None
    if raw not in allowed:
        raise X12Error(f"EB{n:02d} must be one of {', '.join(allowed)}", position=seg.position, segment="EB")
    return allowed[raw]


def _eb(seg: Segment, d: Delimiters) -> Benefit:
    code = seg.el(1)
    if code not in codes.ELIGIBILITY_CODES:
        raise X12Error(
            f"EB01 {code or '(empty)'} is not an eligibility or benefit code", position=seg.position, segment="EB"
        )
    service_types = [s for s in seg.el(3).split(d.repetition) if s] if seg.el(3) else []
    unknown = [s for s in service_types if s not in codes.SERVICE_TYPES]
    if unknown:
        raise X12Error(f"EB03 {', '.join(unknown)} is not a service type code", position=seg.position, segment="EB")
    if seg.el(6) and seg.el(6) not in codes.TIME_PERIODS:
        raise X12Error(f"EB06 {seg.el(6)} is not a time period qualifier", position=seg.position, segment="EB")
    if seg.el(9) and seg.el(9) not in codes.QUANTITY_QUALIFIERS:
        raise X12Error(f"EB09 {seg.el(9)} is not a quantity qualifier", position=seg.position, segment="EB")
    procedure = None
    if seg.el(13):
        parts = seg.el(13).split(d.component)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise X12Error("EB13 must be a qualifier and a procedure code", position=seg.position, segment="EB")
        procedure = (parts[0], parts[1])
    return Benefit(
        code=code,
        coverage_level=seg.el(2),
        service_types=service_types,
        insurance_type=seg.el(4),
        plan_description=seg.el(5),
        time_period=seg.el(6),
        amount=_decimal(seg, 7),
        percent=_decimal(seg, 8),
        quantity_qualifier=seg.el(9),
        quantity=_decimal(seg, 10),
        authorization_required=_flag(seg, 11, {"Y": True, "N": False, "U": None}),
        in_network=_flag(seg, 12, {"Y": True, "N": False, "U": None, "W": None}),
        procedure=procedure,
    )


def _period(seg: Segment) -> tuple[date, date | None]:
    fmt, value = seg.el(2), seg.el(3)
    try:
        if fmt == "D8":
            return _date(value), None
        if fmt == "RD8":
            start, end = value.split("-")
            return _date(start), _date(end)
    except ValueError:
        raise X12Error("DTP03 is not a valid date for its format", position=seg.position, segment="DTP") from None
    raise X12Error("DTP02 must be D8 or RD8", position=seg.position, segment="DTP")


def _date(value: str) -> date:
    if len(value) != 8 or not value.isdigit():
        raise ValueError(value)
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))
