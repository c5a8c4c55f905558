from caremesh_contracts.base import Event


class MessageSent(Event):
    routing_key = "notifications.message.sent"

    message_id: str
    patient_id: str
    appointment_id: str | None = None
    channel: str
    template: str
