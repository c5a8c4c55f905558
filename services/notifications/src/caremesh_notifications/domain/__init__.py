"""Notifications' domain: recipients and consent, preferences, messages, appointments as known
here, reminder plans, surveys and message templates. Pure Python: no I/O, no clock (``now`` is passed in)."""

from caremesh_notifications.domain.appointments import Appointment, AppointmentEvent, VisitStatus, appointment_facts
from caremesh_notifications.domain.messages import Content, Message, MessageStatus, Superseded, message_id
from caremesh_notifications.domain.preferences import (
    DEFAULT_CHANNELS,
    Category,
    Channel,
    Preferences,
    PreferencesIn,
    QuietHours,
)
from caremesh_notifications.domain.recipients import (
    Addressee,
    Contact,
    FamilyMember,
    Recipient,
    Route,
    Rule,
    Skip,
    is_patient,
    opt_out,
    permitted,
    routes,
    select,
)
from caremesh_notifications.domain.reminders import ReminderPolicy
from caremesh_notifications.domain.surveys import Answers, Survey, SurveyStatus

__all__ = [
    "DEFAULT_CHANNELS",
    "Addressee",
    "Answers",
    "Appointment",
    "AppointmentEvent",
    "Category",
    "Channel",
    "Contact",
    "Content",
    "FamilyMember",
    "Message",
    "MessageStatus",
    "Preferences",
    "PreferencesIn",
    "QuietHours",
    "Recipient",
    "ReminderPolicy",
    "Route",
    "Rule",
    "Skip",
    "Superseded",
    "Survey",
    "SurveyStatus",
    "VisitStatus",
    "appointment_facts",
    "is_patient",
    "message_id",
    "opt_out",
    "permitted",
    "routes",
    "select",
]
