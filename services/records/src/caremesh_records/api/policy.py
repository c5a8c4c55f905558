"""Who may call each records route (see caremesh_kit.policy): the FHIR resource and SMART
interaction it needs, the roles that may call it, and whether its data is one patient's."""

from caremesh_kit.auth import Role
from caremesh_kit.policy import Policy, allow

POLICY: Policy = {
    ("POST", "/patients"): allow("Patient", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True),
    ("POST", "/patients/{patient_id}/merge"): allow("Patient", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True),
    ("GET", "/patients/{patient_id}"): allow(
        "Patient", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/patients/{patient_id}/timeline"): allow(
        "*", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/patients/{patient_id}/encounters"): allow(
        "Encounter", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/patients/{patient_id}/allergies"): allow(
        "AllergyIntolerance", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("GET", "/patients/{patient_id}/allergies"): allow(
        "AllergyIntolerance", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/patients/{patient_id}/allergies/{entry_id}"): allow(
        "AllergyIntolerance", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/patients/{patient_id}/allergies/{entry_id}/status"): allow(
        "AllergyIntolerance", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/patients/{patient_id}/medications"): allow(
        "MedicationStatement", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("GET", "/patients/{patient_id}/medications"): allow(
        "MedicationStatement", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/patients/{patient_id}/medications/{entry_id}"): allow(
        "MedicationStatement", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/patients/{patient_id}/medications/{entry_id}/status"): allow(
        "MedicationStatement", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/patients/{patient_id}/conditions"): allow(
        "Condition", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("GET", "/patients/{patient_id}/conditions"): allow(
        "Condition", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/patients/{patient_id}/conditions/{entry_id}"): allow(
        "Condition", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/patients/{patient_id}/conditions/{entry_id}/status"): allow(
        "Condition", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/patients/{patient_id}/procedures"): allow(
        "Procedure", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("GET", "/patients/{patient_id}/procedures"): allow(
        "Procedure", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/patients/{patient_id}/procedures/{entry_id}"): allow(
        "Procedure", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/patients/{patient_id}/procedures/{entry_id}/status"): allow(
        "Procedure", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/patients/{patient_id}/family-history"): allow(
        "FamilyMemberHistory", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("GET", "/patients/{patient_id}/family-history"): allow(
        "FamilyMemberHistory", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/patients/{patient_id}/family-history/{entry_id}"): allow(
        "FamilyMemberHistory", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/patients/{patient_id}/family-history/{entry_id}/status"): allow(
        "FamilyMemberHistory", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/patients/{patient_id}/immunizations"): allow(
        "Immunization", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("GET", "/patients/{patient_id}/immunizations"): allow(
        "Immunization", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/patients/{patient_id}/immunizations/{entry_id}"): allow(
        "Immunization", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/patients/{patient_id}/immunizations/{entry_id}/status"): allow(
        "Immunization", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/patients/{patient_id}/related-persons"): allow(
        "RelatedPerson", "c", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/patients/{patient_id}/related-persons"): allow(
        "RelatedPerson", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("PUT", "/patients/{patient_id}/related-persons/{person_id}/consent"): allow(
        "Consent", "u", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/fhir/Questionnaire/intake"): allow("Questionnaire", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT),
    ("POST", "/fhir/QuestionnaireResponse"): allow(
        "QuestionnaireResponse", "c", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/fhir/QuestionnaireResponse"): allow(
        "QuestionnaireResponse", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/patients/{patient_id}/care-plans"): allow(
        "CarePlan", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("GET", "/patients/{patient_id}/care-plans"): allow(
        "CarePlan", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/patients/{patient_id}/care-plans/{plan_id}"): allow(
        "CarePlan", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/patients/{patient_id}/care-plans/{plan_id}/status"): allow(
        "CarePlan", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/patients/{patient_id}/care-plans/{plan_id}/goals"): allow(
        "Goal", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/patients/{patient_id}/care-plans/{plan_id}/goals/{goal_id}/observations"): allow(
        "Observation", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/patients/{patient_id}/care-plans/{plan_id}/tasks"): allow(
        "Task", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/patients/{patient_id}/care-plans/{plan_id}/tasks/{task_id}/status"): allow(
        "Task", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("GET", "/worklists/care-plans"): allow("CarePlan", "s", Role.COORDINATOR),
    ("POST", "/fhir"): allow("Bundle", "c", Role.COORDINATOR),
    ("POST", "/imports"): allow("Bundle", "c", Role.COORDINATOR),
    ("GET", "/imports/{import_id}"): allow("Bundle", "r", Role.COORDINATOR),
    ("GET", "/fhir/Patient/{patient_id}/$everything"): allow(
        "*", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/fhir/Patient/{patient_id}"): allow(
        "Patient", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/fhir/{resource_type}"): allow(
        "{resource_type}", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/fhir/{resource_type}/{resource_id}"): allow(
        "{resource_type}", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
}
