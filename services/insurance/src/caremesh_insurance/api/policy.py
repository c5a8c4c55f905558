"""Who may call each insurance route (see caremesh_kit.policy): the FHIR resource and SMART
interaction it needs, the roles that may call it, and whether its data is one patient's."""

from caremesh_kit.auth import Role
from caremesh_kit.policy import Policy, allow

POLICY: Policy = {
    ("POST", "/payers"): allow("Organization", "c", Role.COORDINATOR),
    ("GET", "/payers"): allow("Organization", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT),
    ("GET", "/payers/{payer_id}"): allow("Organization", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT),
    ("PUT", "/payers/{payer_id}"): allow("Organization", "u", Role.COORDINATOR),
    ("POST", "/plans"): allow("InsurancePlan", "c", Role.COORDINATOR),
    ("GET", "/plans"): allow("InsurancePlan", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT),
    ("GET", "/plans/{plan_id}"): allow("InsurancePlan", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT),
    ("PUT", "/plans/{plan_id}"): allow("InsurancePlan", "u", Role.COORDINATOR),
    ("DELETE", "/plans/{plan_id}"): allow("InsurancePlan", "d", Role.COORDINATOR),
    ("POST", "/coverages"): allow("Coverage", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True),
    ("GET", "/coverages"): allow("Coverage", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True),
    ("GET", "/coverages/{coverage_id}"): allow(
        "Coverage", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("PUT", "/coverages/{coverage_id}"): allow("Coverage", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True),
    ("POST", "/coverages/{coverage_id}/end"): allow("Coverage", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True),
    ("POST", "/coverages/{coverage_id}/cancel"): allow("Coverage", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True),
    ("POST", "/eligibility-checks"): allow(
        "CoverageEligibilityRequest", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("GET", "/eligibility-checks"): allow(
        "CoverageEligibilityRequest", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/eligibility-checks/{check_id}"): allow(
        "CoverageEligibilityRequest", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/eligibility-checks/{check_id}/history"): allow(
        "CoverageEligibilityRequest", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/eligibility-checks/{check_id}/recheck"): allow(
        "CoverageEligibilityRequest", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/eligibility-checks/{check_id}/payer-responses"): allow(
        "CoverageEligibilityResponse", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("GET", "/fhir/CoverageEligibilityResponse/{check_id}"): allow(
        "CoverageEligibilityResponse", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/fhir/CoverageEligibilityResponse/{check_id}/_history/{run}"): allow(
        "CoverageEligibilityResponse", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/authorizations"): allow("Claim", "c", Role.COORDINATOR, patient=True),
    ("GET", "/authorizations"): allow("Claim", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True),
    ("GET", "/authorizations/{auth_id}"): allow(
        "Claim", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/authorizations/{auth_id}/draft"): allow("Claim", "u", Role.COORDINATOR, patient=True),
    ("POST", "/authorizations/{auth_id}/submit"): allow("Claim", "u", Role.COORDINATOR, patient=True),
    ("POST", "/authorizations/{auth_id}/pend"): allow("Claim", "u", Role.COORDINATOR, patient=True),
    ("POST", "/authorizations/{auth_id}/approve"): allow("Claim", "u", Role.COORDINATOR, patient=True),
    ("POST", "/authorizations/{auth_id}/deny"): allow("Claim", "u", Role.COORDINATOR, patient=True),
    ("POST", "/authorizations/{auth_id}/appeal"): allow("Claim", "u", Role.COORDINATOR, patient=True),
    ("POST", "/authorizations/{auth_id}/cancel"): allow("Claim", "u", Role.COORDINATOR, patient=True),
    ("GET", "/authorizations/{auth_id}/submissions/{number}"): allow("Claim", "r", Role.COORDINATOR, patient=True),
    ("POST", "/correspondence"): allow("Communication", "c", Role.CLINICIAN, Role.COORDINATOR, patient=True),
    ("GET", "/correspondence"): allow("Communication", "s", Role.CLINICIAN, Role.COORDINATOR, patient=True),
    ("GET", "/correspondence/{entry_id}"): allow("Communication", "r", Role.CLINICIAN, Role.COORDINATOR, patient=True),
    ("GET", "/worklists/authorizations/to-submit"): allow("Claim", "s", Role.COORDINATOR),
    ("GET", "/worklists/authorizations/waiting-on-payer"): allow("Claim", "s", Role.COORDINATOR),
    ("GET", "/worklists/authorizations/denials"): allow("Claim", "s", Role.COORDINATOR),
    ("GET", "/worklists/eligibility-failures"): allow("CoverageEligibilityResponse", "s", Role.COORDINATOR),
    ("GET", "/reports/authorizations/turnaround"): allow("Claim", "s", Role.COORDINATOR),
}
