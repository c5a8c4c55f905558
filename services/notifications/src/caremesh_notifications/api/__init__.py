"""Notifications' HTTP API: message history and the care team's messages, preferences, templates, the
SMS provider's callbacks and the satisfaction survey."""

from caremesh_notifications.api import callbacks, messages, preferences, surveys, templates

routers = [messages.router, preferences.router, templates.router, callbacks.router, surveys.router]
