"""Which appointment messages a later change of the appointment makes obsolete. Pure Python: no I/O.

A message about an appointment is checked against the appointment as known here (from scheduling's
events, in whatever order they came) when the change arrives and again before it is sent; a message
no longer true is ``superseded`` instead of sent, naming the event that superseded it.

| message (patient's and family's)      | superseded by                                              |
| ------------------------------------- | ---------------------------------------------------------- |
| booked (confirmation)                 | a move to another time; any ending                         |
| rescheduled                           | a later move; any ending                                   |
| reminder                              | a move to another time (another plan); any ending          |
| cancelled, declined, no-show          | nothing (an ending is final); never told if another ending |
|                                       | took effect instead                                        |
| survey invitation, others             | nothing                                                    |

"Any ending" is a cancellation, a decline, a no-show or the visit taking place. The rule only ever
turns from "stands" to "superseded": an ending is final and the plan only grows, so a decision taken on
an older read of the appointment is still right when applied to the message by compare-and-set.
"""

from caremesh_notifications.domain.appointments import Appointment
from caremesh_notifications.domain.messages import Message, Superseded
from caremesh_notifications.domain.reminders import REMINDER_KINDS, parse_source

CONFIRMATIONS = frozenset({"appointment.booked", "family.appointment.booked"})
MOVES = frozenset({"appointment.rescheduled", "family.appointment.rescheduled"})
ENDINGS = frozenset(
    {"appointment.cancelled", "family.appointment.cancelled", "appointment.declined", "appointment.no_show"}
)
BOUND = CONFIRMATIONS | MOVES | ENDINGS | REMINDER_KINDS  # the kinds an appointment change may supersede


def superseded(message: Message, appt: Appointment | None) -> Superseded | None:
    """Why the message is no longer true of the appointment ``appt`` (as known here), or None."""
    kind = message.template
    if kind not in BOUND:
        return None
    if appt is None:  # every such message is stored after its appointment: only an old reminder's may be gone
        return Superseded(reason="appointment unknown", by=None) if kind in REMINDER_KINDS else None
    if kind in ENDINGS:
        return None if appt.ended_here(message.source) else _ended(appt)
    if appt.ended:
        return _ended(appt)
    if kind in MOVES:
        return (
            None if appt.moved_by == message.source else Superseded(reason="appointment moved again", by=appt.moved_by)
        )
    if kind in REMINDER_KINDS and not appt.active:  # moved back to pending
        return Superseded(reason=f"appointment {appt.status.value}", by=appt.moved_by)
    plan = message.appointment_plan if message.appointment_plan is not None else _plan_of(message)
    if plan is not None and plan != appt.plan:
        return Superseded(reason="appointment moved", by=appt.moved_by)
    return None


def _ended(appt: Appointment) -> Superseded:
    return Superseded(reason=f"appointment {appt.status.value}", by=appt.ended_by)


def _plan_of(message: Message) -> int | None:
    """A reminder's plan from its key, for reminders stored before messages carried their plan."""
    key = parse_source(message.source) if message.template in REMINDER_KINDS else None
    return key[1] if key else None
