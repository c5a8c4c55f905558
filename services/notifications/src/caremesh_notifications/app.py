"""Composition root of the notifications service."""

import asyncio
from datetime import timedelta

from fastapi import FastAPI

from caremesh_kit.runtime import Runtime
from caremesh_notifications import handlers, store
from caremesh_notifications.api import routers
from caremesh_notifications.channels import Sender
from caremesh_notifications.channels.email import SmtpEmail
from caremesh_notifications.channels.sms import TwilioSms
from caremesh_notifications.channels.webhook import AppWebhook
from caremesh_notifications.delivery import Dispatcher
from caremesh_notifications.domain import Channel
from caremesh_notifications.journey import Journey
from caremesh_notifications.notify import Notifier
from caremesh_notifications.scheduler import Reminders
from caremesh_notifications.settings import NotificationsSettings
from caremesh_notifications.templates import Catalog
from caremesh_notifications.usecases import Notifications

SERVICE = "notifications"


def senders_for(settings: NotificationsSettings) -> dict[Channel, Sender]:
    """Email always; SMS and the app webhook once configured."""
    senders: dict[Channel, Sender] = {Channel.EMAIL: SmtpEmail(settings)}
    if settings.sms_provider_url:
        senders[Channel.SMS] = TwilioSms(settings)
    if settings.webhook_url:
        senders[Channel.WEBHOOK] = AppWebhook(settings)
    return senders


def build(
    settings: NotificationsSettings | None = None,
    senders: dict[Channel, Sender] | None = None,
    catalog: Catalog | None = None,
) -> FastAPI:
    settings = settings or NotificationsSettings()
    # A missing template or variable stops the service here, at deploy time, not at send time.
    catalog = (catalog or Catalog.load()).verify()
    runtime = Runtime(SERVICE, settings)
    senders = senders if senders is not None else senders_for(settings)
    messages = store.Messages(runtime)
    dispatcher = Dispatcher(
        messages,
        senders,
        catalog,
        lease=timedelta(seconds=settings.send_lease_seconds),
        attempts=settings.channel_attempts,
    )
    contacts, family, prefs = store.contacts(runtime), store.family(runtime), store.preferences(runtime)
    notifier = Notifier(contacts, family, prefs, dispatcher, catalog)
    notifications = Notifications(
        contacts=contacts,
        family=family,
        prefs=prefs,
        messages=messages,
        dispatcher=dispatcher,
        catalog=catalog,
        notifier=notifier,
        reminders=Reminders(notifier, messages, store.appointments(runtime), settings.reminders),
        journey=Journey(notifier, store.surveys(runtime), prefs, settings),
    )
    runtime.background.append(lambda: dispatcher.sweep_forever(settings.due_scan_seconds))
    runtime.background.append(lambda: _close_on_stop(senders))
    return runtime.http_app(routers, notifications, handlers.subscriptions(notifications))


async def _close_on_stop(senders: dict[Channel, Sender]) -> None:
    """Lives as long as the service; on stop (cancelled) closes the channels' HTTP clients."""
    try:
        await asyncio.Event().wait()
    finally:
        for s in senders.values():
            if close := getattr(s, "close", None):
                await close()
