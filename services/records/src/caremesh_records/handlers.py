"""The events records subscribes to: one handler each."""

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
    CarePlanChanged,
    CareTaskOverdue,
    CoverageRegistered,
    EligibilityConfirmed,
    EligibilityDenied,
)
from caremesh_kit.bus import Subscription
from caremesh_records.usecases import UseCases


def subscriptions(uc: UseCases) -> list[Subscription]:
    return [
        Subscription(AppointmentBooked, uc.timeline.on_appointment_booked),
        Subscription(AppointmentDeclined, uc.timeline.on_appointment_declined),
        Subscription(AppointmentCancelled, uc.timeline.on_appointment_cancelled),
        Subscription(AppointmentNoShowRecorded, uc.timeline.on_no_show_recorded),
        Subscription(AppointmentFulfilled, uc.timeline.on_appointment_fulfilled),
        Subscription(CoverageRegistered, uc.timeline.on_coverage_registered),
        Subscription(EligibilityConfirmed, uc.timeline.on_eligibility_confirmed),
        Subscription(EligibilityDenied, uc.timeline.on_eligibility_denied),
        # Records' own care-plan events: the timeline learns of them as of any other.
        Subscription(CarePlanChanged, uc.care_plans.on_changed),
        Subscription(CareTaskOverdue, uc.care_plans.on_task_overdue),
    ]
