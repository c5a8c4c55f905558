"""Records' models as FHIR R4B resources. Pure functions, no I/O.

Every resource is built with the ``fhir.resources.R4B`` models, so output that is not valid
R4B fails here, at construction, rather than reaching a client.

The history status enums are FHIR's own value sets, so statuses are passed through as they
are (the R4B models do not check a code against its value set; the enums do).
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fhir.resources.R4B.allergyintolerance import AllergyIntolerance, AllergyIntoleranceReaction
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding as FhirCoding
from fhir.resources.R4B.condition import Condition as FhirCondition
from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir.resources.R4B.encounter import EncounterParticipant
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.familymemberhistory import FamilyMemberHistory, FamilyMemberHistoryCondition
from fhir.resources.R4B.immunization import Immunization as FhirImmunization
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.patient import PatientCommunication
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.procedure import Procedure as FhirProcedure
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from caremesh_records.domain.codes import CPT, Coding
from caremesh_records.domain.history import (
    Allergy,
    Condition,
    Entered,
    FamilyHistory,
    FromEncounter,
    HistoryEntry,
    Immunization,
    Imported,
    Kind,
    Medication,
    Procedure,
)
from caremesh_records.domain.patient import MRN_SYSTEM, Patient
from caremesh_records.domain.timeline import Encounter

# -- systems and extensions -----------------------------------------------------------------------

TIMEZONE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/timezone"
LANGUAGE = "urn:ietf:bcp:47"
USER = "urn:caremesh:user"  # the ``sub`` of a CareMesh caller
PRACTITIONER = "urn:caremesh:practitioner"  # a practitioner id of the scheduling service
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
UCUM = "http://unitsofmeasure.org"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"

DISPLAYS = {
    ALLERGY_CLINICAL: {"active": "Active", "inactive": "Inactive", "resolved": "Resolved"},
    ALLERGY_VERIFICATION: {"unconfirmed": "Unconfirmed", "confirmed": "Confirmed", "refuted": "Refuted"},
    CONDITION_CLINICAL: {
        "active": "Active",
        "recurrence": "Recurrence",
        "relapse": "Relapse",
        "inactive": "Inactive",
        "remission": "Remission",
        "resolved": "Resolved",
    },
}


# -- shared pieces --------------------------------------------------------------------------------


def concept(coding: Coding) -> CodeableConcept:
    """Our coded value as a CodeableConcept: the coding, and its display as the text."""
    return CodeableConcept(
        coding=[FhirCoding(system=coding.system, code=coding.code, display=coding.display)], text=coding.display
    )


def status_concept(system: str, code: str) -> CodeableConcept:
    return CodeableConcept(coding=[FhirCoding(system=system, code=code, display=DISPLAYS[system][code])])


def patient_ref(patient_id: str) -> Reference:
    return Reference(reference=f"Patient/{patient_id}")


def user_ref(subject: str) -> Reference:
    """Who recorded something: CareMesh users are not FHIR resources, so by identifier."""
    return Reference(identifier={"system": USER, "value": subject}, display=subject)


def instant(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def source_uri(source: Entered | Imported | FromEncounter) -> str:
    """Where an entry came from, as ``meta.source``."""
    if isinstance(source, FromEncounter):
        return f"urn:caremesh:encounter:{quote(source.encounter_id, safe='')}"
    if isinstance(source, Imported):
        return "urn:caremesh:imported" + (f":{quote(source.reference, safe='')}" if source.reference else "")
    return "urn:caremesh:entered"


def entry_meta(entry: HistoryEntry) -> Meta:
    last = entry.status_history[-1].at if entry.status_history else entry.provenance.recorded_at
    return Meta(versionId=str(entry.version), lastUpdated=instant(last), source=source_uri(entry.provenance.source))


def encounter_ref(entry: HistoryEntry) -> Reference | None:
    """The visit an entry was recorded in (an appointment id is the id of its Encounter)."""
    source = entry.provenance.source
    return Reference(reference=f"Encounter/{source.encounter_id}") if isinstance(source, FromEncounter) else None


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


# -- Patient --------------------------------------------------------------------------------------


def patient(p: Patient) -> FhirPatient:
    d = p.demographics
    telecom = []
    if d.email:
        telecom.append({"system": "email", "value": str(d.email)})
    if d.phone:
        telecom.append({"system": "phone", "value": d.phone})
    language = d.language
    identifiers = []
    if mrn := p.mrn:
        identifiers.append(
            {
                "use": "usual",
                "system": MRN_SYSTEM,
                "value": mrn,
                "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MR", "display": "Medical record number"}]},
            }
        )
    identifiers += [{"system": i.system, "value": i.value} for i in d.identifiers]
    merged_into = p.merged_into
    return FhirPatient(
        **_drop_none(
            id=p.id,
            active=None if merged_into is None else False,
            link=[{"other": patient_ref(merged_into), "type": "replaced-by"}] if merged_into else None,
            identifier=identifiers or None,
            meta=Meta(versionId=str(p.version), source="urn:caremesh:records"),
            name=[{"use": "official", "family": d.family_name, "given": d.given_names or [d.given_name]}],
            birthDate=d.birth_date,
            deceasedDateTime=p.deceased.at if p.deceased else None,
            deceasedBoolean=True if p.deceased and p.deceased.at is None else None,
            telecom=telecom or None,
            communication=[
                PatientCommunication(
                    language=CodeableConcept(coding=[FhirCoding(system=LANGUAGE, code=language)]), preferred=True
                )
            ]
            if language
            else None,
            extension=[Extension(url=TIMEZONE_EXTENSION, valueCode=d.time_zone)] if d.time_zone else None,
        )
    )


# -- the health history ---------------------------------------------------------------------------


def allergy(a: Allergy) -> AllergyIntolerance:
    reaction = None
    if a.reaction or a.severity:
        # FHIR needs a manifestation with a severity; ours may have a severity alone.
        reaction = [
            AllergyIntoleranceReaction(
                **_drop_none(
                    manifestation=[CodeableConcept(text=a.reaction or "reaction not recorded")],
                    severity=a.severity.value if a.severity else None,
                )
            )
        ]
    return AllergyIntolerance(
        **_drop_none(
            id=a.id,
            meta=entry_meta(a),
            clinicalStatus=status_concept(ALLERGY_CLINICAL, str(a.status)),
            verificationStatus=status_concept(ALLERGY_VERIFICATION, str(a.verification)),
            type=a.type.value,
            code=concept(a.substance),
            patient=patient_ref(a.patient_id),
            encounter=encounter_ref(a),
            recordedDate=instant(a.provenance.recorded_at),
            recorder=user_ref(a.provenance.recorded_by),
            reaction=reaction,
        )
    )


def medication(m: Medication) -> MedicationStatement:
    dosage = None
    if m.dose or m.route or m.frequency:
        text = " ".join(x for x in (m.dose, m.route, m.frequency) if x)
        dosage = [_drop_none(text=text, route=CodeableConcept(text=m.route) if m.route else None)]
    period = _drop_none(start=m.start_date, end=m.end_date)
    return MedicationStatement(
        **_drop_none(
            id=m.id,
            meta=entry_meta(m),
            status=str(m.status),
            medicationCodeableConcept=concept(m.medication),
            subject=patient_ref(m.patient_id),
            context=encounter_ref(m),
            effectivePeriod=Period(**period) if period else None,
            dateAsserted=instant(m.provenance.recorded_at),
            informationSource=user_ref(m.provenance.recorded_by),
            dosage=dosage,
        )
    )


def condition(c: Condition) -> FhirCondition:
    return FhirCondition(
        **_drop_none(
            id=c.id,
            meta=entry_meta(c),
            clinicalStatus=status_concept(CONDITION_CLINICAL, str(c.status)),
            category=[
                CodeableConcept(
                    coding=[
                        FhirCoding(system=CONDITION_CATEGORY, code="problem-list-item", display="Problem List Item")
                    ]
                )
            ],
            code=concept(c.condition),
            subject=patient_ref(c.patient_id),
            encounter=encounter_ref(c),
            onsetDateTime=c.onset_date,
            recordedDate=instant(c.provenance.recorded_at),
            recorder=user_ref(c.provenance.recorded_by),
        )
    )


def procedure(p: Procedure) -> FhirProcedure:
    return FhirProcedure(
        **_drop_none(
            id=p.id,
            meta=entry_meta(p),
            status=str(p.status),
            code=concept(p.procedure),
            subject=patient_ref(p.patient_id),
            encounter=encounter_ref(p),
            performedDateTime=p.performed_date,
            recorder=user_ref(p.provenance.recorded_by),
        )
    )


def family_history(f: FamilyHistory) -> FamilyMemberHistory:
    onset = {"value": f.onset_age, "unit": "a", "system": UCUM, "code": "a"} if f.onset_age is not None else None
    return FamilyMemberHistory(
        **_drop_none(
            id=f.id,
            meta=entry_meta(f),
            status=str(f.status),
            patient=patient_ref(f.patient_id),
            date=instant(f.provenance.recorded_at),
            relationship=concept(f.relationship),
            condition=[FamilyMemberHistoryCondition(**_drop_none(code=concept(f.condition), onsetAge=onset))],
        )
    )


def immunization(i: Immunization) -> FhirImmunization:
    source = i.provenance.source
    return FhirImmunization(
        **_drop_none(
            id=i.id,
            meta=entry_meta(i),
            status=str(i.status),
            vaccineCode=concept(i.vaccine),
            patient=patient_ref(i.patient_id),
            encounter=encounter_ref(i),
            occurrenceDateTime=i.date_given,
            recorded=instant(i.provenance.recorded_at),
            # Typed in by the care team or during a visit: first hand; taken from another record: not.
            primarySource=not isinstance(source, Imported),
            reportOrigin=CodeableConcept(text=source.reference)
            if isinstance(source, Imported) and source.reference
            else None,
            lotNumber=i.lot_number,
        )
    )


def encounter(e: Encounter) -> FhirEncounter:
    return FhirEncounter(
        id=e.id,
        meta=Meta(source=f"urn:caremesh:{quote(e.source, safe='')}"),
        status=str(e.status),
        class_fhir=FhirCoding(system=ACT_CODE, code="AMB", display="ambulatory"),
        # Imported visits keep their own code system (Synthea: SNOMED CT); scheduling's are CPT.
        type=[
            CodeableConcept(
                coding=[FhirCoding(system=e.service_system or CPT, code=e.service_code, display=e.service_display)]
            )
        ],
        subject=patient_ref(e.patient_id),
        participant=[
            EncounterParticipant(
                individual=Reference(
                    identifier={"system": PRACTITIONER, "value": e.practitioner_id}, display=e.practitioner_name
                )
            )
        ],
        period=Period(start=instant(e.start), end=instant(e.end)),
    )


HISTORY: dict[Kind, Callable[[Any], Resource]] = {
    Kind.ALLERGY: allergy,
    Kind.MEDICATION: medication,
    Kind.CONDITION: condition,
    Kind.PROCEDURE: procedure,
    Kind.FAMILY_HISTORY: family_history,
    Kind.IMMUNIZATION: immunization,
}


def history_entry(entry: HistoryEntry) -> Resource:
    """Any kind of history entry as its resource."""
    return HISTORY[entry.kind](entry)


__all__ = [
    "HISTORY",
    "allergy",
    "concept",
    "condition",
    "encounter",
    "family_history",
    "history_entry",
    "immunization",
    "medication",
    "patient",
    "procedure",
]
