"""X12 005010X279A1 code lists the eligibility exchange reads.

EB01, EB03 and EB06 come from x12sdk's segment model enums, so the lists stay the library's; AAA
reject reasons and follow-up actions, and EB09 quantity qualifiers, are not enumerated there.
``REJECT_KINDS`` is the one table of what each reject reason asks of us (``reject_kind``).
"""

from enum import StrEnum

from x12sdk.v5010.segments import EbSegment

ELIGIBILITY_CODES: dict[str, str] = {
    c.value: c.name.replace("_", " ").capitalize() for c in EbSegment.EligibilityBenefitInformationCode
}
SERVICE_TYPES: dict[str, str] = {c.value: c.name.replace("_", " ").capitalize() for c in EbSegment.ServiceTypeCode}
TIME_PERIODS: dict[str, str] = {c.value: c.name.replace("_", " ").capitalize() for c in EbSegment.TimePeriodQualifier}

ACTIVE = frozenset({"1", "2", "3", "4", "5"})
INACTIVE = frozenset({"6", "7", "8"})
COINSURANCE, COPAY, DEDUCTIBLE, LIMITATIONS, NON_COVERED = "A", "B", "C", "F", "I"
REMAINING = "29"
BENEFIT_YEAR = frozenset({"21", "22", "23", "25"})  # years, service year, calendar year, contract

QUANTITY_QUALIFIERS: dict[str, str] = {
    "8H": "Minimum",
    "99": "Quantity used",
    "CA": "Covered, actual",
    "CE": "Covered, estimated",
    "D3": "Number of co-insurance days",
    "DB": "Deductible blood units",
    "DY": "Days",
    "HS": "Hours",
    "LA": "Life-time reserve, actual",
    "LE": "Life-time reserve, estimated",
    "M2": "Maximum",
    "MN": "Month",
    "P6": "Number of services or procedures",
    "QA": "Quantity approved",
    "S7": "Age, high value",
    "S8": "Age, low value",
    "VS": "Visits",
    "YY": "Years",
}
VISITS = "VS"

REJECT_REASONS: dict[str, str] = {
    "04": "Authorized quantity exceeded",
    "15": "Required application data missing",
    "33": "Input errors",
    "35": "Out of network",
    "41": "Authorization/access restrictions",
    "42": "Unable to respond at current time",
    "43": "Invalid/missing provider identification",
    "44": "Invalid/missing provider name",
    "45": "Invalid/missing provider specialty",
    "46": "Invalid/missing provider phone number",
    "47": "Invalid/missing provider state",
    "48": "Invalid/missing referring provider identification number",
    "49": "Provider is not primary care physician",
    "50": "Provider ineligible for inquiries",
    "51": "Provider not on file",
    "52": "Service dates not within provider plan enrollment",
    "53": "Inquired benefit inconsistent with provider type",
    "54": "Inappropriate product/service ID qualifier",
    "55": "Inappropriate product/service ID",
    "56": "Inappropriate date",
    "57": "Invalid/missing date(s) of service",
    "58": "Invalid/missing date-of-birth",
    "60": "Date of birth follows date(s) of service",
    "61": "Date of death precedes date(s) of service",
    "62": "Date of service not within allowable inquiry period",
    "63": "Date of service in future",
    "64": "Invalid/missing patient ID",
    "65": "Invalid/missing patient name",
    "66": "Invalid/missing patient gender code",
    "67": "Patient not found",
    "68": "Duplicate patient ID number",
    "69": "Inconsistent with patient's age",
    "70": "Inconsistent with patient's gender",
    "71": "Patient birth date does not match that for the patient on the database",
    "72": "Invalid/missing subscriber/insured ID",
    "73": "Invalid/missing subscriber/insured name",
    "74": "Invalid/missing subscriber/insured gender code",
    "75": "Subscriber/insured not found",
    "76": "Duplicate subscriber/insured ID number",
    "77": "Subscriber found, patient not found",
    "78": "Subscriber/insured not in group/plan identified",
    "79": "Invalid participant identification",
    "80": "No response received - transaction terminated",
    "97": "Invalid or missing provider address",
    "98": "Experimental service or procedure",
    "AA": "Authorization number not found",
    "AE": "Requires primary care physician authorization",
    "AF": "Invalid/missing diagnosis code(s)",
    "AG": "Invalid/missing procedure code(s)",
    "AO": "Additional patient condition information required",
    "CI": "Certification information does not match patient",
    "E8": "Requires medical review",
    "IA": "Invalid authorization number format",
    "MA": "Missing authorization number",
    "T4": "Payer name or identifier missing",
}


class RejectKind(StrEnum):
    """What an AAA rejection asks of us. Only ``not_covered`` says something about the patient's
    coverage; the others are about the exchange, the request or who sent it."""

    RETRY_LATER = "retry_later"  # the payer cannot answer now (or not yet for that date): ask again
    FIX_REQUEST = "fix_request"  # the request's data (member id, names, dates, codes): a coordinator fixes it
    FIX_ENROLLMENT = "fix_enrollment"  # the provider or submitter (enrollment, identifiers): a coordinator fixes it
    NOT_COVERED = "not_covered"  # the payer does not know the patient under this policy: a real denial


# AAA03 reject reasons (005010X279A1 and the 278's, which share the list) by kind; any other code
# of REJECT_REASONS asks to fix the request's data. The loops of the TR3: 2100A (the payer, also
# 2000A) 04 41 42 79 80 T4; 2100B (the provider) 15 41 43 44 45 46 47 48 50 51 79 97 T4;
# 2100C/2100D (subscriber/dependent) 15 33 35 42 43 45 47 48 49 51 52 56 57 58 60-79; 2110C/D 15
# 33 52-57 60-63 69 70 98 and the 278's A*, C*, E8, IA, MA.
REJECT_KINDS: dict[str, RejectKind] = {
    # Retry later: the payer is down or busy, or will not answer for that date yet.
    "04": RejectKind.RETRY_LATER,  # authorized quantity exceeded: too many inquiries for now
    "42": RejectKind.RETRY_LATER,  # unable to respond at current time
    "62": RejectKind.RETRY_LATER,  # date of service not within allowable inquiry period
    "63": RejectKind.RETRY_LATER,  # date of service in future: the pre-visit re-check asks again
    "80": RejectKind.RETRY_LATER,  # no response received
    # The provider or the submitter: its enrollment, identifiers or details with the payer.
    "35": RejectKind.FIX_ENROLLMENT,  # out of network (the provider)
    "41": RejectKind.FIX_ENROLLMENT,  # authorization/access restrictions (the submitter)
    "43": RejectKind.FIX_ENROLLMENT,
    "44": RejectKind.FIX_ENROLLMENT,
    "45": RejectKind.FIX_ENROLLMENT,
    "46": RejectKind.FIX_ENROLLMENT,
    "47": RejectKind.FIX_ENROLLMENT,
    "48": RejectKind.FIX_ENROLLMENT,
    "49": RejectKind.FIX_ENROLLMENT,  # provider is not primary care physician
    "50": RejectKind.FIX_ENROLLMENT,  # provider ineligible for inquiries
    "51": RejectKind.FIX_ENROLLMENT,  # provider not on file
    "52": RejectKind.FIX_ENROLLMENT,  # service dates not within provider plan enrollment
    "53": RejectKind.FIX_ENROLLMENT,  # inquired benefit inconsistent with provider type
    "97": RejectKind.FIX_ENROLLMENT,
    "T4": RejectKind.FIX_ENROLLMENT,  # payer name or identifier missing: the submitter's payer setup
    # The patient is not known under this policy: the one real denial.
    "67": RejectKind.NOT_COVERED,  # patient not found
    "75": RejectKind.NOT_COVERED,  # subscriber/insured not found
    "77": RejectKind.NOT_COVERED,  # subscriber found, patient not found
    "78": RejectKind.NOT_COVERED,  # subscriber/insured not in group/plan identified
}
# Loops about the patient; a "not found" elsewhere is a malformed answer, not a denial.
PATIENT_LOOPS = frozenset({"2100C", "2100D", "2110C", "2110D"})
# Loops about the payer or the provider, where 79 (invalid participant identification) names them.
SENDER_LOOPS = frozenset({"2000A", "2100A", "2100B"})


def reject_kind(code: str, loop: str) -> RejectKind:
    """What the AAA03 ``code`` standing in ``loop`` asks of us."""
    kind = REJECT_KINDS.get(code, RejectKind.FIX_REQUEST)
    if kind is RejectKind.NOT_COVERED and loop not in PATIENT_LOOPS:
        return RejectKind.FIX_REQUEST
    if code == "79" and loop in SENDER_LOOPS:
        return RejectKind.FIX_ENROLLMENT
    return kind


FOLLOW_UPS: dict[str, str] = {
    "C": "Please correct and resubmit",
    "N": "Resubmission not allowed",
    "P": "Please resubmit original transaction",
    "R": "Resubmission allowed",
    "S": "Do not resubmit; inquiry initiated to a third party",
    "W": "Please wait 30 days and resubmit",
    "X": "Please wait 10 days and resubmit",
    "Y": "Do not resubmit; we will hand over",
}
