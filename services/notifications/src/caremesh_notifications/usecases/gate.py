"""What is checked before every send: a held message must not outlive a consent withdrawal or an
opt-out, and a reminder must not outlive its visit or its plan."""

from dataclasses import dataclass

from caremesh_kit.store import Repository
from caremesh_notifications.domain import Appointment, FamilyMember, Message, Preferences, opt_out, permitted
from caremesh_notifications.domain.reminders import REMINDER_KINDS, parse_source
from caremesh_notifications.domain.templates import Catalog
from caremesh_notifications.usecases.tasks import concurrently


@dataclass
class SendGate:
    family: Repository[FamilyMember]
    prefs: Repository[Preferences]
    appointments: Repository[Appointment]
    catalog: Catalog

    async def __call__(self, message: Message) -> str | None:
        """Why the message may no longer go out, or None; both checks read at once."""
        consent, visit = await concurrently(self.consent(message), self.visit(message))
        why: str | None = consent or visit
        return why

    async def consent(self, message: Message) -> str | None:
        """The family member's consent and the recipient's opt-outs, as they are now."""
        if message.template not in self.catalog.kinds:
            return None
        rule = self.catalog.kind(message.template).rule_for(message.category)
        if message.recipient_id is None:  # the patient: no consent to check, only their opt-outs
            why = opt_out(rule, await self.prefs.find(message.patient_id))
        else:
            member, prefs = await concurrently(
                self.family.find(message.recipient_id), self.prefs.find(message.recipient_id)
            )
            if member is None:
                return None
            why = permitted(rule, member, prefs)
        return why.value if why else None

    async def visit(self, message: Message) -> str | None:
        """For a reminder: its appointment still happens, at the time it was planned for."""
        if message.template not in REMINDER_KINDS:
            return None
        key = parse_source(message.source)
        appt = await self.appointments.find(key[0]) if key else None
        if appt is None or not appt.active:
            return f"appointment {appt.status.value if appt else 'unknown'}"
        return None if key and key[1] == appt.plan else "appointment moved"
