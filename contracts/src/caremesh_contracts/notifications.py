from datetime import datetime

from caremesh_contracts.base import Event


class MessageSent(Event):
    routing_key = "notifications.message.sent"

    message_id: str
    patient_id: str
    appointment_id: str | None = None
    channel: str
    template: str


class SurveyCompleted(Event):
    """A patient answered the satisfaction survey after a visit, for quality reporting: ids, the
    service code and the scores (question id -> score) only; free-text comments stay in notifications."""

    routing_key = "notifications.survey.completed"

    survey_id: str
    appointment_id: str
    patient_id: str
    practitioner_id: str
    service_code: str
    scores: dict[str, int]
    completed_at: datetime
