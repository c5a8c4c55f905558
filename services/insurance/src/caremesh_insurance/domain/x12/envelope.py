"""X12 interchanges: delimiters, segments and a strict check of the envelopes. Pure Python.

x12sdk parses the transaction sets into models but skips the ISA/GS envelopes and does not
compare control numbers, so this module does that part, strictly, before the library runs:

- errors (always fatal): not X12, a malformed ISA, a missing or misplaced envelope segment,
  counts that do not match (SE01, GE01, IEA01), the wrong transaction set or version;
- findings: a trailer whose control number differs from its header's (SE02/ST02, GE02/GS06,
  IEA02/ISA13). In strict mode a finding is an error; otherwise it is kept with the result;
- warnings, kept as findings in either mode: a version label without its addenda (005010X279
  for 005010X279A1), read as the same transaction.

Blanks and line breaks around segments are ignored; inside a segment they are an error.

Messages name segments, positions and elements, never their values (they may be patient data),
except control numbers and codes from the standard.
"""

import re
from dataclasses import dataclass, field

MAX_BYTES = 1_000_000  # an eligibility response is a few kilobytes
ISA_LENGTH = 106
VERSION = "005010X279A1"
REVIEW_VERSION = "005010X217"  # the 278 health care services review
_TAG = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
# ISA element widths (ISA01..ISA16), fixed by the standard.
_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
FUNCTIONAL_CODES = {"270": "HS", "271": "HB", "278": "HI"}
VERSIONS = {"270": VERSION, "271": VERSION, "278": REVIEW_VERSION}
# Labels some payers send for the same implementation guide without its addenda suffix.
ADDENDA = {"005010X279": VERSION}
_BLANKS = " \t\r\n"


EDI_X12 = "application/EDI-X12"  # the media type of an interchange on HTTP


class PayerUnavailable(Exception):
    """The payer could not be asked or did not answer; the message names no patient data."""


class X12Error(ValueError):
    """Input that is not a valid interchange (270/271 of 005010X279A1, 278 of 005010X217); the message
    says what and where."""

    def __init__(self, message: str, *, segment: str | None = None, position: int | None = None) -> None:
        where = f"segment {position} ({segment}): " if position and segment else (f"{segment}: " if segment else "")
        super().__init__(f"{where}{message}")
        self.segment = segment
        self.position = position


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    repetition: str = "^"
    component: str = ":"
    segment: str = "~"

    def all(self) -> str:
        return self.element + self.repetition + self.component + self.segment


@dataclass
class Segment:
    tag: str
    elements: list[str]  # elements[0] is the tag, as in X12's own numbering (ISA01 is elements[1])
    position: int  # 1-based place in the interchange

    def el(self, n: int) -> str:
        return self.elements[n] if n < len(self.elements) else ""

    def render(self, d: Delimiters) -> str:
        return d.element.join(self.elements) + d.segment


@dataclass
class Transaction:
    code: str  # ST01
    control_number: str  # ST02
    segments: list[Segment]  # ST through SE


@dataclass
class Interchange:
    delimiters: Delimiters
    isa: Segment
    control_number: str
    usage: str
    transactions: list[Transaction] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    segments: list[Segment] = field(default_factory=list)

    def clean(self) -> str:
        """The interchange again, without line breaks, for the model parser."""
        return "".join(s.render(self.delimiters) for s in self.segments)


def tokenize(text: str) -> tuple[Delimiters, list[Segment]]:
    """Split an interchange into segments, taking the delimiters from its ISA."""
    if not isinstance(text, str):
        raise X12Error("the interchange must be text")
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise X12Error(f"the interchange is larger than {MAX_BYTES} bytes")
    text = text.lstrip("\ufeff \t\r\n")
    if not text:
        raise X12Error("the interchange is empty")
    if not text.startswith("ISA"):
        raise X12Error("not an X12 interchange: it must start with an ISA segment")
    if len(text) < ISA_LENGTH:
        raise X12Error(
            f"the ISA segment must be {ISA_LENGTH} characters long; the input has {len(text)}", segment="ISA"
        )
    element = text[3]
    isa = text[: ISA_LENGTH - 1]
    parts = isa.split(element)
    if len(parts) != 17:
        raise X12Error(
            f"the ISA segment must have 16 elements separated by its 4th character; found {len(parts) - 1}",
            segment="ISA",
        )
    for n, (value, width) in enumerate(zip(parts[1:], _ISA_WIDTHS, strict=True), start=1):
        if len(value) != width:
            raise X12Error(f"ISA{n:02d} must be {width} characters long, not {len(value)}", segment="ISA")
    # The version first: ISA11 is the repetition separator only from 5010 on (4010 has the standards
    # identifier U there), so the delimiters of another version would be misread.
    if parts[12] != "00501":
        version = f"version {parts[12].lstrip('0')}0" if parts[12].isdigit() else "another version"
        raise X12Error(
            f"ISA12 {parts[12]} ({version}) is not supported: only 5010 (00501) interchanges are read",
            segment="ISA",
        )
    d = Delimiters(element=element, repetition=parts[11], component=parts[16], segment=text[ISA_LENGTH - 1])
    if len(set(d.all())) != 4 or any(c.isalnum() or c.isspace() for c in d.all()):
        raise X12Error(
            "the ISA delimiters must be four distinct characters that are neither letters, digits nor spaces",
            segment="ISA",
        )
    segments: list[Segment] = []
    for raw in text.split(d.segment):
        raw = raw.strip(_BLANKS)  # indentation and line breaks between segments
        if not raw:
            continue
        elements = raw.split(d.element)
        tag = elements[0]
        position = len(segments) + 1
        if not _TAG.match(tag):
            raise X12Error(
                "a segment must start with a 2 or 3 character upper-case identifier",
                position=position,
                segment=tag[:3] or "empty",
            )
        if any(c in value for value in elements for c in "\r\n"):
            raise X12Error("line breaks are only allowed between segments", position=position, segment=tag)
        segments.append(Segment(tag=tag, elements=elements, position=position))
    return d, segments


def _same_version(seg: Segment, n: int, version: str, findings: list[str]) -> bool:
    """The version label, or one payers send without its addenda (kept as a warning in ``findings``)."""
    label = seg.el(n)
    if label == version:
        return True
    if ADDENDA.get(label) != version:
        return False
    findings.append(
        f"segment {seg.position} ({seg.tag}): {seg.tag}{n:02d} {label} lacks the "
        f"{version[len(label) :]} addenda; read as {version}"
    )
    return True


def read(text: str, *, expect: str, strict: bool = False) -> Interchange:
    """Tokenize and check the envelopes of an interchange carrying ``expect`` (270, 271 or 278)."""
    d, segments = tokenize(text)
    isa = segments[0]
    if not isa.el(13).isdigit():
        raise X12Error("ISA13 (the interchange control number) must be 9 digits", segment="ISA")
    if isa.el(15) not in ("P", "T"):
        raise X12Error("ISA15 (usage) must be P or T", segment="ISA")
    interchange = Interchange(delimiters=d, isa=isa, control_number=isa.el(13), usage=isa.el(15), segments=segments)

    def finding(message: str, seg: Segment) -> None:
        if strict:
            raise X12Error(message, position=seg.position, segment=seg.tag)
        interchange.findings.append(f"segment {seg.position} ({seg.tag}): {message}")

    i, groups = 1, 0
    while i < len(segments) and segments[i].tag == "GS":
        gs, groups, i = segments[i], groups + 1, i + 1
        if gs.el(1) != FUNCTIONAL_CODES[expect]:
            raise X12Error(
                f"GS01 must be {FUNCTIONAL_CODES[expect]} for a {expect}, not {gs.el(1)}",
                position=gs.position,
                segment="GS",
            )
        version = VERSIONS[expect]

        if not _same_version(gs, 8, version, interchange.findings):
            raise X12Error(f"GS08 must be {version}, not {gs.el(8)}", position=gs.position, segment="GS")
        count = 0
        while i < len(segments) and segments[i].tag == "ST":
            st = segments[i]
            if st.el(1) != expect:
                raise X12Error(f"ST01 must be {expect}, not {st.el(1)}", position=st.position, segment="ST")
            if st.el(3) and not _same_version(st, 3, version, interchange.findings):
                raise X12Error(f"ST03 must be {version}, not {st.el(3)}", position=st.position, segment="ST")
            if not 4 <= len(st.el(2)) <= 9:
                raise X12Error(
                    "ST02 (the control number) must be 4 to 9 characters", position=st.position, segment="ST"
                )
            end = next((j for j in range(i + 1, len(segments)) if segments[j].tag in ("SE", "ST", "GE", "IEA")), None)
            if end is None or segments[end].tag != "SE":
                raise X12Error("the transaction set has no SE trailer", position=st.position, segment="ST")
            se = segments[end]
            body = segments[i : end + 1]
            if se.el(1) != str(len(body)):
                raise X12Error(
                    f"SE01 says {se.el(1) or 'nothing'} segments but the transaction set has {len(body)}",
                    position=se.position,
                    segment="SE",
                )
            if se.el(2) != st.el(2):
                finding(f"SE02 ({se.el(2)}) does not match ST02 ({st.el(2)})", se)
            interchange.transactions.append(Transaction(code=st.el(1), control_number=st.el(2), segments=body))
            count, i = count + 1, end + 1
        if count == 0:
            raise X12Error("the functional group holds no transaction set", position=gs.position, segment="GS")
        if i >= len(segments) or segments[i].tag != "GE":
            seg = segments[i] if i < len(segments) else gs
            raise X12Error("the functional group has no GE trailer", position=seg.position, segment=seg.tag)
        ge = segments[i]
        if ge.el(1) != str(count):
            raise X12Error(
                f"GE01 says {ge.el(1) or 'nothing'} transaction sets but the group has {count}",
                position=ge.position,
                segment="GE",
            )
        if ge.el(2) != gs.el(6):
            finding(f"GE02 ({ge.el(2)}) does not match GS06 ({gs.el(6)})", ge)
        i += 1
    if groups == 0:
        seg = segments[1] if len(segments) > 1 else isa
        raise X12Error("a GS segment must follow the ISA", position=seg.position, segment=seg.tag)
    if i >= len(segments) or segments[i].tag != "IEA":
        seg = segments[i] if i < len(segments) else segments[-1]
        raise X12Error("the interchange has no IEA trailer where expected", position=seg.position, segment=seg.tag)
    iea = segments[i]
    if iea.el(1) != str(groups):
        raise X12Error(
            f"IEA01 says {iea.el(1) or 'nothing'} functional groups but the interchange has {groups}",
            position=iea.position,
            segment="IEA",
        )
    if iea.el(2) != isa.el(13):
        finding(f"IEA02 ({iea.el(2)}) does not match ISA13 ({isa.el(13)})", iea)
    if i + 1 < len(segments):
        extra = segments[i + 1]
        raise X12Error("nothing may follow the IEA trailer", position=extra.position, segment=extra.tag)
    return interchange
