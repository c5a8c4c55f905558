"""Notifications' use cases, one module per capability, and the one container the routes and the event
handlers reach them through (built by ``app.build``)."""

from dataclasses import dataclass

from caremesh_kit.audit import AuditTrail
from caremesh_kit.clock import Clock
from caremesh_notifications.usecases.appointments import AppointmentMessages
from caremesh_notifications.usecases.care_team import CareTeamMessages
from caremesh_notifications.usecases.delivery import Dispatcher
from caremesh_notifications.usecases.delivery_reports import DeliveryReports
from caremesh_notifications.usecases.history import MessageHistory
from caremesh_notifications.usecases.journey import Journey
from caremesh_notifications.usecases.preferences import RecipientPreferences
from caremesh_notifications.usecases.recipients import Recipients
from caremesh_notifications.usecases.surveys import Surveys
from caremesh_notifications.usecases.templates import Templates


@dataclass(frozen=True)
class UseCases:
    recipients: Recipients  # records' events: contacts, family members, consent
    appointments: AppointmentMessages  # scheduling's events: notices and reminders
    journey: Journey  # waitlist offers, prior-authorization outcomes
    surveys: Surveys
    care_team: CareTeamMessages
    preferences: RecipientPreferences
    delivery: Dispatcher  # sends, fallbacks and the due sweep
    reports: DeliveryReports
    templates: Templates
    history: MessageHistory
    audit: AuditTrail  # for the routes without a bearer token (survey links, provider callbacks)
    clock: Clock
