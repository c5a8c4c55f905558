"""The care team's own messages to a patient and/or their consenting family."""

from dataclasses import dataclass

from caremesh_kit.errors import Invalid, NotFound, RetryLater
from caremesh_notifications.domain import Category, Skip
from caremesh_notifications.usecases.notify import Notice, Notifier, Result

ADHOC, FAMILY_ADHOC = "care_team.message", "family.care_team.message"


@dataclass
class Sent:
    """What a care team member's message became: one message per recipient, and who was left out."""

    id: str
    results: list[Result]
    left_out: dict[Skip, int]


@dataclass
class CareTeamMessages:
    notifier: Notifier

    async def send(
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
