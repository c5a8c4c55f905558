"""The events notifications subscribes to."""

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
    AppointmentRescheduled,
    AuthorizationApproved,
    AuthorizationDenied,
    AuthorizationRequired,
    ConsentChanged,
    PatientMerged,
    PatientRegistered,
    RelatedPersonAdded,
    WaitlistEntryOffered,
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
        Subscription(AppointmentRescheduled, notifications.on_appointment_rescheduled),
        Subscription(AppointmentFulfilled, notifications.on_appointment_fulfilled),
        Subscription(WaitlistEntryOffered, notifications.journey.on_waitlist_offered),
        Subscription(AuthorizationRequired, notifications.journey.on_authorization_required),
        Subscription(AuthorizationApproved, notifications.journey.on_authorization_approved),
        Subscription(AuthorizationDenied, notifications.journey.on_authorization_denied),
    ]
