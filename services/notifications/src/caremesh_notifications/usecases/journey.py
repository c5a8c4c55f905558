"""Waitlist offers and prior-authorization outcomes, told to the patient (and consenting family)."""

import hashlib
from dataclasses import dataclass
from datetime import date

from caremesh_contracts import (
    AuthorizationApproved,
    AuthorizationDenied,
    AuthorizationRequired,
    WaitlistEntryOffered,
)
from caremesh_kit import links
from caremesh_kit.envelope import Envelope
from caremesh_notifications.usecases.notify import Notice, Notifier, settle


def _decision(authorization_id: str, outcome: str, *details: str) -> str:
    """A message key per authorization decision (not per event): the same decision maps to the same
    messages however many appointments it concerns."""
    digest = hashlib.sha256("|".join(details).encode()).hexdigest()[:16]
    return f"authorization:{authorization_id}:{outcome}:{digest}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"  # template variables are text


@dataclass
class Journey:
    notifier: Notifier
    scheduling_public_url: str  # offers link to scheduling, which checks the links' signature
    offer_link_secret: str

    async def tell(self, notice: Notice) -> None:
        settle(await self.notifier.notify(notice))

    # -- waitlist -------------------------------------------------------------------------------
    async def on_waitlist_offered(self, event: WaitlistEntryOffered, env: Envelope) -> None:
        """An offer with accept and decline links to scheduling; nobody is told once it has lapsed."""
        urls = links.offer_links(self.scheduling_public_url, self.offer_link_secret, event.offer_id, event.expires_at)
        await self.tell(
            Notice(
                source=env.id,
                kind="waitlist.offer",
                patient_id=event.patient_id,
                until=event.expires_at,
                facts={
                    "when": event.start,
                    "expires": event.expires_at,
                    "practitioner_name": event.practitioner_name,
                    "accept_url": urls[links.OfferAction.ACCEPT],
                    "decline_url": urls[links.OfferAction.DECLINE],
                },
            )
        )

    # -- prior authorizations -------------------------------------------------------------------
    # Insurance raises each decision once per appointment waiting on it: the patient hears of it once.
    # The key is the decision itself, so a later, different decision (an appeal's) is told too.
    async def on_authorization_required(self, event: AuthorizationRequired, env: Envelope) -> None:
        await self.tell(
            Notice(
                source=_decision(event.authorization_id, "required"),
                kind="authorization.required",
                patient_id=event.patient_id,
                facts={"reference": event.authorization_id},
            )
        )

    async def on_authorization_approved(self, event: AuthorizationApproved, env: Envelope) -> None:
        facts: dict[str, str | date] = {
            "reference": event.authorization_id,
            "authorization_number": event.authorization_number,
            "units": str(event.approved_units),
            "partial": _yes(event.partial),
            "valid_from": event.valid_from,
            "valid_to": event.valid_to,
        }
        await self.tell(
            Notice(
                source=_decision(event.authorization_id, "approved", *map(str, facts.values())),
                kind="authorization.approved",
                family_kind="family.authorization.approved",
                patient_id=event.patient_id,
                facts=facts,
            )
        )

    async def on_authorization_denied(self, event: AuthorizationDenied, env: Envelope) -> None:
        # The payer's reason is plain language (the contract says so), shown by email only.
        await self.tell(
            Notice(
                source=_decision(
                    event.authorization_id, "denied", event.reason_code, event.reason, str(event.appealable)
                ),
                kind="authorization.denied",
                family_kind="family.authorization.denied",
                patient_id=event.patient_id,
                facts={
                    "reference": event.authorization_id,
                    "reason": event.reason,
                    "appealable": _yes(event.appealable),
                },
            )
        )
