"""The one list of the events scheduling subscribes to, and the use case each goes to."""

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
from caremesh_scheduling.usecases import UseCases


def subscriptions(uc: UseCases) -> list[Subscription]:
    async def on_freed(event: AppointmentCancelled | AppointmentHoldExpired, env: Envelope) -> None:
        """Freed time: the referral waits to be scheduled again, and the waitlist is offered the slot."""
        await uc.referrals.on_appointment_ended(event, env)
        await uc.waitlist.on_appointment_cancelled(event, env)

    return [
        # Insurance: eligibility and prior authorizations decide held appointments.
        Subscription(EligibilityConfirmed, uc.insurance.on_eligibility_confirmed),
        Subscription(EligibilityDenied, uc.insurance.on_eligibility_denied),
        Subscription(AuthorizationRequired, uc.insurance.on_authorization_required),
        Subscription(AuthorizationApproved, uc.insurance.on_authorization_approved),
        Subscription(AuthorizationDenied, uc.insurance.on_authorization_denied),
        Subscription(AuthorizationExpired, uc.insurance.on_authorization_expired),
        Subscription(AuthorizationCancelled, uc.insurance.on_authorization_cancelled),
        # Insurance: the coverage copy the availability search filters by.
        Subscription(CoverageRegistered, uc.availability.on_coverage_registered),
        Subscription(CoverageChanged, uc.availability.on_coverage_changed),
        # Scheduling's own events: referrals close or reopen, the waitlist passes slots on.
        Subscription(AppointmentFulfilled, uc.referrals.on_appointment_fulfilled),
        Subscription(AppointmentCancelled, on_freed),
        Subscription(AppointmentHoldExpired, on_freed),
        Subscription(AppointmentDeclined, uc.referrals.on_appointment_ended),
        Subscription(AppointmentNoShowRecorded, uc.referrals.on_appointment_ended),
        Subscription(WaitlistOfferLapsed, uc.waitlist.on_offer_lapsed),
    ]
