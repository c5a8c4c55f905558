"""A FHIR Patient as records' demographics. Pure: no I/O.

The sending system's id for the patient is kept as an identifier
(``urn:caremesh:import:<source>|<id>``), and the records patient id is derived from it, so a
re-import finds the patient it made the first time.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from fhir.resources.R4B.patient import Patient as FhirPatient
from pydantic import ValidationError

from caremesh_records.domain import Deceased, Demographics, Identifier
from caremesh_records.usecases.fhir_import.bundle import Entry, ParsedBundle, validation_reason
from caremesh_records.usecases.fhir_import.plan import Item, Reject

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:caremesh:records:fhir-import")
TIMEZONE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/timezone"
LANGUAGE = "urn:ietf:bcp:47"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
# Government numbers (social security, driver's licence, passport, tax, national id) are not
# needed to care for the patient, so they are not copied in.
GOVERNMENT_TYPES = frozenset({"SS", "DL", "PPN", "TAX", "NI", "SB"})
GOVERNMENT_SYSTEMS = frozenset({"http://hl7.org/fhir/sid/us-ssn"})
NANP = frozenset({"US", "USA", "CA", "CAN"})  # +1 numbers written without the country code


def derived_id(*parts: str) -> str:
    """The same id for the same source, on every import."""
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


def import_system(source: str) -> str:
    return f"urn:caremesh:import:{source}"


@dataclass(frozen=True)
class PatientData:
    patient_id: str  # derived from the import identifier
    demographics: Demographics
    import_identifier: Identifier
    deceased: Deceased | None = None


def patient(entry: Entry, bundle: ParsedBundle) -> list[Item]:
    p: FhirPatient = entry.resource
    warnings: list[str] = []
    names = p.name or []
    name = next((n for n in names if n.use == "official"), names[0] if names else None)
    given_names = [g.strip() for g in (name.given or []) if g and g.strip()] if name else []
    given = " ".join(given_names)
    family = (name.family or "") if name else ""
    if not given or not family:
        raise Reject("Patient.name needs a given and a family name")
    if not isinstance(p.birthDate, date):
        raise Reject("Patient.birthDate must be a full date (YYYY-MM-DD)")
    email = next((t.value for t in p.telecom or [] if t.system == "email" and t.value), None)
    written = next((t.value for t in p.telecom or [] if t.system in ("phone", "sms") and t.value), None)
    countries = {(a.country or "").upper() for a in p.address or []}
    phone = e164(written, countries) if written else None
    if written and phone is None:
        warnings.append("Patient.telecom phone is not a number records can call (E.164): not kept")
    if not (email or phone):
        raise Reject("Patient.telecom has no email or phone number: records needs one to keep the patient informed")
    deceased = _deceased(p, warnings)
    source_id = entry.source_id
    ident = Identifier(system=import_system(bundle.source), value=source_id[:100])
    fields = {
        "given_name": given,
        "given_names": given_names,
        "family_name": family,
        "birth_date": p.birthDate,
        "email": email,
        "phone": phone,
        "language": _language(p),
        "identifiers": [ident, *_identifiers(p)][:20],
    }
    if tz := next((x.valueCode for x in p.extension or [] if x.url == TIMEZONE_EXTENSION and x.valueCode), None):
        fields["time_zone"] = tz
    try:
        demographics = Demographics(**fields)
    except ValidationError as exc:
        # An optional field records cannot take is left out rather than losing the patient.
        bad = {str(e["loc"][0]) for e in exc.errors()} & {"email", "language", "time_zone", "given_names"}
        if not bad:
            raise Reject(f"Patient: {validation_reason(exc)}") from None
        warnings.append(f"Patient {', '.join(sorted(bad))} not in a form records takes: not kept")
        try:
            demographics = Demographics(**{k: v for k, v in fields.items() if k not in bad})
        except ValidationError as again:
            raise Reject(f"Patient: {validation_reason(again)}") from None
        if not (demographics.email or demographics.phone):
            raise Reject("Patient.telecom has no usable email or phone number: records needs one") from None
    data = PatientData(
        patient_id=derived_id(ident.key), demographics=demographics, import_identifier=ident, deceased=deceased
    )
    return [
        Item(
            entry=entry.index,
            resource_type="Patient",
            source_id=source_id,
            key=f"Patient/{source_id}",
            patient=None,
            data=data,
            warnings=tuple(warnings),
        )
    ]


def e164(written: str, countries: set[str]) -> str | None:
    """A phone number in E.164, or None. A 10-digit number of a +1 country gets its country code."""
    digits = re.sub(r"\D", "", written)
    if written.strip().startswith("+"):
        candidate = "+" + digits
    elif len(digits) == 10 and (countries & NANP or not countries - {""}):
        candidate = "+1" + digits
    elif len(digits) == 11 and digits.startswith("1") and countries & NANP:
        candidate = "+" + digits
    else:
        return None
    return candidate if re.fullmatch(r"\+[1-9][0-9]{6,14}", candidate) else None


def _deceased(p: FhirPatient, warnings: list[str]) -> Deceased | None:
    """The fact of death, and when if the source says so in a form records keeps (a full date
    and time with its offset, not before birth); otherwise the fact alone, with a warning."""
    if p.deceasedDateTime is None:
        return Deceased() if p.deceasedBoolean else None
    at = p.deceasedDateTime
    if not isinstance(at, datetime) or at.tzinfo is None:
        warnings.append("Patient.deceasedDateTime is not a full date and time with an offset: only the death is kept")
        return Deceased()
    if isinstance(p.birthDate, date) and at.date() < p.birthDate:
        warnings.append("Patient.deceasedDateTime is before the birth date: only the death is kept")
        return Deceased()
    return Deceased(at=at)


def _language(p: FhirPatient) -> str | None:
    comms = sorted(p.communication or [], key=lambda c: not c.preferred)
    for c in comms:
        for coding in c.language.coding or []:
            if coding.system == LANGUAGE and coding.code:
                return coding.code
    return None


def _identifiers(p: FhirPatient) -> list[Identifier]:
    out: dict[str, Identifier] = {}
    for i in p.identifier or []:
        types = {c.code for c in (i.type.coding or [])} if i.type else set()
        if not i.system or not i.value or types & GOVERNMENT_TYPES or i.system in GOVERNMENT_SYSTEMS:
            continue
        if len(i.system) <= 200 and len(i.value) <= 100:
            kept = Identifier(system=i.system, value=i.value)
            out.setdefault(kept.key, kept)
    return list(out.values())
