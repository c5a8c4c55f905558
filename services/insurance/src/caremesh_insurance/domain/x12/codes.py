"""X12 005010X279A1 code lists the eligibility exchange reads.

EB01, EB03 and EB06 come from x12sdk's segment model enums, so the lists stay the library's; AAA
reject reasons and follow-up actions, and EB09 quantity qualifiers, are not enumerated there.
"""

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
# The payer is down or timed out: ask again later rather than count it as a denial.
TRANSIENT_REJECTIONS = frozenset({"42", "80"})

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
