"""The satisfaction survey: its questions, answers taken once, and an event without free text."""

from datetime import UTC, datetime, timedelta

import pytest

from caremesh_contracts import AppointmentFulfilled, SurveyCompleted
from caremesh_kit.errors import Conflict, Invalid
from caremesh_notifications.domain import Answers, Survey, SurveyStatus
from caremesh_notifications.domain.surveys import questions, survey_id

NOW = datetime(2030, 1, 15, 16, tzinfo=UTC)
GOOD = {"overall": 5, "communication": 4, "waiting": 3, "recommend": 9}


def fulfilled() -> AppointmentFulfilled:
    start = datetime(2030, 1, 15, 14, 30, tzinfo=UTC)
    return AppointmentFulfilled(
        appointment_id="ap-1",
        patient_id="p-1",
        practitioner_id="pr-1",
        practitioner_name="Dr Okafor",
        service_code="99213",
        start=start,
        end=start + timedelta(minutes=30),
        completed_at=start + timedelta(minutes=30),
    )


def survey(language: str = "en") -> Survey:
    return Survey.after(fulfilled(), language, NOW, NOW + timedelta(days=30))


def test_one_survey_per_visit():
    assert survey().id == survey_id("ap-1") == survey().id
    assert survey_id("ap-2") != survey().id


def test_answered_once_with_an_event_that_carries_scores_and_ids_only():
    s = survey()
    s.answer(Answers(scores=GOOD, comment="The nurse was lovely; my knee still hurts."), NOW)
    assert (s.status, s.completed_at) == (SurveyStatus.COMPLETED, NOW)
    assert s.comment == "The nurse was lovely; my knee still hurts."  # kept here, for the care team
    [event] = s.take_events()
    assert isinstance(event, SurveyCompleted)
    assert event.model_dump() == {
        "survey_id": s.id,
        "appointment_id": "ap-1",
        "patient_id": "p-1",
        "practitioner_id": "pr-1",
        "service_code": "99213",
        "scores": GOOD,
        "completed_at": NOW,
    }
    assert "knee" not in event.model_dump_json()
    with pytest.raises(Conflict, match="answered already"):
        s.answer(Answers(scores=GOOD), NOW)
    assert s.take_events() == []


@pytest.mark.parametrize(
    "scores, field",
    [
        ({**GOOD, "overall": 6}, "scores.overall"),
        ({**GOOD, "recommend": -1}, "scores.recommend"),
        ({k: v for k, v in GOOD.items() if k != "waiting"}, "scores"),
        ({**GOOD, "mood": 3}, "scores"),
    ],
)
def test_answers_must_fit_the_questions(scores, field):
    s = survey()
    with pytest.raises(Invalid) as exc:
        s.answer(Answers(scores=scores), NOW)
    assert exc.value.extra["field"] == field and s.status is SurveyStatus.OPEN and s.take_events() == []


def test_a_closed_survey_takes_no_answers():
    s = survey()
    with pytest.raises(Conflict, match="closed"):
        s.answer(Answers(scores=GOOD), s.expires_at)


def test_the_questions_in_the_patients_language():
    assert survey("es-MX").language == "es" and survey("fr").language == "en"
    en, es = questions("en"), questions("es")
    assert [q["id"] for q in en] == ["overall", "communication", "waiting", "recommend", "comment"]
    assert en[0]["text"].startswith("Overall") and es[0]["text"].startswith("En general")
    assert (en[3]["min"], en[3]["max"]) == (0, 10) and en[4]["required"] is False
    assert questions("fr") == en
