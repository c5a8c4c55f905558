"""Notifications' domain: recipients and consent, preferences, messages. Pure Python: no I/O."""

from caremesh_notifications.domain.messages import Content, Message, MessageStatus, message_id
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
    permitted,
    routes,
    select,
)

__all__ = [
    "DEFAULT_CHANNELS", "Addressee", "Category", "Channel", "Contact", "Content", "FamilyMember", "Message",
    "MessageStatus", "Preferences", "PreferencesIn", "QuietHours", "Recipient", "Route", "Rule", "Skip",
    "is_patient", "message_id", "permitted", "routes", "select",
]
