"""The reminder scheduler: keeps each appointment's stored reminders in step with what we know of it.

A reminder is a held message (``queued`` with ``not_before``), one per appointment, plan, offset,
recipient and channel, under a deterministic id. The due sweep sends it through the usual claim,
so it survives restarts and goes out once however many replicas sweep. ``sync`` runs after every
appointment event: it cancels the reminders not yet sent that belong to an older plan (or to a
visit that will not happen) and stores the current plan's, which a redelivery finds again.
Before each send, ``gate`` checks once more that the reminder is still of the current plan.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from caremesh_kit import logs
from caremesh_kit.errors import Conflict
from caremesh_kit.store import Repository

from caremesh_notifications.domain import Addressee, Appointment, Message, MessageStatus
from caremesh_notifications.notify import Notice, Notifier, Result
from caremesh_notifications.reminders import ReminderPolicy, plan
from caremesh_notifications.store import Messages

log = logs.get("caremesh.notifications.reminders")
REMINDER, FAMILY_REMINDER = "appointment.reminder", "family.appointment.reminder"
REMINDER_KINDS = {REMINDER, FAMILY_REMINDER}


def reminder_source(appointment_id: str, plan_no: int, offset: str) -> str:
    """A reminder's key (with recipient and channel, its message id): the same plan maps to the same ids."""
    return f"reminder:{appointment_id}:{plan_no}:{offset}"


def parse_source(source: str) -> tuple[str, int] | None:
    """The appointment id and plan number of a reminder's key."""
    head, _, rest = source.partition(":")
    try:
        appointment_id, plan_no, _offset = rest.rsplit(":", 2)
        return (appointment_id, int(plan_no)) if head == "reminder" else None
    except ValueError:
        return None


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Reminders:
    notifier: Notifier
    messages: Messages
    appointments: Repository[Appointment]
    policy: ReminderPolicy
    clock: Callable[[], datetime] = _now

    async def record(self, appointment_id: str, new: Callable[[], Appointment],
                     change: Callable[[Appointment], bool]) -> Appointment:
        """Apply an event to the appointment as known here, creating it if this is the first we hear of it."""
        for _ in range(5):
            if await self.appointments.find(appointment_id) is not None:
                return await self.appointments.mutate(appointment_id, change)
            fresh = new()
            change(fresh)
            try:
                return await self.appointments.add(fresh)
            except Conflict:
                continue  # another consumer created it meanwhile: apply the change to theirs
        raise Conflict("the appointment keeps changing concurrently")

    async def sync(self, appt: Appointment) -> list[Result]:
        """Cancel the stale reminders not yet sent; store (and send, if due) the current plan's."""
        current = reminder_source(appt.id, appt.plan, "") if appt.active else None
        why = "appointment moved" if appt.active else f"appointment {appt.status.value}"
        cancelled = 0
        for doc in await self.messages.queued_for_appointment(appt.id, REMINDER_KINDS):
            if current is None or not str(doc.get("source", "")).startswith(current):
                done = await self.messages.repo.mutate(doc["_id"], lambda m: _cancel_queued(m, why))
                cancelled += done.status is MessageStatus.CANCELLED
        if cancelled:
            logs.info(log, "reminders cancelled", appointment_id=appt.id, count=cancelled, reason=why)
        return await self._plan(appt) if appt.active else []

    async def _plan(self, appt: Appointment) -> list[Result]:
        offsets = self.policy.offsets_for(appt.service_code)
        if not offsets or appt.start is None:
            return []
        base = Notice(source="", kind=REMINDER, family_kind=FAMILY_REMINDER, patient_id=appt.patient_id,
                      appointment_id=appt.id, until=appt.start,
                      facts={"when": appt.start, "reference": appt.id,
                             "practitioner_name": appt.practitioner_name or ""})
        patient, chosen, _ = await self.notifier.addressees(base)
        now = self.clock()
        placed, skipped = [], 0
        for kind, a in chosen:
            planned, left_out = plan(appt.start, offsets, now, _allowed(a))
            skipped += len(left_out)
            for p in planned:
                notice = replace(base, source=reminder_source(appt.id, appt.plan, p.offset), at=p.send_at)
                if (head := await self.notifier.place(notice, kind, patient, a, now)) is not None:
                    placed.append(head)
        if skipped:  # counts only
            logs.info(log, "reminders skipped", appointment_id=appt.id, count=skipped)
        return await self.notifier.deliver(placed)

    async def gate(self, message: Message) -> str | None:
        """Before a reminder goes out: its appointment still happens, at the time it was planned for."""
        if message.template not in REMINDER_KINDS:
            return None
        key = parse_source(message.source)
        appt = await self.appointments.find(key[0]) if key else None
        if appt is None or not appt.active:
            return f"appointment {appt.status.value if appt else 'unknown'}"
        return None if key and key[1] == appt.plan else "appointment moved"


def _allowed(a: Addressee) -> Callable[[datetime], datetime]:
    """The recipient's quiet hours, in their own zone (as the notifier applies them)."""
    prefs, zone = a.prefs, a.recipient.time_zone
    return (lambda t: prefs.next_allowed(t, zone)) if prefs else (lambda t: t)


def _cancel_queued(m: Message, why: str) -> bool:
    # Only a message nobody has claimed: one being sent is past stopping.
    return m.status is MessageStatus.QUEUED and m.cancel(why)
