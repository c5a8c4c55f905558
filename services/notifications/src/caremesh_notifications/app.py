"""Composition root of the notifications service."""

from datetime import timedelta

from caremesh_kit.runtime import Runtime
from fastapi import FastAPI

from caremesh_notifications import api, handlers, store
from caremesh_notifications.channels import SmtpEmail
from caremesh_notifications.settings import NotificationsSettings
from caremesh_notifications.usecases import EmailChannel, Notifications

SERVICE = "notifications"


def build(settings: NotificationsSettings | None = None, email: EmailChannel | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    runtime = Runtime(SERVICE, settings)
    notifications = Notifications(contacts=store.contacts(runtime), family=store.family(runtime),
                                  messages=store.Messages(runtime),
                                  email=email or SmtpEmail(settings),
                                  send_lease=timedelta(seconds=settings.smtp_timeout_seconds * 3))
    return runtime.http_app([api.router], notifications, handlers.subscriptions(notifications))
