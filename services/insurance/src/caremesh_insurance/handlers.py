"""The events insurance subscribes to."""

from caremesh_contracts import (
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
    AppointmentRequested,
    CoverageChanged,
)
from caremesh_insurance.usecases import Insurance
from caremesh_kit.bus import Subscription


def subscriptions(insurance: Insurance) -> list[Subscription]:
    return [
        Subscription(AppointmentRequested, insurance.eligibility.on_appointment_requested),
        # Its own event: a coverage change re-checks upcoming appointments even after a crash.
        Subscription(CoverageChanged, insurance.eligibility.on_coverage_changed),
        # What happens to the appointments, for re-checks and visit limits.
        Subscription(AppointmentCancelled, insurance.on_appointment_cancelled),
        Subscription(AppointmentDeclined, insurance.on_appointment_declined),
        Subscription(AppointmentNoShowRecorded, insurance.on_appointment_no_show),
        # Units used by prior authorizations.
        Subscription(AppointmentFulfilled, insurance.authorizations.on_appointment_fulfilled),
    ]
