"""The events notifications subscribes to."""

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentNoShowRecorded,
    ConsentChanged,
    PatientMerged,
    PatientRegistered,
    RelatedPersonAdded,
)
from caremesh_kit.bus import Subscription

from caremesh_notifications.usecases import Notifications


def subscriptions(notifications: Notifications) -> list[Subscription]:
    return [
        Subscription(PatientRegistered, notifications.on_patient_registered),
        Subscription(PatientMerged, notifications.on_patient_merged),
        Subscription(RelatedPersonAdded, notifications.on_related_person_added),
        Subscription(ConsentChanged, notifications.on_consent_changed),
        Subscription(AppointmentBooked, notifications.on_appointment_booked),
        Subscription(AppointmentDeclined, notifications.on_appointment_declined),
        Subscription(AppointmentCancelled, notifications.on_appointment_cancelled),
        Subscription(AppointmentNoShowRecorded, notifications.on_no_show_recorded),
    ]
