"""RelatedPerson and Consent resources from records' family members and their consent."""

from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.relatedperson import RelatedPerson as FhirRelatedPerson

from caremesh_records.domain.family import RelatedPerson
from caremesh_records.domain.fhir.mapping import instant, patient_ref, user_ref

ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CATEGORY = "urn:caremesh:consent-category"


def related_person(p: RelatedPerson) -> FhirRelatedPerson:
    d = p.details
    telecom = [{"system": "email", "value": str(d.email)}] if d.email else []
    telecom += [{"system": "phone", "value": d.phone}] if d.phone else []
    name = {"given": [d.given_name]} | ({"family": d.family_name} if d.family_name else {})
    return FhirRelatedPerson(
        id=p.id,
        active=True,
        patient=patient_ref(p.patient_id),
        name=[name],
        telecom=telecom or None,
        relationship=[{"coding": [{"system": ROLE_CODE, "code": d.relationship.value}]}],
    )


def consent(p: RelatedPerson) -> Consent | None:
    """The consent in force for this person, or None when none was ever recorded. A withdrawal
    is an inactive Consent that permits nothing."""
    if not p.consents:
        return None
    latest = p.consents[-1]
    return Consent(
        id=p.id,  # one Consent per related person: the latest record
        status="active" if latest.categories else "inactive",
        scope={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        category=[{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        patient=patient_ref(p.patient_id),
        dateTime=instant(latest.given_at),
        performer=[user_ref(latest.given_by)],
        policyRule={
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "OPTIN" if latest.categories else "OPTOUT",
                }
            ]
        },
        provision={
            "type": "permit" if latest.categories else "deny",
            "actor": [
                {
                    "role": {"coding": [{"system": ROLE_CODE, "code": p.details.relationship.value}]},
                    "reference": {"reference": f"RelatedPerson/{p.id}"},
                }
            ],
            "code": [{"coding": [{"system": CATEGORY, "code": c.value}]} for c in latest.categories] or None,
        },
    )
