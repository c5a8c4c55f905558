"""The satisfaction survey after a visit: its questions, and the answers, taken once. Pure Python.

Answering raises ``notifications.survey.completed`` with the scores only; the free-text comment
stays here (it may say anything, so it is kept out of the event log and quality reports).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from caremesh_contracts import AppointmentFulfilled, SurveyCompleted
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict, Invalid

_SURVEY_NS = uuid.UUID("0b5b8a0e-8a3f-4c55-9d1e-6f2a7c9e4b31")
COMMENT_MAX = 2000


@dataclass(frozen=True)
class Question:
    id: str
    low: int
    high: int
    text: dict[str, str]  # language -> wording


QUESTIONS = (
    Question(
        "overall",
        1,
        5,
        {
            "en": "Overall, how satisfied are you with your visit?",
            "es": "En general, ¿qué tan satisfecho está con su visita?",
        },
    ),
    Question(
        "communication",
        1,
        5,
        {
            "en": "How well did your care team explain things to you?",
            "es": "¿Qué tan bien le explicó las cosas su equipo de atención?",
        },
    ),
    Question(
        "waiting",
        1,
        5,
        {
            "en": "How satisfied are you with the time you waited?",
            "es": "¿Qué tan satisfecho está con el tiempo que esperó?",
        },
    ),
    Question(
        "recommend",
        0,
        10,
        {
            "en": "How likely are you to recommend us to a friend or family member?",
            "es": "¿Qué tan probable es que nos recomiende a un amigo o familiar?",
        },
    ),
)
COMMENT_PROMPT = {
    "en": "Is there anything else you would like to tell us? (optional)",
    "es": "¿Hay algo más que quiera decirnos? (opcional)",
}
SCALE_LABELS = {"en": ("not at all", "completely"), "es": ("nada", "totalmente")}


def survey_id(appointment_id: str) -> str:
    """One survey per visit: a redelivered event finds the same one."""
    return str(uuid.uuid5(_SURVEY_NS, appointment_id))


def wording(language: str) -> str:
    """The language we have the questions in: the one asked for, its primary subtag, else English."""
    for candidate in (language, language.split("-")[0].lower()):
        if candidate in COMMENT_PROMPT:
            return candidate
    return "en"


class SurveyStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"


class Answers(BaseModel):
    scores: dict[str, int]
    comment: str | None = Field(default=None, max_length=COMMENT_MAX)


class Survey(Aggregate):
    patient_id: str
    appointment_id: str
    practitioner_id: str
    service_code: str
    language: str = "en"
    created_at: datetime
    expires_at: datetime
    status: SurveyStatus = SurveyStatus.OPEN
    scores: dict[str, int] = Field(default_factory=dict)
    comment: str | None = None
    completed_at: datetime | None = None

    @classmethod
    def after(cls, e: AppointmentFulfilled, language: str, now: datetime, expires_at: datetime) -> "Survey":
        return cls(
            id=survey_id(e.appointment_id),
            patient_id=e.patient_id,
            appointment_id=e.appointment_id,
            practitioner_id=e.practitioner_id,
            service_code=e.service_code,
            language=wording(language),
            created_at=now,
            expires_at=expires_at,
        )

    def answer(self, answers: Answers, now: datetime) -> None:
        """Store the answers, once: a second answer is a Conflict, an expired survey too."""
        if self.status is SurveyStatus.COMPLETED:
            raise Conflict("this survey has been answered already")
        if now >= self.expires_at:
            raise Conflict("this survey has closed")
        self.scores = check_scores(answers.scores)
        self.comment = (answers.comment or "").strip() or None
        self.status, self.completed_at = SurveyStatus.COMPLETED, now
        self.raise_event(
            SurveyCompleted(
                survey_id=self.id,
                appointment_id=self.appointment_id,
                patient_id=self.patient_id,
                practitioner_id=self.practitioner_id,
                service_code=self.service_code,
                scores=self.scores,
                completed_at=now,
            )
        )


def check_scores(scores: dict[str, int]) -> dict[str, int]:
    """Every question answered within its scale, and nothing else."""
    known = {q.id: q for q in QUESTIONS}
    if unknown := sorted(set(scores) - set(known)):
        raise Invalid(f"unknown question(s): {', '.join(unknown)}", field="scores")
    if missing := [q.id for q in QUESTIONS if q.id not in scores]:
        raise Invalid(f"unanswered question(s): {', '.join(missing)}", field="scores")
    for qid, value in scores.items():
        q = known[qid]
        if not q.low <= value <= q.high:
            raise Invalid(f"{qid} must be between {q.low} and {q.high}", field=f"scores.{qid}")
    return {q.id: scores[q.id] for q in QUESTIONS}


def questions(language: str) -> list[dict[str, object]]:
    lang = wording(language)
    low, high = SCALE_LABELS[lang]
    out: list[dict[str, object]] = [
        {
            "id": q.id,
            "type": "scale",
            "min": q.low,
            "max": q.high,
            "text": q.text[lang],
            "min_label": low,
            "max_label": high,
            "required": True,
        }
        for q in QUESTIONS
    ]
    out.append(
        {"id": "comment", "type": "text", "max_length": COMMENT_MAX, "text": COMMENT_PROMPT[lang], "required": False}
    )
    return out
