"""From a coverage to a 270, and from a 271 to an eligibility result. Pure Python.

The payer decides whether the coverage is active and may reject the inquiry (AAA). Whether the
requested CPT/HCPCS code is covered comes from the payer when it names the procedure (EB13),
else from the plan data, as does the visit limit unless the payer states the visits remaining.
Figures are the in-network ones where the payer distinguishes.
"""

from collections.abc import Callable, Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from caremesh_insurance.domain.coverage import Coverage, Person, Relationship
from caremesh_insurance.domain.eligibility.decision import (
    BenefitDetail,
    Decision,
    DenialReason,
    EligibilityResult,
    Outcome,
    Rejection,
    RejectionAction,
    Visit,
    denied,
    evaluate,
)
from caremesh_insurance.domain.plans import Payer, Plan
from caremesh_insurance.domain.x12 import codes
from caremesh_insurance.domain.x12.envelope import PayerUnavailable, X12Error
from caremesh_insurance.domain.x12.request import Inquiry270, Person270
from caremesh_insurance.domain.x12.response import Benefit, Member, Response271, parse_271
from caremesh_insurance.domain.x12.response import Rejection as X12Rejection

ACTIONS = {
    RejectionAction.FIX_REQUEST: "correct the coverage's details (member id, names, birth dates) or the request",
    RejectionAction.FIX_ENROLLMENT: "fix the provider's or the submitter's enrollment with the payer",
}
# For a CPT/HCPCS code the payer did not name: office visit, then medical care, then the plan.
SERVICE_TYPE_PREFERENCE = ("98", "1", "30")
GENERIC = "30"


def inquiry_for(
    coverage: Coverage,
    payer: Payer,
    *,
    provider_name: str,
    provider_npi: str,
    sender_id: str,
    trace: str,
    trace_originator: str,
    control_number: int,
    day: date,
    now: datetime,
    usage: str,
) -> Inquiry270:
    t = coverage.terms
    if t.subscriber is None:
        raise ValueError("the coverage lacks the subscriber's name, which an X12 inquiry needs")
    dependent = None
    if t.relationship is not Relationship.SELF:
        if t.dependent is None:
            raise ValueError("the coverage lacks the patient's name as a dependent, which an X12 inquiry needs")
        dependent = Person270(t.dependent.family_name, t.dependent.given_name, t.dependent.birth_date)
    p = payer.terms
    assert p.payer_identifier is not None
    return Inquiry270(
        payer_name=p.name,
        payer_id=p.payer_identifier,
        provider_name=provider_name,
        provider_npi=provider_npi,
        member_id=t.member_id,
        subscriber=Person270(t.subscriber.family_name, t.subscriber.given_name, t.subscriber.birth_date),
        dependent=dependent,
        group_id=t.group_id,
        service_date=day,
        trace=trace,
        trace_originator=trace_originator,
        sender_id=sender_id,
        receiver_id=p.x12_receiver_id or p.payer_identifier,
        control_number=control_number,
        created=now,
        usage=usage,
    )


def rejection(r: X12Rejection) -> Rejection:
    return Rejection(
        loop=r.loop,
        valid_request=r.valid_request,
        code=r.code,
        description=r.description,
        follow_up_code=r.follow_up_code,
        follow_up=r.follow_up,
    )


def interpret(
    response: Response271,
    trace: str | None,
    coverage: Coverage,
    plan: Plan,
    day: date,
    service_code: str,
    visits: list[Visit],
) -> EligibilityResult:
    member, mismatch = patient_of(response, trace, coverage)
    rejections = response.all_rejections(member) if member else _unplaced_rejections(response)
    common: dict[str, Any] = {
        "adapter": "x12",
        "payer": response.payer_name or coverage.payer,
        "findings": response.findings,
    }
    if rejections:
        kinds = {r.kind for r in rejections}
        said = ", ".join(f"AAA {r.code} ({r.description}) in {r.loop}" for r in rejections)
        if codes.RejectKind.NOT_COVERED in kinds:  # the payer does not know the patient under this policy
            return denied(DenialReason.PAYER_REJECTED, rejections=[rejection(r) for r in rejections], **common)
        if kinds == {codes.RejectKind.RETRY_LATER}:
            raise PayerUnavailable(f"the payer answered {said}")
        # About the request or its sender, not the coverage: the rules decide until a coordinator fixes it.
        enrollment = codes.RejectKind.FIX_ENROLLMENT in kinds
        action = RejectionAction.FIX_ENROLLMENT if enrollment else RejectionAction.FIX_REQUEST
        return evaluate(coverage, plan, day, service_code, visits).model_copy(
            update={
                "rejections": [rejection(r) for r in rejections],
                "findings": response.findings,
                "payer_error": f"the payer refused the inquiry: {said}; {ACTIONS[action]}, then re-check",
                "action": action,
            }
        )
    if member is None:
        raise X12Error(mismatch or "the 271 does not say which of its members the inquiry was about")
    statuses = [b for b in member.benefits if b.code in codes.ACTIVE | codes.INACTIVE]
    if not statuses:
        raise X12Error("the 271 says neither whether the coverage is active (EB01 1-8) nor why not (AAA)")
    details = service_type_details(member)
    if not any(b.code in codes.ACTIVE for b in statuses):
        return denied(DenialReason.COVERAGE_INACTIVE, coverage_active=False, benefits=details, **common)
    named = [b for b in member.benefits if b.procedure and b.procedure[1] == service_code]
    if any(b.code == codes.NON_COVERED for b in named):
        return denied(
            DenialReason.SERVICE_NOT_COVERED,
            coverage_active=True,
            benefits=[BenefitDetail(service_code=service_code, covered=False), *details],
            **common,
        )
    by_plan = evaluate(coverage, plan, day, service_code, visits, check_period=False)  # the payer said active
    payer_covers = any(b.code not in codes.INACTIVE for b in named)
    if by_plan.decision.outcome is Outcome.DENIED and not (
        payer_covers and by_plan.decision.reason is DenialReason.SERVICE_NOT_COVERED
    ):
        return by_plan.model_copy(update={"benefits": [*by_plan.benefits, *details], "coverage_active": True, **common})
    service = _service_detail(member, named, service_code, by_plan)
    if service.visits_remaining is not None and service.visits_remaining <= 0:
        return denied(
            DenialReason.VISIT_LIMIT_REACHED,
            coverage_active=True,
            benefits=[service.model_copy(update={"covered": False}), *details],
            **common,
        )
    return EligibilityResult(
        decision=Decision(outcome=Outcome.CONFIRMED, coverage_id=coverage.id),
        coverage_active=True,
        benefits=[service, *details],
        **common,
    )


def patient_of(response: Response271, trace: str | None, coverage: Coverage) -> tuple[Member | None, str | None]:
    """The member of the 271 that is the patient asked about, or None with why not. The response
    must answer this inquiry (its TRN echoes ``trace``; else its subscriber's member id is the
    coverage's) and name the patient: the dependent's loop, or the subscriber's when it is the
    patient (a dependent with an id of their own is answered as a subscriber, by name and birth date)."""
    traced = [m for m in response.members if m.trace_numbers]
    echoed = bool(trace) and any(trace in m.trace_numbers for m in traced)
    if trace and traced and not echoed:
        raise X12Error("the 271 answers another inquiry: no TRN echoes this inquiry's trace number")
    t = coverage.terms
    subscribers = [m for m in response.members if m.level == "subscriber"]
    if t.relationship is Relationship.SELF:
        candidates = subscribers
    else:
        candidates = [m for m in response.members if m.level == "dependent"]
        candidates += [m for m in subscribers if t.dependent is not None and _same_person(m, t.dependent)]
    if not echoed:  # nothing ties the answer to the inquiry but the member id
        others = [m for m in subscribers if m.member_id and m not in candidates] or [
            m for m in candidates if m.member_id and m.level == "subscriber"
        ]
        if any(_norm(m.member_id) != _norm(t.member_id) for m in others):
            raise X12Error("the 271 answers for another member id than the coverage's")
    if not candidates:
        if subscribers and t.relationship is not Relationship.SELF:
            return None, "the 271 answers for the subscriber only, not for the dependent the inquiry was about"
        return None, None
    own = [m for m in candidates if trace and trace in m.trace_numbers]
    if len(own) == 1:
        return own[0], None
    return (candidates[0], None) if len(candidates) == 1 else (None, None)


def _unplaced_rejections(response: Response271) -> list[X12Rejection]:
    """With no member taken as the patient: the payer's and provider's rejections and the subscriber's."""
    return response.rejections + [r for m in response.members if m.level == "subscriber" for r in m.rejections]


def _same_person(member: Member, person: Person) -> bool:
    return (
        _norm(member.family_name) == _norm(person.family_name)
        and _norm(member.given_name) == _norm(person.given_name)
        and (person.birth_date is None or member.birth_date in (None, person.birth_date))
    )


def _norm(value: str | None) -> str:
    return (value or "").strip().upper()


def _service_detail(member: Member, named: list[Benefit], code: str, by_plan: EligibilityResult) -> BenefitDetail:
    """The plan's view of the service, with each figure the payer states taking its place: from the
    EBs naming the procedure first, then those of the office-visit, medical-care and plan types."""
    detail = (by_plan.benefits[0] if by_plan.benefits else BenefitDetail(service_code=code)).model_dump()
    stated: dict[str, Any] = {}
    for source in ([named] if named else []) + [_for_type(member, t) for t in SERVICE_TYPE_PREFERENCE]:
        for k, v in _figures(source, in_network=True).items():
            if v is not None and k not in stated:
                stated[k] = v
    return BenefitDetail.model_validate(detail | stated | {"service_code": code, "covered": True})


def _for_type(member: Member, service_type: str) -> list[Benefit]:
    return [b for b in member.benefits if service_type in (b.service_types or [GENERIC]) and not b.procedure]


def _figures(benefits: list[Benefit], in_network: bool) -> dict[str, Any]:
    """Copay, coinsurance, deductible and visits from EB segments; in or out of network."""
    chosen = [b for b in benefits if b.in_network in ((True, None) if in_network else (False,))]
    # Stated in-network figures win over ones that do not say.
    chosen.sort(key=lambda b: b.in_network is not True)

    def first(code: str, pick: Callable[[Benefit], Any], period: Collection[str] | None = None) -> Any:
        for b in chosen:
            if b.code == code and (period is None or b.time_period in period) and (v := pick(b)) is not None:
                return v
        return None

    def visits(b: Benefit) -> int | None:
        return int(b.quantity) if b.quantity_qualifier == codes.VISITS and b.quantity is not None else None

    return {
        "copay": first(codes.COPAY, lambda b: b.amount),
        "coinsurance_percent": first(
            codes.COINSURANCE,
            lambda b: (b.percent * 100).quantize(Decimal("0.01")) if b.percent is not None and b.percent <= 1 else None,
        ),
        "deductible": first(codes.DEDUCTIBLE, lambda b: b.amount, codes.BENEFIT_YEAR),
        "deductible_remaining": first(codes.DEDUCTIBLE, lambda b: b.amount, {codes.REMAINING}),
        "visits_per_year": first(codes.LIMITATIONS, visits, codes.BENEFIT_YEAR),
        "visits_remaining": first(codes.LIMITATIONS, visits, {codes.REMAINING}),
        "prior_authorization_required": True if any(b.authorization_required for b in chosen) else None,
    }


def service_type_details(member: Member) -> list[BenefitDetail]:
    """One entry per service type the payer mentions (and network, where it tells them apart)."""
    types: list[str] = []
    for b in member.benefits:
        for t in b.service_types or ([GENERIC] if b.code in codes.ACTIVE | codes.INACTIVE else []):
            if t not in types:
                types.append(t)
    out = []
    for t in types:
        benefits = _for_type(member, t)
        covered = None
        if any(b.code in codes.ACTIVE for b in benefits):
            covered = True
        elif any(b.code in codes.INACTIVE or b.code == codes.NON_COVERED for b in benefits):
            covered = False
        for network in (True, False):
            figures = _figures(benefits, in_network=network)
            if not network and all(v is None for v in figures.values()):
                continue
            has_network = any(b.in_network is network for b in benefits)
            out.append(
                BenefitDetail(
                    service_type=t,
                    service_type_name=codes.SERVICE_TYPES.get(t),
                    covered=covered,
                    in_network=network if has_network else None,
                    **{k: v for k, v in figures.items() if v is not None},
                )
            )
    return out


def interpret_response(
    text: str, *, strict: bool, coverage: Coverage, plan: Plan, day: date, service_code: str, visits: list[Visit]
) -> EligibilityResult:
    """A 271 received out of band (posted to the API); X12Error or PayerUnavailable when unusable."""
    result = interpret(parse_271(text, strict=strict), None, coverage, plan, day, service_code, visits)
    return result.model_copy(update={"x12_response": text})
