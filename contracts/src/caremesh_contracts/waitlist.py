"""Waitlist events of the scheduling service (``scheduling.waitlist_entry.*``).

``offered`` is what notifications turns into an offer with accept and decline links; it carries
the time offered and when the offer lapses, not why the patient waits.
"""

from datetime import datetime
from typing import Literal

from caremesh_contracts.base import Event


class _Entry(Event):
    entry_id: str
    patient_id: str
    service_code: str


class WaitlistEntryAdded(_Entry):
    routing_key = "scheduling.waitlist_entry.added"


class WaitlistEntryOffered(_Entry):
    routing_key = "scheduling.waitlist_entry.offered"

    offer_id: str
    practitioner_id: str
    practitioner_name: str
    start: datetime
    end: datetime
    expires_at: datetime


class WaitlistEntryAccepted(_Entry):
    """The offer was taken: ``appointment_id`` is the appointment it became."""

    routing_key = "scheduling.waitlist_entry.accepted"

    offer_id: str
    appointment_id: str


class WaitlistOfferLapsed(_Entry):
    """Declined by the patient, or expired unanswered: the slot passes to the next match."""

    routing_key = "scheduling.waitlist_entry.offer_lapsed"

    offer_id: str
    reason: Literal["declined", "expired"]


class WaitlistEntryRemoved(_Entry):
    routing_key = "scheduling.waitlist_entry.removed"
