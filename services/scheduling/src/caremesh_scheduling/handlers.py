"""The events scheduling subscribes to."""

from caremesh_contracts import (
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentHoldExpired,
    AppointmentNoShowRecorded,
    AuthorizationApproved,
    AuthorizationCancelled,
    AuthorizationDenied,
    AuthorizationExpired,
    AuthorizationRequired,
    CoverageChanged,
    CoverageRegistered,
    EligibilityConfirmed,
    EligibilityDenied,
)
from caremesh_contracts.waitlist import WaitlistOfferLapsed
from caremesh_kit.bus import Subscription
from caremesh_kit.envelope import Envelope
from caremesh_scheduling.usecases import Scheduling
from caremesh_scheduling.usecases.referrals import Referrals
from caremesh_scheduling.usecases.waitlist import Waitlist


def subscriptions(scheduling: Scheduling) -> list[Subscription]:
    return [
        Subscription(EligibilityConfirmed, scheduling.on_eligibility_confirmed),
        Subscription(EligibilityDenied, scheduling.on_eligibility_denied),
        Subscription(AuthorizationRequired, scheduling.on_authorization_required),
        Subscription(AuthorizationApproved, scheduling.on_authorization_approved),
        Subscription(AuthorizationDenied, scheduling.on_authorization_denied),
        Subscription(AuthorizationExpired, scheduling.on_authorization_expired),
        Subscription(AuthorizationCancelled, scheduling.on_authorization_cancelled),
        Subscription(CoverageRegistered, scheduling.calendar.on_coverage_registered),
        Subscription(CoverageChanged, scheduling.calendar.on_coverage_changed),
    ]


def own_events(referrals: Referrals, waitlist: Waitlist) -> list[Subscription]:
    """Scheduling's own appointment events, for referrals and the waitlist (one queue per event
    type, so one handler each)."""

    async def on_freed(event: AppointmentCancelled | AppointmentHoldExpired, env: Envelope) -> None:
        await referrals.on_appointment_ended(event, env)
        await waitlist.on_appointment_cancelled(event, env)

    return [
        Subscription(AppointmentFulfilled, referrals.on_appointment_fulfilled),
        Subscription(AppointmentCancelled, on_freed),
        Subscription(AppointmentHoldExpired, on_freed),
        Subscription(AppointmentDeclined, referrals.on_appointment_ended),
        Subscription(AppointmentNoShowRecorded, referrals.on_appointment_ended),
        Subscription(WaitlistOfferLapsed, waitlist.on_offer_lapsed),
    ]
