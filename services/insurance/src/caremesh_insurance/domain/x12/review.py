"""Writing a 278 health care services review request (005010X217). Pure Python.

One request, one patient, one service: the utilization management organization (HL 20, the
payer), the requester (HL 21, the clinic), the subscriber (HL 22), the dependent when the patient
is not the subscriber (HL 23), the patient event (HL EV: UM with the certification type and level
of service, HI with the diagnoses) and the service (HL SS: UM, the service dates, SV1 with the
procedure and units).

Not sent, being situational and not held here: provider addresses and taxonomy (N3/N4/PRV), the
rendering provider (2010EA/2010F), the subscriber's supplemental ids (REF) and attachments (PWK).
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from caremesh_insurance.domain.x12.codes import SERVICE_TYPES
from caremesh_insurance.domain.x12.envelope import REVIEW_VERSION, Delimiters
from caremesh_insurance.domain.x12.request import Person270, _seg, identifier, text

D = Delimiters()
CERTIFICATION_TYPES = {
    "I": "Initial",
    "1": "Appeal - immediate",
    "2": "Appeal - standard",
    "3": "Cancel",
    "4": "Extension",
    "S": "Revised",
}
LEVELS_OF_SERVICE = {"03": "Emergency", "E": "Elective", "U": "Urgent"}
REQUEST_CATEGORIES = {"AR": "Admission review", "HS": "Health services review", "SC": "Specialty care review"}
_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z]\.?[0-9A-Z]{0,4}$")
_PROCEDURE = re.compile(r"^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$")
MAX_DIAGNOSES = 12  # HI01..HI12


@dataclass(frozen=True)
class Review278:
    umo_name: str  # the payer deciding (NM1*X3 of 2010A)
    umo_id: str  # its payer id (PI)
    requester_name: str  # NM1*1P of 2010B
    requester_npi: str
    member_id: str
    subscriber: Person270
    procedure_code: str  # CPT/HCPCS (SV101 HC)
    units: int  # SV104
    certification: str  # UM02: I initial, 1/2 appeal immediate/standard
    level_of_service: str  # UM06: U urgent, E elective
    trace: str  # BHT03 and TRN02 of the patient event
    trace_originator: str  # TRN03: "9" + a 9-digit company id
    sender_id: str
    receiver_id: str
    control_number: int  # ISA13, GS06 and ST02
    created: datetime
    dependent: Person270 | None = None
    service_from: date | None = None  # DTP*472 of 2000F
    service_to: date | None = None
    diagnosis_codes: list[str] = field(default_factory=list)  # ICD-10-CM; the first is the principal one
    service_type: str = "1"  # UM03, an X12 service type code (1: medical care)
    place_of_service: str = "11"  # UM04-1, a CMS place of service code (11: office)
    request_category: str = "HS"
    usage: str = "T"


def _check(r: Review278) -> None:
    if not 1 <= r.control_number <= 999_999_999:
        raise ValueError("the control number must be 1 to 999999999")
    if r.usage not in ("T", "P"):
        raise ValueError("usage must be T or P")
    if r.certification not in CERTIFICATION_TYPES:
        raise ValueError(f"the certification type must be one of {', '.join(CERTIFICATION_TYPES)}")
    if r.level_of_service not in LEVELS_OF_SERVICE:
        raise ValueError(f"the level of service must be one of {', '.join(LEVELS_OF_SERVICE)}")
    if r.request_category not in REQUEST_CATEGORIES:
        raise ValueError(f"the request category must be one of {', '.join(REQUEST_CATEGORIES)}")
    if r.service_type not in SERVICE_TYPES:
        raise ValueError("the service type is not an X12 service type code")
    if not re.fullmatch(r"[0-9]{2}", r.place_of_service):
        raise ValueError("the place of service must be a 2-digit CMS code")
    if not _PROCEDURE.match(r.procedure_code):
        raise ValueError("the procedure must be a CPT or HCPCS code")
    if not 1 <= r.units <= 99_999:
        raise ValueError("the units must be 1 to 99999")
    if not re.fullmatch(r"9[0-9]{9}", r.trace_originator):
        raise ValueError("the trace originator must be 9 followed by 9 digits")
    if len(r.diagnosis_codes) > MAX_DIAGNOSES:
        raise ValueError(f"at most {MAX_DIAGNOSES} diagnosis codes fit one HI segment")
    for code in r.diagnosis_codes:
        if not _ICD10.match(code):
            raise ValueError("a diagnosis code is not in the ICD-10-CM format")
    if (r.service_from is None) != (r.service_to is None):
        raise ValueError("give both ends of the service period, or neither")
    if r.service_from and r.service_to and r.service_to < r.service_from:
        raise ValueError("the service period ends before it starts")


def _person(code: str, person: Person270, member_id: str | None) -> list[str]:
    family, given = text(person.family_name, 60), text(person.given_name, 35)
    if not family:
        raise ValueError("the family name has no characters X12 can carry")
    out = [_seg("NM1", code, "1", family, given, "", "", "", "MI" if member_id else "", member_id or "")]
    if person.birth_date:
        out.append(_seg("DMG", "D8", person.birth_date.strftime("%Y%m%d")))
    return out


def _period(start: date, end: date) -> tuple[str, str]:
    if start == end:
        return "D8", start.strftime("%Y%m%d")
    return "RD8", f"{start:%Y%m%d}-{end:%Y%m%d}"


def build_278(r: Review278) -> str:
    """The interchange as one line (segments end with ~)."""
    _check(r)
    sender = identifier(r.sender_id, "the sender id", high=15)
    receiver = identifier(r.receiver_id, "the receiver id", high=15)
    trace = identifier(r.trace, "the trace number", 1, 50)
    icn, gcn, tcn = f"{r.control_number:09d}", str(r.control_number), f"{r.control_number:04d}"
    when = r.created
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
                r.usage,
                D.component,
            ]
        )
        + D.segment
    )
    gs = _seg("GS", "HI", sender, receiver, when.strftime("%Y%m%d"), when.strftime("%H%M"), gcn, "X", REVIEW_VERSION)
    body = [
        _seg("BHT", "0007", "13", trace, when.strftime("%Y%m%d"), when.strftime("%H%M")),
        _seg("HL", "1", "", "20", "1"),
        _seg("NM1", "X3", "2", text(r.umo_name, 60), "", "", "", "", "PI", identifier(r.umo_id, "the payer id")),
        _seg("HL", "2", "1", "21", "1"),
        _seg(
            "NM1",
            "1P",
            "2",
            text(r.requester_name, 60),
            "",
            "",
            "",
            "",
            "XX",
            identifier(r.requester_npi, "the requester NPI", 10, 10),
        ),
        _seg("HL", "3", "2", "22", "1"),
        *_person("IL", r.subscriber, identifier(r.member_id, "the member id")),
    ]
    event_parent = "3"
    if r.dependent is not None:
        body += [_seg("HL", "4", "3", "23", "1"), *_person("QC", r.dependent, None)]
        event_parent = "4"
    event_id = str(int(event_parent) + 1)
    location = D.component.join([r.place_of_service, "B"])
    body += [
        _seg("HL", event_id, event_parent, "EV", "1"),
        _seg("TRN", "1", trace, r.trace_originator),
        _seg("UM", r.request_category, r.certification, r.service_type, location, "", r.level_of_service),
    ]
    if r.diagnosis_codes:
        body.append(
            _seg(
                "HI",
                *(
                    D.component.join(["ABK" if n == 0 else "ABF", code.replace(".", "")])
                    for n, code in enumerate(r.diagnosis_codes)
                ),
            )
        )
    body += [
        _seg("HL", str(int(event_id) + 1), event_id, "SS", "0"),
        _seg("UM", r.request_category, r.certification, r.service_type),
    ]
    if r.service_from and r.service_to:
        body.append(_seg("DTP", "472", *_period(r.service_from, r.service_to)))
    body.append(_seg("SV1", D.component.join(["HC", r.procedure_code]), "", "UN", str(r.units)))
    st = _seg("ST", "278", tcn, REVIEW_VERSION)
    se = _seg("SE", str(len(body) + 2), tcn)
    return isa + gs + st + "".join(body) + se + _seg("GE", "1", gcn) + _seg("IEA", "1", icn)
