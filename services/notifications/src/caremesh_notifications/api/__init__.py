"""Notifications' HTTP API: message history and the care team's messages, preferences, templates, the
SMS provider's callbacks and the satisfaction survey. Every route reaches the use cases through
``Services``, the one typed container the composition root built."""

from caremesh_notifications.api import callbacks, messages, preferences, surveys, templates

routers = [messages.router, preferences.router, templates.router, callbacks.router, surveys.router]
