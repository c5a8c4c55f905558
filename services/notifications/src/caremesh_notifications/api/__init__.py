"""Notifications' HTTP API: message history, preferences, templates and the SMS provider's callbacks."""

from caremesh_notifications.api import callbacks, messages, preferences, templates

routers = [messages.router, preferences.router, templates.router, callbacks.router]
