"""The events scheduling subscribes to."""

from caremesh_contracts import EligibilityConfirmed, EligibilityDenied
from caremesh_kit.bus import Subscription

from caremesh_scheduling.usecases import Scheduling


def subscriptions(scheduling: Scheduling) -> list[Subscription]:
    return [
        Subscription(EligibilityConfirmed, scheduling.on_eligibility_confirmed),
        Subscription(EligibilityDenied, scheduling.on_eligibility_denied),
    ]
