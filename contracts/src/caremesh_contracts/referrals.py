"""Referral events of the scheduling service (``scheduling.referral.*``).

The referring provider is a partner system: ``closed`` is the event meant for them (the loop
closed), so it carries their reference back and the visit's date, not clinical notes.
"""

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from caremesh_contracts.base import Event


class _Referral(Event):
    referral_id: str
    patient_id: str
    service_code: str
    referring_organization: str | None = Field(
        default=None, description="who referred; a referring clinic partner hears only of its own referrals"
    )


class ReferralReceived(_Referral):
    routing_key = "scheduling.referral.received"

    priority: Literal["routine", "urgent", "asap", "stat"]
    due_by: date | None = None


class ReferralAccepted(_Referral):
    routing_key = "scheduling.referral.accepted"


class ReferralRejected(_Referral):
    """``reason`` is plain language for the referring provider."""

    routing_key = "scheduling.referral.rejected"

    reason: str


class ReferralScheduled(_Referral):
    routing_key = "scheduling.referral.scheduled"

    appointment_id: str
    start: datetime


class ReferralOverdue(_Referral):
    """Received or accepted but not scheduled within the allowed age; emitted once."""

    routing_key = "scheduling.referral.overdue"

    received_at: datetime
    due_by: date | None = None


class ReferralClosed(_Referral):
    """The loop closed, for the referring provider: seen (``completed``), or not."""

    routing_key = "scheduling.referral.closed"

    outcome: Literal["completed", "rejected", "withdrawn"]
    referring_reference: str | None = None
    appointment_id: str | None = None
    seen_on: date | None = None
