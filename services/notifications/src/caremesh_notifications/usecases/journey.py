"""The rest of the patient's journey: waitlist offers, prior-authorization outcomes, the satisfaction
survey after a visit, and the care team's own messages."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from caremesh_contracts import (
    AppointmentFulfilled,
    AuthorizationApproved,
    AuthorizationDenied,
    AuthorizationRequired,
    WaitlistEntryOffered,
)
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Forbidden, Invalid, NotFound, RetryLater
from caremesh_kit.store import Repository
from caremesh_notifications import links
from caremesh_notifications.domain import Answers, Category, Preferences, Skip, Survey
from caremesh_notifications.notify import Notice, Notifier, Result, settle
from caremesh_notifications.settings import NotificationsSettings

ADHOC, FAMILY_ADHOC = "care_team.message", "family.care_team.message"


def _now() -> datetime:
    return datetime.now(UTC)


def _decision(authorization_id: str, outcome: str, *details: str) -> str:
    """A message key per authorization decision (not per event): the same decision maps to the same
    messages however many appointments it concerns."""
    digest = hashlib.sha256("|".join(details).encode()).hexdigest()[:16]
    return f"authorization:{authorization_id}:{outcome}:{digest}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"  # template variables are text


@dataclass
class Sent:
    """What a care team member's message became: one message per recipient, and who was left out."""

    id: str
    results: list[Result]
    left_out: dict[Skip, int]


@dataclass
class Journey:
    notifier: Notifier
    surveys: Repository[Survey]
    prefs: Repository[Preferences]
    settings: NotificationsSettings
    clock: Callable[[], datetime] = _now

    async def tell(self, notice: Notice) -> None:
        settle(await self.notifier.notify(notice))

    # -- waitlist -------------------------------------------------------------------------------
    async def on_waitlist_offered(self, event: WaitlistEntryOffered, env: Envelope) -> None:
        """An offer with accept and decline links to scheduling; nobody is told once it has lapsed."""
        s = self.settings
        urls = links.offer_links(s.scheduling_public_url, s.offer_link_secret, event.offer_id, event.expires_at)
        await self.tell(
            Notice(
                source=env.id,
                kind="waitlist.offer",
                patient_id=event.patient_id,
                until=event.expires_at,
                facts={
                    "when": event.start,
                    "expires": event.expires_at,
                    "practitioner_name": event.practitioner_name,
                    "accept_url": urls[links.OfferAction.ACCEPT],
                    "decline_url": urls[links.OfferAction.DECLINE],
                },
            )
        )

    # -- prior authorizations -------------------------------------------------------------------
    # Insurance raises each decision once per appointment waiting on it: the patient hears of it once.
    # The key is the decision itself, so a later, different decision (an appeal's) is told too.
    async def on_authorization_required(self, event: AuthorizationRequired, env: Envelope) -> None:
        await self.tell(
            Notice(
                source=_decision(event.authorization_id, "required"),
                kind="authorization.required",
                patient_id=event.patient_id,
                facts={"reference": event.authorization_id},
            )
        )

    async def on_authorization_approved(self, event: AuthorizationApproved, env: Envelope) -> None:
        facts = {
            "reference": event.authorization_id,
            "authorization_number": event.authorization_number,
            "units": str(event.approved_units),
            "partial": _yes(event.partial),
            "valid_from": event.valid_from,
            "valid_to": event.valid_to,
        }
        await self.tell(
            Notice(
                source=_decision(event.authorization_id, "approved", *map(str, facts.values())),
                kind="authorization.approved",
                family_kind="family.authorization.approved",
                patient_id=event.patient_id,
                facts=facts,
            )
        )

    async def on_authorization_denied(self, event: AuthorizationDenied, env: Envelope) -> None:
        # The payer's reason is plain language (the contract says so), shown by email only.
        await self.tell(
            Notice(
                source=_decision(
                    event.authorization_id, "denied", event.reason_code, event.reason, str(event.appealable)
                ),
                kind="authorization.denied",
                family_kind="family.authorization.denied",
                patient_id=event.patient_id,
                facts={
                    "reference": event.authorization_id,
                    "reason": event.reason,
                    "appealable": _yes(event.appealable),
                },
            )
        )

    # -- the survey after a visit ---------------------------------------------------------------
    async def invite_to_survey(self, event: AppointmentFulfilled, env: Envelope) -> None:
        """One survey per visit, open for ``survey_days``; its link is signed and ends with it."""
        expires_at = event.completed_at + timedelta(days=self.settings.survey_days)
        if expires_at <= self.clock():
            return  # heard of too late to ask
        prefs = await self.prefs.find(event.patient_id)
        survey = Survey.after(event, prefs.language if prefs else "en", self.clock(), expires_at)
        if not await self.surveys.add_once(survey):
            survey = await self.surveys.get(survey.id)
        url = links.survey_link(
            self.settings.public_url, self.settings.survey_link_secret, survey.id, survey.expires_at
        )
        await self.tell(
            Notice(
                source=env.id,
                kind="survey.invitation",
                patient_id=event.patient_id,
                appointment_id=event.appointment_id,
                until=survey.expires_at,
                facts={"when": event.start, "practitioner_name": event.practitioner_name, "survey_url": url},
            )
        )

    async def open_survey(self, survey_id: str, token: str | None) -> Survey:
        """The survey behind a link: 403 for a bad or lapsed link, 404 if it does not exist."""
        if not links.verify_survey(self.settings.survey_link_secret, survey_id, token, self.clock()):
            raise Forbidden("this survey link is not valid, or has expired")
        return await self.surveys.get(survey_id)

    async def answer_survey(self, survey_id: str, token: str | None, answers: Answers) -> Survey:
        """Stored once, with ``notifications.survey.completed`` in the same commit; then 409."""
        await self.open_survey(survey_id, token)
        now = self.clock()
        return await self.surveys.mutate(survey_id, lambda s: s.answer(answers, now))

    # -- the care team's own messages -----------------------------------------------------------
    async def send_own(
        self,
        patient_id: str,
        source: str,
        *,
        category: Category,
        subject: str,
        text: str,
        short_text: str | None,
        to_patient: bool,
        to_family: bool,
        family_ids: list[str] | None,
        by: str,
    ) -> Sent:
        """A coordinator's message, under a category they choose, so consent and opt-outs apply as for
        any message of it. Held by quiet hours; the due sweep sends it if a channel fails for now."""
        to_family = to_family or bool(family_ids)
        if not (to_patient or to_family):
            raise Invalid("choose the patient, their family, or both", field="to_family")
        if family_ids:
            known = {m.id for m in await self.notifier.family_of(patient_id)}
            if unknown := sorted(set(family_ids) - known):
                raise NotFound(f"not a family member or caregiver of this patient: {', '.join(unknown)}")
        notice = Notice(
            source=source,
            kind=ADHOC,
            family_kind=FAMILY_ADHOC if to_family else None,
            patient_id=patient_id,
            category=category,
            to_patient=to_patient,
            family_ids=frozenset(family_ids) if family_ids else None,
            swept=True,
            sent_by=by,
            facts={"subject": subject, "text": text, "short_text": short_text or ""},
        )
        try:
            planned = await self.notifier.plan(notice)
        except RetryLater as exc:
            raise NotFound("no contact details for this patient yet") from exc
        return Sent(source, await self.notifier.deliver(planned.messages), planned.skipped)
