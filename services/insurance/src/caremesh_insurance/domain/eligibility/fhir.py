"""An eligibility check run as a FHIR R4 CoverageEligibilityResponse (built with the R4B models,
FHIR 4.3.0, which match R4 for this resource). Pure functions, no I/O."""

import re
import uuid
from decimal import Decimal

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.coverageeligibilityresponse import (
    CoverageEligibilityResponse,
    CoverageEligibilityResponseError,
    CoverageEligibilityResponseInsurance,
    CoverageEligibilityResponseInsuranceItem,
    CoverageEligibilityResponseInsuranceItemBenefit,
)
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.money import Money
from fhir.resources.R4B.reference import Reference

from caremesh_insurance.domain.eligibility.check import CheckRun, EligibilityCheck
from caremesh_insurance.domain.eligibility.decision import PLAIN_REASONS, BenefitDetail, Outcome

CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "urn:oid:2.16.840.1.113883.6.285"
SERVICE_TYPE = "https://x12.org/codes/service-type-codes"
BENEFIT_TYPE = "http://terminology.hl7.org/CodeSystem/benefit-type"
NETWORK = "http://terminology.hl7.org/CodeSystem/benefit-network"
TERM = "http://terminology.hl7.org/CodeSystem/benefit-term"
AAA_REASON = "urn:caremesh:x12:aaa-reject-reason"  # X12 AAA03 codes; X12 publishes no FHIR URI for them
CHECK = "urn:caremesh:eligibility-check"
PAYER = "urn:caremesh:payer"
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def fhir_id(check_id: str) -> str:
    """The check id when FHIR allows it as an id, else a stable UUID derived from it."""
    return check_id if _FHIR_ID.match(check_id) else str(uuid.uuid5(uuid.NAMESPACE_URL, f"{CHECK}:{check_id}"))


def _money(value: Decimal) -> Money:
    return Money(value=value, currency="USD")


def _benefits(d: BenefitDetail) -> list[CoverageEligibilityResponseInsuranceItemBenefit]:
    out = []

    def add(code: str, **values: object) -> None:
        out.append(
            CoverageEligibilityResponseInsuranceItemBenefit(
                type=CodeableConcept(coding=[Coding(system=BENEFIT_TYPE, code=code)]), **values
            )
        )

    if d.copay is not None:
        add("copay", allowedMoney=_money(d.copay))
    if d.coinsurance_percent is not None:
        add("copay-percent", allowedUnsignedInt=int(d.coinsurance_percent))
    if d.deductible is not None or d.deductible_remaining is not None:
        values: dict[str, object] = {}
        if d.deductible is not None:
            values["allowedMoney"] = _money(d.deductible)
        if d.deductible is not None and d.deductible_remaining is not None:
            values["usedMoney"] = _money(max(d.deductible - d.deductible_remaining, Decimal("0")))
        elif d.deductible_remaining is not None:
            values["allowedString"] = f"{d.deductible_remaining:.2f} USD remaining"
        add("deductible", **values)
    if d.visits_per_year is not None or d.visits_remaining is not None:
        values = {}
        if d.visits_per_year is not None:
            values["allowedUnsignedInt"] = d.visits_per_year
        else:
            values["allowedString"] = f"{d.visits_remaining} remaining"
        if d.visits_used is not None:
            values["usedUnsignedInt"] = d.visits_used
        add("visit", **values)
    return out


def _item(d: BenefitDetail) -> CoverageEligibilityResponseInsuranceItem:
    values: dict[str, object] = {}
    if d.service_code:
        system = CPT if d.service_code[0].isdigit() else HCPCS
        values["productOrService"] = CodeableConcept(coding=[Coding(system=system, code=d.service_code)])
    if d.service_type:
        values["category"] = CodeableConcept(
            coding=[Coding(system=SERVICE_TYPE, code=d.service_type, display=d.service_type_name)]
        )
    if d.in_network is not None:
        values["network"] = CodeableConcept(coding=[Coding(system=NETWORK, code="in" if d.in_network else "out")])
    if d.deductible is not None or d.visits_per_year is not None:
        values["term"] = CodeableConcept(coding=[Coding(system=TERM, code="annual")])
    if d.covered is not None:
        values["excluded"] = not d.covered
    if d.prior_authorization_required is not None:
        values["authorizationRequired"] = d.prior_authorization_required
    if benefits := _benefits(d):
        values["benefit"] = benefits
    return CoverageEligibilityResponseInsuranceItem(**values)


def coverage_eligibility_response(check: EligibilityCheck, run: CheckRun | None = None) -> CoverageEligibilityResponse:
    """The check's latest run, or ``run``, as a CoverageEligibilityResponse."""
    run = run or check.latest
    r, d = run.result, run.result.decision
    outcome = "error" if r.rejections else "complete"
    disposition = "Eligible" if d.outcome is Outcome.CONFIRMED else PLAIN_REASONS[d.reason] if d.reason else None
    resource = CoverageEligibilityResponse(
        id=fhir_id(check.id),
        meta=Meta(versionId=str(run.number), lastUpdated=run.checked_at),
        identifier=[Identifier(system=CHECK, value=f"{check.id}/{run.number}")],
        status="active",
        purpose=["validation", "benefits"],
        patient=Reference(reference=f"Patient/{check.patient_id}"),
        servicedDate=check.service_date,
        created=run.checked_at,
        request=Reference(identifier=Identifier(system=CHECK, value=check.id), display="eligibility check"),
        outcome=outcome,
        disposition=disposition,
        insurer=Reference(display=r.payer or "unknown payer"),
    )
    if d.coverage_id or r.coverage_active is not None:
        resource.insurance = [
            CoverageEligibilityResponseInsurance(
                coverage=Reference(reference=f"Coverage/{d.coverage_id}")
                if d.coverage_id
                else Reference(display="coverage on file"),
                inforce=r.coverage_active,
                item=[_item(b) for b in r.benefits] or None,
            )
        ]
    if r.rejections:
        resource.error = [
            CoverageEligibilityResponseError(
                code=CodeableConcept(
                    coding=[Coding(system=AAA_REASON, code=x.code, display=x.description)],
                    text=f"{x.loop}: {x.description}; {x.follow_up or ''}".rstrip("; "),
                )
            )
            for x in r.rejections
        ]
    return resource
