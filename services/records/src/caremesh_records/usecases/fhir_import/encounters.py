"""FHIR Encounters as records' encounters: visits that took place. Pure: no I/O."""

from dataclasses import dataclass
from typing import Any

from caremesh_records.usecases.fhir_import.bundle import Entry, ParsedBundle
from caremesh_records.usecases.fhir_import.clinical import instant, patient_of
from caremesh_records.usecases.fhir_import.plan import Item, Reject, Skip

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


@dataclass(frozen=True)
class EncounterData:
    fields: dict[str, Any]  # domain.Encounter's, but for its id and patient_id


def encounter(entry: Entry, bundle: ParsedBundle) -> list[Item]:
    e = entry.resource
    if e.status in ("planned", "cancelled", "entered-in-error"):
        raise Skip(f"a {e.status} encounter is not a visit that took place")
    patient = patient_of(entry, bundle, e.subject, "subject")
    start = instant(e.period.start if e.period else None)
    if start is None:
        raise Reject("Encounter.period.start must be a date and time: records files encounters by it")
    end = instant(e.period.end) or start
    coding = next((c for t in e.type or [] for c in t.coding or [] if c.code), None)
    system, code, display = (
        (coding.system, coding.code, coding.display)
        if coding
        else (e.class_fhir.system or ACT_CODE, e.class_fhir.code, e.class_fhir.display)
    )
    practitioner_id, practitioner_name = practitioner(e, bundle)
    fields = {
        "status": e.status,
        "practitioner_id": practitioner_id,
        "practitioner_name": practitioner_name,
        "service_code": code,
        "service_system": system,
        "service_display": display,
        "start": start,
        "end": max(end, start),
        "completed_at": max(end, start),
        "source": f"import:{bundle.source}",
    }
    return [
        Item(
            entry=entry.index,
            resource_type="Encounter",
            source_id=entry.source_id,
            key=f"Encounter/{entry.source_id}",
            patient=patient,
            data=EncounterData(fields),
        )
    ]


def practitioner(e: Any, bundle: ParsedBundle) -> tuple[str, str]:
    """Who saw the patient: the id and name of the first practitioner taking part, as far as the
    bundle tells (a conditional reference gives its identifier and display only)."""
    for p in e.participant or []:
        ref = p.individual
        if ref is None or not (ref.reference or "").startswith(("Practitioner", "urn:", "http")):
            continue
        target = bundle.resolve(ref.reference)
        if target is not None and target.resource_type == "Practitioner":
            raw = target.raw
            npi = next((i.get("value") for i in raw.get("identifier") or [] if i.get("value")), None)
            name: dict[str, Any] = next(iter(raw.get("name") or []), {})
            written = " ".join([*name.get("prefix", []), *name.get("given", []), name.get("family", "")]).strip()
            return str(npi or target.source_id), written or ref.display or "unknown practitioner"
        if ref.reference and ref.reference.startswith("Practitioner?"):
            ident = ref.reference.partition("identifier=")[2].rpartition("|")[2]
            return ident or ref.reference, ref.display or "unknown practitioner"
    return "unknown", "unknown practitioner"
