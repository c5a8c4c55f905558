"""What is checked before every send: a held message must not outlive a consent withdrawal or an
opt-out, nor a change of its appointment that supersedes it (see ``domain.superseding``)."""

from dataclasses import dataclass

from caremesh_kit.store import Repository
from caremesh_notifications.domain import (
    Appointment,
    FamilyMember,
    Message,
    Preferences,
    Superseded,
    opt_out,
    permitted,
)
from caremesh_notifications.domain.reminders import parse_source
from caremesh_notifications.domain.superseding import BOUND, superseded
from caremesh_notifications.domain.templates import Catalog
from caremesh_notifications.usecases.tasks import concurrently


@dataclass
class SendGate:
    family: Repository[FamilyMember]
    prefs: Repository[Preferences]
    appointments: Repository[Appointment]
    catalog: Catalog

    async def __call__(self, message: Message) -> str | Superseded | None:
        """Why the message may no longer go out, or None; both checks read at once. A superseded
        message says so first: the event that superseded it is the more useful answer."""
        consent, visit = await concurrently(self.consent(message), self.visit(message))
        why: str | Superseded | None = visit or consent
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

    async def visit(self, message: Message) -> Superseded | None:
        """For a message about an appointment: still true of the appointment as it is now."""
        if message.template not in BOUND:
            return None
        key = parse_source(message.source)
        appointment_id = message.appointment_id or (key[0] if key else None)
        appt = await self.appointments.find(appointment_id) if appointment_id else None
        return superseded(message, appt)
