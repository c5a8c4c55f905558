"""Who may call each notifications route (see caremesh_kit.policy): the FHIR resource and SMART
interaction it needs, the roles that may call it, and whether its data is one patient's."""

from caremesh_kit.auth import Role
from caremesh_kit.policy import PUBLIC, Policy, allow

POLICY: Policy = {
    ("GET", "/messages"): allow("Communication", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True),
    ("GET", "/messages/{message_id}"): allow(
        "Communication", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/patients/{patient_id}/messages"): allow(
        "Communication", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/patients/{patient_id}/messages"): allow("Communication", "c", Role.COORDINATOR, patient=True),
    ("GET", "/patients/{patient_id}/preferences"): allow(
        "Patient", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("PUT", "/patients/{patient_id}/preferences"): allow("Patient", "u", Role.COORDINATOR, Role.PATIENT, patient=True),
    ("GET", "/patients/{patient_id}/related-persons/{person_id}/preferences"): allow(
        "RelatedPerson", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("PUT", "/patients/{patient_id}/related-persons/{person_id}/preferences"): allow(
        "RelatedPerson", "u", Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/templates"): allow("Basic", "s", Role.CLINICIAN, Role.COORDINATOR),
    ("POST", "/templates/{kind}/preview"): allow("Basic", "r", Role.CLINICIAN, Role.COORDINATOR),
    ("POST", "/callbacks/sms/status"): PUBLIC,
    ("GET", "/surveys/{survey_id}"): PUBLIC,
    ("POST", "/surveys/{survey_id}"): PUBLIC,
}
