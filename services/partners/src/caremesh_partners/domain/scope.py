"""Minimum necessary: whether a partner may hear of an event, and what of it. Pure.

The fields come from the contracts' table (``caremesh_contracts.audiences``). The scope comes from
what the gateway has learnt from earlier events (``Facts``): a payer hears only of its own
members' coverages, eligibility and authorizations; a referring clinic only of the referrals it
made. A kind without a rule here hears nothing patient-bound.
"""

from dataclasses import dataclass, field

from caremesh_contracts import Event
from caremesh_contracts.audiences import PartnerKind, project, view
from caremesh_partners.domain.partners import Partner, PartnerStatus


@dataclass(frozen=True)
class Facts:
    """What the gateway knows about an event's relations."""

    payer_ids: frozenset[str] = field(default_factory=frozenset)
    referring_organization: str | None = None


def _in_scope(partner: Partner, body: dict[str, object], facts: Facts) -> bool:
    kind = partner.terms.kind
    if kind is PartnerKind.PAYER:
        return partner.terms.payer_id in facts.payer_ids
    if kind is PartnerKind.REFERRING_CLINIC:
        return facts.referring_organization is not None and facts.referring_organization == partner.terms.organization
    # De-identified views only: a kind with no scope rule must not receive a patient's id.
    return "patient_id" not in body


def partner_view(
    partner: Partner, event: type[Event], body: dict[str, object], facts: Facts
) -> dict[str, object] | None:
    """The event as ``partner`` may see it, or None when it may not hear of it."""
    if partner.status is not PartnerStatus.ACTIVE:
        return None
    fields = view(event, partner.terms.kind)
    if fields is None:
        return None
    shown = project(body, fields)
    return shown if _in_scope(partner, shown, facts) else None
