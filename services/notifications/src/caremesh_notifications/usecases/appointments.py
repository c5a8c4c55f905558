"""Scheduling's events: the appointment as known here, the patient's (and consenting family's)
message about each change, the held messages the change supersedes, and the reminders of the
current plan."""

from collections.abc import Callable
from dataclasses import dataclass, replace

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
    AppointmentRescheduled,
)
from caremesh_kit import logs
from caremesh_kit.clock import Clock
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import RetryLater
from caremesh_notifications.domain import (
    Appointment,
    AppointmentEvent,
    Message,
    MessageStatus,
    Superseded,
    VisitStatus,
    appointment_facts,
)
from caremesh_notifications.domain.superseding import superseded
from caremesh_notifications.store import Messages
from caremesh_notifications.usecases.notify import Heads, Household, Notice, Notifier, Prepared, settle
from caremesh_notifications.usecases.reminders import Reminders
from caremesh_notifications.usecases.surveys import Surveys
from caremesh_notifications.usecases.tasks import concurrently, settled

log = logs.get("caremesh.notifications.appointments")


@dataclass
class AppointmentMessages:
    notifier: Notifier
    reminders: Reminders
    surveys: Surveys
    messages: Messages
    clock: Clock

    async def on_appointment_booked(self, event: AppointmentBooked, env: Envelope) -> None:
        def confirmation(appt: Appointment) -> Notice | None:
            if appt.ended:  # a cancellation that overtook the booking wins: no confirmation
                return None
            # The latest time we know: a move may have overtaken the booking.
            return _at(self._appointment(env, event, "appointment.booked", "family.appointment.booked"), appt)

        await self._on_appointment(event, lambda a: a.book(event), confirmation, family=True, likely_new=True)

    async def on_appointment_rescheduled(self, event: AppointmentRescheduled, env: Envelope) -> None:
        def move(appt: Appointment) -> Notice | None:
            if not appt.moved_here(env.id):  # an older move delivered late, or one after a cancellation
                return None
            return self._appointment(env, event, "appointment.rescheduled", "family.appointment.rescheduled")

        await self._on_appointment(event, lambda a: a.move(event, env.id, env.time), move, family=True)

    async def on_appointment_declined(self, event: AppointmentDeclined, env: Envelope) -> None:
        notice = self._appointment(env, event, "appointment.declined")
        await self._on_appointment(event, _end(event, env, VisitStatus.DECLINED), _told(notice), family=False)

    async def on_appointment_cancelled(self, event: AppointmentCancelled, env: Envelope) -> None:
        notice = self._appointment(env, event, "appointment.cancelled", "family.appointment.cancelled")
        await self._on_appointment(event, _end(event, env, VisitStatus.CANCELLED), _told(notice), family=True)

    async def on_no_show_recorded(self, event: AppointmentNoShowRecorded, env: Envelope) -> None:
        notice = self._appointment(env, event, "appointment.no_show")
        await self._on_appointment(event, _end(event, env, VisitStatus.NO_SHOW), _told(notice), family=False)

    async def on_appointment_fulfilled(self, event: AppointmentFulfilled, env: Envelope) -> None:
        ended = _end(event, env, VisitStatus.FULFILLED)
        await self._on_appointment(event, ended, lambda _: None, family=None)
        await self.surveys.invite(event, env)

    async def _on_appointment(
        self,
        e: AppointmentEvent,
        change: Callable[[Appointment], bool],
        notice_for: Callable[[Appointment], Notice | None],
        *,
        family: bool | None,
        likely_new: bool = False,
    ) -> Appointment:
        """An appointment event: the appointment as known here; the held messages it made obsolete
        superseded (a confirmation after a cancellation, reminders of another plan); the event's own
        message (``notice_for`` the updated appointment, if any) and the current plan's reminders stored
        in one write; the due ones sent.

        Store round trips, for a first booking: the appointment's creation (3) and the recipients
        (contact, family, preferences: 3), at once; one write of the confirmation, already claimed, with
        the reminders, and its materialization (2); the send recorded (2). A redelivery, or any later
        event, also reads the appointment's messages (1) instead of probing message by message.
        ``family``: whether family members may be told (None: nobody is told, nothing to read)."""
        record = self.reminders.record(
            e.appointment_id,
            lambda: Appointment.seen(e.appointment_id, e.patient_id, e.service_code),
            change,
            likely_new=likely_new,
        )
        if family is None:
            appt, created = await record
            household: Household | Exception = RetryLater("no recipients were read")
        else:
            # Independent reads and writes at once; a missing contact matters only if someone is to be told.
            (appt, created), household = await concurrently(
                record, settled(self.notifier.household(e.patient_id, family=family))
            )
        # No message can refer to an appointment created just now: nothing to read about it then.
        stored = [] if created else await self.messages.of_appointment(appt.id)
        await self.supersede_held(appt, stored)

        def people() -> Household:
            if isinstance(household, Exception):
                raise household
            return household

        heads, prepared = Heads(stored), list[Prepared]()
        if (notice := notice_for(appt)) is not None:
            notice = replace(notice, plan=appt.plan)  # what the appointment is now, for the supersede rule
            prepared.append(self.notifier.prepare(notice, people(), heads, self.clock()))
        if (reminders := self.reminders.prepare(appt, people, heads)) is not None:
            prepared.append(reminders)
        if prepared:
            settle(await self.notifier.deliver((await self.notifier.place(prepared)).messages))
        return appt

    async def supersede_held(self, appt: Appointment, stored: list[Message]) -> None:
        """Supersede the appointment's messages not yet sent (among ``stored``, its messages as read
        just now) that the appointment as it is now makes obsolete. Each is one compare-and-set on the
        message; a redelivered or stale event finds nothing left to change."""
        held = [(m, why) for m in stored if m.status is MessageStatus.QUEUED and (why := superseded(m, appt))]
        done = await concurrently(*(self._supersede(m, why) for m, why in held))
        if count := sum(m.status is MessageStatus.SUPERSEDED for m in done):
            logs.info(log, "held messages superseded", appointment_id=appt.id, count=count)

    async def _supersede(self, message: Message, why: Superseded) -> Message:
        # As read: if it changed since (a sweep claimed it), the compare-and-set refuses and it is read
        # again; only a message nobody has claimed is stopped, one being sent is past stopping.
        return await self.messages.repo.mutate(
            message.id, lambda m: m.status is MessageStatus.QUEUED and m.supersede(why), loaded=message
        )

    @staticmethod
    def _appointment(env: Envelope, e: AppointmentEvent, kind: str, family_kind: str | None = None) -> Notice:
        return Notice(
            source=env.id,
            kind=kind,
            patient_id=e.patient_id,
            facts=appointment_facts(e),
            appointment_id=e.appointment_id,
            family_kind=family_kind,
        )


def _end(e: AppointmentEvent, env: Envelope, status: VisitStatus) -> Callable[[Appointment], bool]:
    """Final, whatever arrives later; the messages it supersedes go unsent."""
    return lambda a: a.end(status, e.start, env.id)


def _told(notice: Notice) -> Callable[[Appointment], Notice | None]:
    """An ending's notice, unless another ending took effect first (its notice is the one told)."""
    return lambda a: notice if a.ended_here(notice.source) else None


def _at(notice: Notice, appt: Appointment) -> Notice:
    """The notice with the appointment's latest known time and practitioner."""
    facts = dict(notice.facts)
    if appt.start is not None:
        facts["when"] = appt.start
    if appt.practitioner_name and "practitioner_name" in facts:
        facts["practitioner_name"] = appt.practitioner_name
    return replace(notice, facts=facts)
