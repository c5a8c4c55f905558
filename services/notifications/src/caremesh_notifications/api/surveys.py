"""The satisfaction survey behind the link in the invitation: the questions, and the answers, once.

Not behind a bearer token: the patient follows a link from their email or phone. The link's signed
token (``caremesh_kit.links``) is the key; a bad or lapsed one is a 403. Each read and answer is audited with
the actor ``survey-link``.
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from caremesh_kit import context
from caremesh_kit.audit import Action, AuditEntry, Purpose
from caremesh_notifications.api.deps import Services
from caremesh_notifications.domain import Answers, Survey
from caremesh_notifications.domain.surveys import questions, wording
from caremesh_notifications.usecases import UseCases

router = APIRouter(tags=["surveys"])
Token = Annotated[str, Query(min_length=1, description="the signed token from the survey link")]
LINK: dict[int | str, dict[str, Any]] = {403: {"description": "the link is invalid or has lapsed"}}
ACTOR = "survey-link"  # the audit trail's actor: whoever holds the patient's link


class SurveyOut(BaseModel):
    id: str
    status: str  # open or completed
    language: str
    expires_at: datetime
    questions: list[dict[str, Any]]  # scales (min, max, labels) and an optional comment


class SurveyAnswered(BaseModel):
    id: str
    status: str
    completed_at: datetime


async def _audit(uc: UseCases, request: Request, action: Action, survey: Survey) -> None:
    route = getattr(request.scope.get("route"), "path", request.url.path)
    await uc.audit.record(
        AuditEntry(
            id=context.new_id(),
            at=uc.clock(),
            service=uc.audit.service,
            actor=ACTOR,
            roles=["patient"],
            action=action,
            resource_type="Survey",
            resource_id=survey.id,
            patient_id=survey.patient_id,
            purpose=Purpose.PATRQT,
            allowed=True,
            route=f"{request.method} {route}",
            correlation_id=context.correlation_id.get(),
        )
    )


@router.get("/surveys/{survey_id}", response_model=SurveyOut, responses=LINK)
async def get_survey(
    survey_id: str,
    token: Token,
    request: Request,
    uc: Services,
    language: Annotated[str | None, Query(max_length=35)] = None,
) -> SurveyOut:
    survey = await uc.surveys.open(survey_id, token)
    await _audit(uc, request, Action.READ, survey)
    lang = wording(language or survey.language)
    return SurveyOut(
        id=survey.id, status=survey.status.value, language=lang, expires_at=survey.expires_at, questions=questions(lang)
    )


@router.post("/surveys/{survey_id}", response_model=SurveyAnswered, status_code=201, responses=LINK)
async def answer_survey(survey_id: str, token: Token, body: Answers, request: Request, uc: Services) -> SurveyAnswered:
    """The answers: every scale question within its range, and an optional comment. Only once (409 after)."""
    survey = await uc.surveys.answer(survey_id, token, body)
    await _audit(uc, request, Action.CREATE, survey)
    return SurveyAnswered(id=survey.id, status=survey.status.value, completed_at=survey.completed_at)
