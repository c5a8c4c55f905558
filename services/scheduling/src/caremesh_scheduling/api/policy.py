"""Who may call each scheduling route (see caremesh_kit.policy): the FHIR resource and SMART
interaction it needs, the roles that may call it, and whether its data is one patient's."""

from caremesh_kit.auth import Role
from caremesh_kit.policy import PUBLIC, Policy, allow

POLICY: Policy = {
    ("POST", "/practitioners"): allow("Practitioner", "c", Role.COORDINATOR),
    ("GET", "/practitioners"): allow("Practitioner", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT),
    ("GET", "/practitioners/{practitioner_id}"): allow(
        "Practitioner", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT
    ),
    ("POST", "/locations"): allow("Location", "c", Role.COORDINATOR),
    ("GET", "/locations"): allow("Location", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT),
    ("GET", "/locations/{location_id}"): allow("Location", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT),
    ("POST", "/service-types"): allow("HealthcareService", "c", Role.COORDINATOR),
    ("GET", "/service-types"): allow("HealthcareService", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT),
    ("GET", "/service-types/{service_type_id}"): allow(
        "HealthcareService", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT
    ),
    ("PUT", "/practitioners/{practitioner_id}/templates/{location_id}"): allow("Schedule", "u", Role.COORDINATOR),
    ("GET", "/practitioners/{practitioner_id}/templates/{location_id}"): allow(
        "Schedule", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT
    ),
    ("GET", "/practitioners/{practitioner_id}/templates"): allow(
        "Schedule", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT
    ),
    ("GET", "/availability"): allow("Slot", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True),
    ("POST", "/appointments"): allow("Appointment", "c", Role.COORDINATOR, patient=True),
    ("GET", "/appointments/{appointment_id}"): allow(
        "Appointment", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/appointments"): allow("Appointment", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True),
    ("POST", "/appointments/{appointment_id}/cancel"): allow(
        "Appointment", "u", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/appointments/{appointment_id}/check-in"): allow(
        "Appointment", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/appointments/{appointment_id}/complete"): allow(
        "Appointment", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/appointments/{appointment_id}/no-show"): allow(
        "Appointment", "u", Role.CLINICIAN, Role.COORDINATOR, patient=True
    ),
    ("POST", "/appointments/{appointment_id}/reschedule"): allow("Appointment", "u", Role.COORDINATOR, patient=True),
    ("POST", "/appointments/{appointment_id}/self-pay"): allow("Appointment", "u", Role.COORDINATOR, patient=True),
    ("POST", "/referrals"): allow("ServiceRequest", "c", Role.COORDINATOR, Role.SERVICE, patient=True),
    ("GET", "/referrals/{referral_id}"): allow(
        "ServiceRequest", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/referrals"): allow("ServiceRequest", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True),
    ("GET", "/worklists/referrals"): allow("ServiceRequest", "s", Role.COORDINATOR),
    ("POST", "/referrals/{referral_id}/accept"): allow("ServiceRequest", "u", Role.COORDINATOR, patient=True),
    ("POST", "/referrals/{referral_id}/reject"): allow("ServiceRequest", "u", Role.COORDINATOR, patient=True),
    ("POST", "/referrals/{referral_id}/withdraw"): allow(
        "ServiceRequest", "u", Role.COORDINATOR, Role.SERVICE, patient=True
    ),
    ("POST", "/referrals/{referral_id}/link"): allow("ServiceRequest", "u", Role.COORDINATOR, patient=True),
    ("POST", "/referrals/{referral_id}/appointments"): allow("Appointment", "c", Role.COORDINATOR, patient=True),
    ("POST", "/waitlist"): allow("Appointment", "c", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True),
    ("GET", "/waitlist/{entry_id}"): allow(
        "Appointment", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/waitlist"): allow("Appointment", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True),
    ("DELETE", "/waitlist/{entry_id}"): allow(
        "Appointment", "d", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/worklists/waitlist-offers"): allow("Appointment", "s", Role.COORDINATOR),
    ("POST", "/waitlist/offers/{offer_id}/accepted"): allow(
        "Appointment", "u", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/waitlist/offers/{offer_id}/declined"): allow(
        "Appointment", "u", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("POST", "/waitlist/offers/{offer_id}/accept"): PUBLIC,
    ("GET", "/waitlist/offers/{offer_id}/accept"): PUBLIC,
    ("POST", "/waitlist/offers/{offer_id}/decline"): PUBLIC,
    ("GET", "/waitlist/offers/{offer_id}/decline"): PUBLIC,
    ("POST", "/series"): allow("Appointment", "c", Role.COORDINATOR, patient=True),
    ("GET", "/series/{series_id}"): allow(
        "Appointment", "r", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/series"): allow("Appointment", "s", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True),
    ("POST", "/series/{series_id}/cancel"): allow(
        "Appointment", "u", Role.CLINICIAN, Role.COORDINATOR, Role.PATIENT, patient=True
    ),
    ("GET", "/worklists/appointments/insurance"): allow("Appointment", "s", Role.COORDINATOR),
    ("GET", "/worklists/appointments/day"): allow("Appointment", "s", Role.COORDINATOR),
    ("GET", "/worklists/appointments/no-shows"): allow("Appointment", "s", Role.COORDINATOR),
}
