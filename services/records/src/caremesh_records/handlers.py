"""The events records subscribes to."""

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
from caremesh_records.usecases import Records


def subscriptions(records: Records) -> list[Subscription]:
    return [
        Subscription(AppointmentBooked, records.on_appointment_booked),
        Subscription(AppointmentDeclined, records.on_appointment_declined),
        Subscription(AppointmentCancelled, records.on_appointment_cancelled),
        Subscription(AppointmentNoShowRecorded, records.on_no_show_recorded),
        Subscription(AppointmentFulfilled, records.on_appointment_fulfilled),
        Subscription(CoverageRegistered, records.on_coverage_registered),
        Subscription(EligibilityConfirmed, records.on_eligibility_confirmed),
        Subscription(EligibilityDenied, records.on_eligibility_denied),
        # Records' own care-plan events: the timeline learns of them as of any other.
        Subscription(CarePlanChanged, records.care_plans.on_changed),
        Subscription(CareTaskOverdue, records.care_plans.on_task_overdue),
    ]
