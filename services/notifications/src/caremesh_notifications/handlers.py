"""The events notifications subscribes to."""

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentNoShowRecorded,
    PatientMerged,
    PatientRegistered,
)
from caremesh_kit.bus import Subscription

from caremesh_notifications.usecases import Notifications


def subscriptions(notifications: Notifications) -> list[Subscription]:
    return [
        Subscription(PatientRegistered, notifications.on_patient_registered),
        Subscription(PatientMerged, notifications.on_patient_merged),
        Subscription(AppointmentBooked, notifications.on_appointment_booked),
        Subscription(AppointmentDeclined, notifications.on_appointment_declined),
        Subscription(AppointmentCancelled, notifications.on_appointment_cancelled),
        Subscription(AppointmentNoShowRecorded, notifications.on_no_show_recorded),
    ]
