"""The events scheduling subscribes to."""

from caremesh_contracts import CoverageChanged, CoverageRegistered, EligibilityConfirmed, EligibilityDenied
from caremesh_kit.bus import Subscription

from caremesh_scheduling.usecases import Scheduling


def subscriptions(scheduling: Scheduling) -> list[Subscription]:
    return [
        Subscription(EligibilityConfirmed, scheduling.on_eligibility_confirmed),
        Subscription(EligibilityDenied, scheduling.on_eligibility_denied),
        Subscription(CoverageRegistered, scheduling.calendar.on_coverage_registered),
        Subscription(CoverageChanged, scheduling.calendar.on_coverage_changed),
    ]
