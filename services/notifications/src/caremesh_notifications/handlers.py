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
from caremesh_notifications.usecases import UseCases


def subscriptions(uc: UseCases) -> list[Subscription]:
    records, appointments, journey = uc.recipients, uc.appointments, uc.journey
    return [
        Subscription(PatientRegistered, records.on_patient_registered),
        Subscription(PatientMerged, records.on_patient_merged),
        Subscription(RelatedPersonAdded, records.on_related_person_added),
        Subscription(ConsentChanged, records.on_consent_changed),
        Subscription(AppointmentBooked, appointments.on_appointment_booked),
        Subscription(AppointmentDeclined, appointments.on_appointment_declined),
        Subscription(AppointmentCancelled, appointments.on_appointment_cancelled),
        Subscription(AppointmentNoShowRecorded, appointments.on_no_show_recorded),
        Subscription(AppointmentRescheduled, appointments.on_appointment_rescheduled),
        Subscription(AppointmentFulfilled, appointments.on_appointment_fulfilled),
        Subscription(WaitlistEntryOffered, journey.on_waitlist_offered),
        Subscription(AuthorizationRequired, journey.on_authorization_required),
        Subscription(AuthorizationApproved, journey.on_authorization_approved),
        Subscription(AuthorizationDenied, journey.on_authorization_denied),
    ]
