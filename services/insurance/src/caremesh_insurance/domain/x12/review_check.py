"""A strict check of 278 review requests (005010X217). Pure Python.

x12sdk has no 278 transaction model, so the structure is checked here: the envelopes and counts
(``envelope.read``), the BHT, the HL hierarchy (20 → 21 → 22 → 23? → EV → SS…, each parent
named before its children and HL04 saying whether children follow), the segments each loop
must and may hold, and the codes of UM, HI, DTP and SV1. Segments that x12sdk models the same
way in every 5010 transaction (NM1, DMG, DTP, TRN, HI and the envelope segments) are also
validated by its segment models, an independent check of their elements.

Used on what we generate (before it leaves) and by the fake reviewer in tests.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError
from x12sdk.v5010.segments import SEGMENT_LOOKUP

from caremesh_insurance.domain.x12.codes import SERVICE_TYPES
from caremesh_insurance.domain.x12.envelope import Segment, X12Error, read
from caremesh_insurance.domain.x12.review import CERTIFICATION_TYPES, LEVELS_OF_SERVICE, REQUEST_CATEGORIES

# The loops of a request, by HL03: the levels they may hang from, the entity codes of the NM1 that
# opens them (none: no NM1 first) and the other segments they may hold.
LEVELS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "20": ((), ("X3",), ()),
    "21": (("20",), ("1P", "FA"), ("REF", "N3", "N4", "PER", "PRV")),
    "22": (("21",), ("IL",), ("REF", "N3", "N4", "DMG", "INS")),
    "23": (("22",), ("QC",), ("REF", "N3", "N4", "DMG", "INS")),
    "EV": (
        ("22", "23"),
        (),
        (
            "TRN",
            "UM",
            "REF",
            "DTP",
            "HI",
            "HSD",
            "CRC",
            "CL1",
            "CR1",
            "CR2",
            "CR5",
            "CR6",
            "PWK",
            "MSG",
            "NM1",
            "N3",
            "N4",
            "PER",
            "PRV",
        ),
    ),
    "SS": (
        ("EV",),
        (),
        ("TRN", "UM", "REF", "DTP", "SV1", "SV2", "SV3", "TOO", "HSD", "PWK", "MSG", "NM1", "N3", "N4", "PER", "PRV"),
    ),
}
NM108 = {
    "X3": {"24", "46", "FI", "NI", "PI", "XV", "XX"},
    "1P": {"24", "34", "46", "PI", "XX"},
    "FA": {"24", "34", "46", "PI", "XX"},
    "IL": {"MI"},
    "QC": set(),
}
# Checked by x12sdk's 5010 segment models too (their generic form fits the 278).
BY_LIBRARY = ("GS", "ST", "NM1", "DMG", "DTP", "TRN", "HI", "SE", "GE", "IEA")
_DATE = re.compile(r"^[0-9]{8}$")


@dataclass
class Level:
    id: str
    parent: str
    code: str
    children: bool
    segments: list[Segment] = field(default_factory=list)

    def first(self, tag: str) -> Segment | None:
        return next((s for s in self.segments if s.tag == tag), None)


@dataclass
class Request278:
    """What a checked 278 request asks, for tests and the fake reviewer."""

    control_number: str
    trace: str
    levels: list[Level]
    findings: list[str]

    def level(self, code: str) -> Level | None:
        return next((lv for lv in self.levels if lv.code == code), None)

    @property
    def services(self) -> list[Level]:
        return [lv for lv in self.levels if lv.code == "SS"]


def _fail(message: str, seg: Segment) -> X12Error:
    return X12Error(message, segment=seg.tag, position=seg.position)


def _library(seg: Segment) -> None:
    model = SEGMENT_LOOKUP[seg.tag]
    names = [n for n in model.model_fields if n != "delimiters"]
    if len(seg.elements) > len(names):
        raise _fail(f"x12sdk: {seg.tag} has {len(seg.elements) - 1} elements, at most {len(names) - 1} allowed", seg)
    data: dict[str, object] = {}
    for name, value in zip(names, seg.elements, strict=False):
        extra = model.model_fields[name].json_schema_extra or {}
        if value and isinstance(extra, dict) and extra.get("is_component"):
            data[name] = value.split(":")
        else:
            data[name] = value or None
    try:
        model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _fail(f"x12sdk refused {seg.tag} ({where}): {first['msg']}", seg) from None


def _date(value: str, seg: Segment, what: str) -> None:
    try:
        if not _DATE.match(value):
            raise ValueError
        datetime.strptime(value, "%Y%m%d")
    except ValueError:
        raise _fail(f"{what} must be a date CCYYMMDD", seg) from None


def _bht(seg: Segment) -> str:
    if seg.el(1) != "0007":
        raise _fail("BHT01 must be 0007 (source, receiver, subscriber, dependent, event, services)", seg)
    if seg.el(2) != "13":
        raise _fail("BHT02 must be 13 (request)", seg)
    if not 1 <= len(seg.el(3)) <= 50:
        raise _fail("BHT03 (the submitter's reference) must be 1-50 characters", seg)
    _date(seg.el(4), seg, "BHT04")
    if not re.fullmatch(r"[0-9]{4}([0-9]{2}([0-9]{1,2})?)?", seg.el(5)):
        raise _fail("BHT05 must be a time HHMM[SS[D[D]]]", seg)
    return seg.el(3)


def _levels(segments: list[Segment]) -> list[Level]:
    levels: list[Level] = []
    for seg in segments:
        if seg.tag == "HL":
            expected = str(len(levels) + 1)
            if seg.el(1) != expected:
                raise _fail(f"HL01 must be {expected} (hierarchical ids count up from 1)", seg)
            if seg.el(3) not in LEVELS:
                raise _fail(f"HL03 {seg.el(3)} is not a level of a 278 request ({', '.join(LEVELS)})", seg)
            if seg.el(4) not in ("0", "1"):
                raise _fail("HL04 must be 0 or 1", seg)
            levels.append(Level(seg.el(1), seg.el(2), seg.el(3), seg.el(4) == "1", [seg]))
        elif not levels:
            raise _fail("the transaction must start with the HL of the UMO after BHT", seg)
        else:
            levels[-1].segments.append(seg)
    return levels


def _hierarchy(levels: list[Level]) -> None:
    by_id = {lv.id: lv for lv in levels}
    order = [lv.code for lv in levels]
    if order[:3] != ["20", "21", "22"]:
        raise _fail("the levels must open with 20 (UMO), 21 (requester) and 22 (subscriber)", levels[0].segments[0])
    for lv in levels:
        hl = lv.segments[0]
        parents, _, _ = LEVELS[lv.code]
        if not parents:
            if lv.parent:
                raise _fail("HL02 must be empty for the UMO level", hl)
            continue
        parent = by_id.get(lv.parent)
        if parent is None or int(lv.parent) >= int(lv.id):
            raise _fail(f"HL02 must name an earlier level, not {lv.parent or 'nothing'}", hl)
        if parent.code not in parents:
            raise _fail(f"a level {lv.code} must hang from {' or '.join(parents)}, not {parent.code}", hl)
    if order.count("EV") != 1:
        raise _fail("a request has exactly one patient event level (EV)", levels[-1].segments[0])
    if "SS" not in order:
        raise _fail("a request for a service needs a service level (SS)", levels[-1].segments[0])
    event = next(lv for lv in levels if lv.code == "EV")
    patient = "23" if "23" in order else "22"
    if by_id[event.parent].code != patient:
        raise _fail(f"the patient event must hang from the patient's level ({patient})", event.segments[0])
    for lv in levels:
        has_children = any(other.parent == lv.id for other in levels)
        if lv.children != has_children:
            raise _fail(
                f"HL04 must be {1 if has_children else 0}: the level has {'' if has_children else 'no '}children",
                lv.segments[0],
            )


def _names(lv: Level) -> None:
    _, entities, allowed = LEVELS[lv.code]
    rest = lv.segments[1:]
    if entities:
        if not rest or rest[0].tag != "NM1":
            raise _fail(f"level {lv.code} must start with its NM1", lv.segments[0])
        nm1 = rest[0]
        if nm1.el(1) not in entities:
            raise _fail(f"NM101 must be {' or '.join(entities)} at level {lv.code}, not {nm1.el(1)}", nm1)
        qualifiers = NM108[nm1.el(1)]
        if qualifiers and nm1.el(8) not in qualifiers:
            raise _fail(f"NM108 must be one of {', '.join(sorted(qualifiers))} for {nm1.el(1)}", nm1)
        if not qualifiers and (nm1.el(8) or nm1.el(9)):
            raise _fail(f"NM108/NM109 are not used for {nm1.el(1)}", nm1)
        if nm1.el(1) == "IL" and not nm1.el(9):
            raise _fail("the subscriber needs a member id (NM109)", nm1)
        rest = rest[1:]
    for seg in rest:
        if seg.tag not in allowed:
            raise _fail(f"{seg.tag} does not belong at level {lv.code}", seg)
        if seg.tag == "NM1" and lv.code in ("20", "21", "22", "23"):
            raise _fail(f"a second NM1 does not belong at level {lv.code}", seg)


def _um(seg: Segment, event: bool) -> None:
    if seg.el(1) not in REQUEST_CATEGORIES:
        raise _fail(f"UM01 must be one of {', '.join(REQUEST_CATEGORIES)}", seg)
    if seg.el(2) not in CERTIFICATION_TYPES:
        raise _fail(f"UM02 must be one of {', '.join(CERTIFICATION_TYPES)}", seg)
    if seg.el(3) and seg.el(3) not in SERVICE_TYPES:
        raise _fail("UM03 is not an X12 service type code", seg)
    if seg.el(4):
        parts = seg.el(4).split(":")
        if len(parts) != 2 or parts[1] not in ("A", "B") or not parts[0]:
            raise _fail("UM04 must be a facility code and its qualifier (A or B)", seg)
        if parts[1] == "B" and not re.fullmatch(r"[0-9]{2}", parts[0]):
            raise _fail("UM04-1 must be a 2-digit place of service code", seg)
    if seg.el(6):
        if not event:
            raise _fail("UM06 is only used at the patient event level", seg)
        if seg.el(6) not in LEVELS_OF_SERVICE:
            raise _fail(f"UM06 must be one of {', '.join(LEVELS_OF_SERVICE)}", seg)
    if event and not seg.el(3):
        raise _fail("UM03 (the service type) is required at the patient event level", seg)


def _hi(seg: Segment) -> None:
    for n, value in enumerate(seg.elements[1:], start=1):
        parts = value.split(":")
        qualifier = parts[0]
        if n == 1 and qualifier not in ("ABK", "BK"):
            raise _fail("HI01 must be the principal diagnosis (ABK for ICD-10-CM)", seg)
        if n > 1 and qualifier not in ("ABF", "BF"):
            raise _fail(f"HI{n:02d} must be another diagnosis (ABF for ICD-10-CM)", seg)
        if len(parts) < 2 or not re.fullmatch(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}", parts[1]):
            raise _fail(f"HI{n:02d} must carry an ICD-10-CM code without its dot", seg)


def _dtp(seg: Segment) -> None:
    if seg.el(2) == "D8":
        _date(seg.el(3), seg, "DTP03")
    elif seg.el(2) == "RD8":
        start, _, end = seg.el(3).partition("-")
        _date(start, seg, "DTP03 (start)")
        _date(end, seg, "DTP03 (end)")
        if end < start:
            raise _fail("DTP03 ends before it starts", seg)
    else:
        raise _fail("DTP02 must be D8 or RD8", seg)


def _sv1(seg: Segment) -> None:
    code = seg.el(1).split(":")
    if len(code) < 2 or code[0] not in ("HC", "WK") or not code[1]:
        raise _fail("SV101 must be a procedure code qualified HC (CPT/HCPCS)", seg)
    if seg.el(4) and not seg.el(3):
        raise _fail("SV103 (UN or MJ) is required with a quantity", seg)
    if seg.el(3) and seg.el(3) not in ("UN", "MJ"):
        raise _fail("SV103 must be UN (units) or MJ (minutes)", seg)
    if seg.el(4):
        try:
            ok = float(seg.el(4)) > 0
        except ValueError:
            ok = False
        if not ok:
            raise _fail("SV104 must be a positive quantity", seg)


def read_278(text: str) -> Request278:
    """Check a 278 request strictly; X12Error names the segment and its position when it is not valid."""
    interchange = read(text, expect="278", strict=True)
    if len(interchange.transactions) != 1:
        raise X12Error("a 278 interchange from us carries exactly one request", segment="GE")
    for seg in interchange.segments:
        if seg.tag in BY_LIBRARY:
            _library(seg)
    segments = interchange.transactions[0].segments
    if len(segments) < 3 or segments[1].tag != "BHT":
        raise _fail("BHT must follow ST", segments[min(1, len(segments) - 1)])
    trace = _bht(segments[1])
    levels = _levels(segments[2:-1])
    if not levels:
        raise _fail("the request has no levels", segments[-1])
    _hierarchy(levels)
    for lv in levels:
        _names(lv)
        for seg in lv.segments:
            if seg.tag == "UM":
                _um(seg, event=lv.code == "EV")
            elif seg.tag == "HI":
                _hi(seg)
            elif seg.tag == "DTP":
                _dtp(seg)
            elif seg.tag == "SV1":
                _sv1(seg)
        if lv.code in ("EV", "SS"):
            ums = [s for s in lv.segments if s.tag == "UM"]
            if len(ums) != 1:
                raise _fail(f"level {lv.code} needs exactly one UM", lv.segments[0])
    event = next(lv for lv in levels if lv.code == "EV")
    event_um = event.first("UM")
    assert event_um is not None  # every EV level was checked above to hold exactly one UM
    category, certification = event_um.el(1), event_um.el(2)
    for service in (lv for lv in levels if lv.code == "SS"):
        um = service.first("UM")
        assert um is not None
        if (um.el(1), um.el(2)) != (category, certification):
            raise _fail("a service's UM01/UM02 must match the patient event's", um)
    return Request278(
        control_number=interchange.control_number, trace=trace, levels=levels, findings=interchange.findings
    )
