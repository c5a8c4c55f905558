"""The reminder scheduler: keeps each appointment's stored reminders in step with what we know of it.

A reminder is a held message (``queued`` with ``not_before``), one per appointment, plan, offset,
recipient and channel, under a deterministic id. The due sweep sends it through the usual claim,
so it survives restarts and goes out once however many replicas sweep. After every appointment
event, the handler supersedes the held messages the change made obsolete (reminders of an older plan
among them, see ``domain.superseding``) and ``prepare`` composes the current plan's, which a
redelivery finds again. Both work from one read of the appointment's messages, and the handler stores
the plan with the event's own message in one write.
Before each send, ``SendGate.visit`` checks once more that the reminder is still of the current plan.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from caremesh_kit import logs
from caremesh_kit.clock import Clock
from caremesh_kit.store import Repository
from caremesh_notifications.domain import Addressee, Appointment
from caremesh_notifications.domain.reminders import (
    FAMILY_REMINDER,
    REMINDER,
    ReminderPolicy,
    plan,
    reminder_source,
)
from caremesh_notifications.store import Messages
from caremesh_notifications.usecases.notify import Heads, Household, Notice, Notifier, Prepared

log = logs.get("caremesh.notifications.reminders")


@dataclass
class Reminders:
    notifier: Notifier
    messages: Messages
    appointments: Repository[Appointment]
    policy: ReminderPolicy
    clock: Clock

    async def record(
        self,
        appointment_id: str,
        new: Callable[[], Appointment],
        change: Callable[[Appointment], bool],
        likely_new: bool = False,
    ) -> tuple[Appointment, bool]:
        """Apply an event to the appointment as known here, creating it if this is the first we hear of it;
        and whether it was created just now. ``likely_new``: try creating it first (a booking)."""
        return await self.appointments.add_or_mutate(appointment_id, new, change, likely_new)

    def prepare(self, appt: Appointment, household: Callable[[], Household], heads: Heads) -> Prepared | None:
        """The current plan's reminders: found in ``heads`` (a redelivery), or composed, per recipient
        (the patient, family with consent) and policy offset, out of each one's quiet hours. None when
        the appointment calls for none."""
        offsets = self.policy.offsets_for(appt.service_code)
        if not appt.active or not offsets or appt.start is None:
            return None
        base = Notice(
            source="",
            kind=REMINDER,
            family_kind=FAMILY_REMINDER,
            patient_id=appt.patient_id,
            appointment_id=appt.id,
            plan=appt.plan,
            until=appt.start,
            facts={"when": appt.start, "reference": appt.id, "practitioner_name": appt.practitioner_name or ""},
        )
        people = household()
        chosen, _ = self.notifier.addressees(base, people)
        now = self.clock()
        out, skipped = Prepared(), 0
        for kind, a in chosen:
            planned, left_out = plan(appt.start, offsets, now, _allowed(a))
            skipped += len(left_out)
            for p in planned:
                notice = replace(base, source=reminder_source(appt.id, appt.plan, p.offset), at=p.send_at)
                self.notifier.prepare_for(out, notice, kind, people.patient, a, heads, now)
        if skipped:  # counts only
            logs.info(log, "reminders skipped", appointment_id=appt.id, count=skipped)
        return out


def _allowed(a: Addressee) -> Callable[[datetime], datetime]:
    """The recipient's quiet hours, in their own zone (as the notifier applies them)."""
    prefs, zone = a.prefs, a.recipient.time_zone
    return (lambda t: prefs.next_allowed(t, zone)) if prefs else (lambda t: t)
