"""The satisfaction survey after a visit: the invitation, and the survey behind its signed link."""

from dataclasses import dataclass
from datetime import timedelta

from caremesh_contracts import AppointmentFulfilled
from caremesh_kit import links
from caremesh_kit.clock import Clock
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Forbidden
from caremesh_kit.store import Repository
from caremesh_notifications.domain import Answers, Preferences, Survey
from caremesh_notifications.usecases.notify import Notice, Notifier, settle


@dataclass
class Surveys:
    notifier: Notifier
    surveys: Repository[Survey]
    prefs: Repository[Preferences]
    clock: Clock
    public_url: str  # survey links point here
    link_secret: str  # signs survey links; only this service holds it
    days: int  # how long a survey stays open after the visit

    async def invite(self, event: AppointmentFulfilled, env: Envelope) -> None:
        """One survey per visit, open for ``days``; its link is signed and ends with it."""
        now = self.clock()
        expires_at = event.completed_at + timedelta(days=self.days)
        if expires_at <= now:
            return  # heard of too late to ask
        prefs = await self.prefs.find(event.patient_id)
        survey = Survey.after(event, prefs.language if prefs else "en", now, expires_at)
        if not await self.surveys.add_once(survey):
            survey = await self.surveys.get(survey.id)
        url = links.survey_link(self.public_url, self.link_secret, survey.id, survey.expires_at)
        settle(
            await self.notifier.notify(
                Notice(
                    source=env.id,
                    kind="survey.invitation",
                    patient_id=event.patient_id,
                    appointment_id=event.appointment_id,
                    until=survey.expires_at,
                    facts={"when": event.start, "practitioner_name": event.practitioner_name, "survey_url": url},
                )
            )
        )

    async def open(self, survey_id: str, token: str | None) -> Survey:
        """The survey behind a link: 403 for a bad or lapsed link, 404 if it does not exist."""
        if not links.verify_survey(self.link_secret, survey_id, token, self.clock()):
            raise Forbidden("this survey link is not valid, or has expired")
        return await self.surveys.get(survey_id)

    async def answer(self, survey_id: str, token: str | None, answers: Answers) -> Survey:
        """Stored once, with ``notifications.survey.completed`` in the same commit; then 409."""
        await self.open(survey_id, token)
        now = self.clock()
        return await self.surveys.mutate(survey_id, lambda s: s.answer(answers, now))
