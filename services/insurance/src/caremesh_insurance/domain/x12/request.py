"""Writing a 270 eligibility inquiry (005010X279A1). Pure Python.

One inquiry, one patient: the payer (HL 20), the provider asking (HL 21), the subscriber (HL 22)
and, when the patient is not the subscriber, the dependent (HL 23). The patient's level carries
the trace (TRN), the date of service (DTP 291) and the question EQ*30, the generic inquiry to
which a payer answers with its standard set of service types (1, 33, 35, 47, 86, 88, 98, AL, MH,
UC). A procedure-level EQ (EQ02 HC:<code>) is not sent: x12sdk rejects an EQ without EQ01, so
its acceptance check could not pass; whether a CPT code is covered comes from the plan data
unless the payer states it (EB13).
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from caremesh_insurance.domain.x12.envelope import VERSION, Delimiters

D = Delimiters()
_BASIC = re.compile(r"[^A-Z0-9 !&'()+,\-./;?=%@\[\]_{}\\|<>#$\"]")  # the X12 basic and extended set, less delimiters
_ID = re.compile(r"^[A-Za-z0-9\-]+$")


@dataclass(frozen=True)
class Person270:
    family_name: str
    given_name: str
    birth_date: date | None = None


@dataclass(frozen=True)
class Inquiry270:
    payer_name: str
    payer_id: str  # NM109 of 2100A (PI)
    provider_name: str
    provider_npi: str  # NM109 of 2100B (XX)
    member_id: str  # NM109 of 2100C (MI)
    subscriber: Person270
    service_date: date
    trace: str  # TRN02: ours, echoed by the payer
    trace_originator: str  # TRN03: "9" + a 9-digit company id
    sender_id: str  # ISA06 / GS02
    receiver_id: str  # ISA08 / GS03
    control_number: int  # ISA13, GS06 and ST02 (1..999999999)
    created: datetime
    dependent: Person270 | None = None
    group_id: str | None = None
    usage: str = "T"  # ISA15: T test, P production


def text(value: str, limit: int) -> str:
    """A name as X12 carries it: upper case, no accents, no delimiters, at most ``limit`` long."""
    ascii_value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().upper()
    cleaned = " ".join(_BASIC.sub(" ", ascii_value).split())
    return cleaned[:limit].rstrip()


def identifier(value: str, what: str, low: int = 2, high: int = 80) -> str:
    if not (low <= len(value) <= high and _ID.match(value)):
        raise ValueError(f"{what} must be {low}-{high} letters, digits or hyphens")
    return value


def _seg(*elements: str) -> str:
    while len(elements) > 1 and elements[-1] == "":
        elements = elements[:-1]
    return D.element.join(elements) + D.segment


def _person(code: str, person: Person270, member_id: str | None) -> list[str]:
    family, given = text(person.family_name, 60), text(person.given_name, 35)
    if not family:
        raise ValueError("the family name has no characters X12 can carry")
    nm1 = _seg("NM1", code, "1", family, given, "", "", "", "MI" if member_id else "", member_id or "")
    out = [nm1]
    if person.birth_date:
        out.append(_seg("DMG", "D8", person.birth_date.strftime("%Y%m%d")))
    return out


def build_270(q: Inquiry270) -> str:
    """The interchange as one line (segments end with ~)."""
    if not 1 <= q.control_number <= 999_999_999:
        raise ValueError("the control number must be 1 to 999999999")
    if q.usage not in ("T", "P"):
        raise ValueError("usage must be T or P")
    sender = identifier(q.sender_id, "the sender id", high=15)
    receiver = identifier(q.receiver_id, "the receiver id", high=15)
    icn, gcn, tcn = f"{q.control_number:09d}", str(q.control_number), f"{q.control_number:04d}"
    trace = identifier(q.trace, "the trace number", 1, 50)
    if not re.fullmatch(r"9[0-9]{9}", q.trace_originator):
        raise ValueError("the trace originator must be 9 followed by 9 digits")
    when = q.created
    isa = (
        D.element.join(
            [
                "ISA",
                "00",
                " " * 10,
                "00",
                " " * 10,
                "ZZ",
                sender.ljust(15),
                "ZZ",
                receiver.ljust(15),
                when.strftime("%y%m%d"),
                when.strftime("%H%M"),
                D.repetition,
                "00501",
                icn,
                "0",
                q.usage,
                D.component,
            ]
        )
        + D.segment
    )
    gs = _seg("GS", "HS", sender, receiver, when.strftime("%Y%m%d"), when.strftime("%H%M"), gcn, "X", VERSION)
    dependent = q.dependent is not None
    patient_level = [
        _seg("TRN", "1", trace, q.trace_originator),
    ]
    questions = [_seg("DTP", "291", "D8", q.service_date.strftime("%Y%m%d")), _seg("EQ", "30")]
    body = [
        _seg("BHT", "0022", "13", trace, when.strftime("%Y%m%d"), when.strftime("%H%M")),
        _seg("HL", "1", "", "20", "1"),
        _seg("NM1", "PR", "2", text(q.payer_name, 60), "", "", "", "", "PI", identifier(q.payer_id, "the payer id")),
        _seg("HL", "2", "1", "21", "1"),
        _seg(
            "NM1",
            "1P",
            "2",
            text(q.provider_name, 60),
            "",
            "",
            "",
            "",
            "XX",
            identifier(q.provider_npi, "the provider NPI", 10, 10),
        ),
        _seg("HL", "3", "2", "22", "1" if dependent else "0"),
    ]
    subscriber = _person("IL", q.subscriber, identifier(q.member_id, "the member id"))
    if q.group_id:
        subscriber.insert(1, _seg("REF", "6P", identifier(q.group_id, "the group id", 1, 50)))
    if dependent:
        assert q.dependent is not None
        body += subscriber
        body += [_seg("HL", "4", "3", "23", "0"), *patient_level, *_person("03", q.dependent, None), *questions]
    else:
        body += [*patient_level, *subscriber, *questions]
    st = _seg("ST", "270", tcn, VERSION)
    se = _seg("SE", str(len(body) + 2), tcn)
    return isa + gs + st + "".join(body) + se + _seg("GE", "1", gcn) + _seg("IEA", "1", icn)
