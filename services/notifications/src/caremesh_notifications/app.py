"""Composition root of the notifications service: the one place that builds and wires."""

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from caremesh_kit.clock import Clock, system_clock
from caremesh_kit.runtime import Runtime
from caremesh_notifications import handlers, store
from caremesh_notifications.adapters import Sender
from caremesh_notifications.adapters.email import SmtpEmail
from caremesh_notifications.adapters.sms import TwilioSms
from caremesh_notifications.adapters.templates import FILES, TemplateFolder
from caremesh_notifications.adapters.webhook import AppWebhook
from caremesh_notifications.api import routers
from caremesh_notifications.api.policy import POLICY
from caremesh_notifications.domain import Channel
from caremesh_notifications.domain.templates import Catalog
from caremesh_notifications.settings import NotificationsSettings
from caremesh_notifications.usecases import UseCases
from caremesh_notifications.usecases.appointments import AppointmentMessages
from caremesh_notifications.usecases.care_team import CareTeamMessages
from caremesh_notifications.usecases.delivery import Dispatcher
from caremesh_notifications.usecases.delivery_reports import DeliveryReports, SmsCallbacks
from caremesh_notifications.usecases.gate import SendGate
from caremesh_notifications.usecases.history import MessageHistory
from caremesh_notifications.usecases.journey import Journey
from caremesh_notifications.usecases.notify import Notifier
from caremesh_notifications.usecases.preferences import RecipientPreferences
from caremesh_notifications.usecases.recipients import Recipients
from caremesh_notifications.usecases.reminders import Reminders
from caremesh_notifications.usecases.surveys import Surveys
from caremesh_notifications.usecases.templates import TemplateRelease, Templates

SERVICE = "notifications"


def senders_for(settings: NotificationsSettings, clock: Clock = system_clock) -> dict[Channel, Sender]:
    """Email always; SMS and the app webhook once configured."""
    senders: dict[Channel, Sender] = {Channel.EMAIL: SmtpEmail(settings)}
    if settings.sms_provider_url:
        senders[Channel.SMS] = TwilioSms(settings)
    if settings.webhook_url:
        senders[Channel.WEBHOOK] = AppWebhook(settings, clock=clock)
    return senders


def build(
    settings: NotificationsSettings | None = None,
    senders: dict[Channel, Sender] | None = None,
    catalog: Catalog | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    settings = settings or NotificationsSettings()
    # A missing template or variable stops the service here, at deploy time, not at send time.
    catalog = (catalog or TemplateFolder().load()).verify()
    runtime = Runtime(SERVICE, settings, clock=clock or system_clock)
    clock = runtime.clock
    senders = senders if senders is not None else senders_for(settings, clock)
    messages = store.Messages(runtime)
    contacts, family, prefs = store.contacts(runtime), store.family(runtime), store.preferences(runtime)
    appointments = store.appointments(runtime)
    dispatcher = Dispatcher(
        messages,
        senders,
        catalog,
        gate=SendGate(family, prefs, appointments, catalog),
        clock=clock,
        lease=timedelta(seconds=settings.send_lease_seconds),
        attempts=settings.channel_attempts,
    )
    notifier = Notifier(contacts, family, prefs, dispatcher, catalog, clock)
    recipients = Recipients(contacts, family)
    surveys = Surveys(
        notifier,
        store.surveys(runtime),
        prefs,
        clock,
        public_url=settings.public_url,
        link_secret=settings.survey_link_secret,
        days=settings.survey_days,
    )
    usecases = UseCases(
        recipients=recipients,
        appointments=AppointmentMessages(
            notifier, Reminders(notifier, messages, appointments, settings.reminders, clock), surveys, messages, clock
        ),
        journey=Journey(notifier, settings.scheduling_public_url, settings.offer_link_secret),
        surveys=surveys,
        care_team=CareTeamMessages(notifier),
        preferences=RecipientPreferences(recipients, prefs, clock, frozenset(senders)),
        delivery=dispatcher,
        reports=DeliveryReports(
            messages,
            dispatcher,
            clock,
            SmsCallbacks(
                settings.sms_provider_url,
                settings.sms_status_callback_url,
                settings.sms_account_sid,
                settings.sms_auth_token,
            ),
        ),
        templates=Templates(catalog),
        history=MessageHistory(messages),
        audit=runtime.audit,
        clock=clock,
    )
    runtime.sweep(settings.due_scan_seconds, dispatcher.send_due, "held messages sent")
    runtime.on_stop.append(lambda: _close(dispatcher, senders))
    return runtime.http_app(routers, usecases, handlers.subscriptions(usecases), POLICY)


def template_release(root: Path | None = None) -> TemplateRelease:
    """The ``caremesh-templates`` command's use case, on the shipped templates or the folder given."""
    return TemplateRelease(TemplateFolder(root or FILES))


async def _close(dispatcher: Dispatcher, senders: dict[Channel, Sender]) -> None:
    """On stop: drop the sends in flight (the due sweep retries them), close the channels' HTTP clients."""
    dispatcher.cancel_in_flight()
    for s in senders.values():
        if close := getattr(s, "close", None):
            await close()
