"""Notifications use cases: events in, messages out; reminders; preferences, delivery reports and previews."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from jinja2 import TemplateError

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
    AppointmentRescheduled,
    ConsentChanged,
    PatientMerged,
    PatientRegistered,
    RelatedPersonAdded,
)
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, Invalid, NotFound, RetryLater
from caremesh_kit.store import Repository
from caremesh_notifications.delivery import Dispatcher
from caremesh_notifications.domain import (
    Appointment,
    Channel,
    Contact,
    Content,
    FamilyMember,
    Message,
    MessageStatus,
    Preferences,
    PreferencesIn,
    Recipient,
    VisitStatus,
)
from caremesh_notifications.journey import Journey
from caremesh_notifications.notify import Heads, Household, Notice, Notifier, settle
from caremesh_notifications.scheduler import Reminders
from caremesh_notifications.store import Messages
from caremesh_notifications.tasks import concurrently, settled
from caremesh_notifications.templates import Catalog, UnknownTemplate

AppointmentEvent = (
    AppointmentBooked
    | AppointmentDeclined
    | AppointmentCancelled
    | AppointmentNoShowRecorded
    | AppointmentRescheduled
    | AppointmentFulfilled
)


def appointment_facts(e: AppointmentEvent) -> dict[str, str | datetime]:
    """What an appointment message may say: the time, the reference and who sees the patient (never
    the service code); each kind's templates use what they declare."""
    facts: dict[str, str | datetime] = {"when": e.start, "reference": e.appointment_id}
    if isinstance(e, AppointmentBooked | AppointmentRescheduled | AppointmentFulfilled):
        facts["practitioner_name"] = e.practitioner_name
    if isinstance(e, AppointmentRescheduled):
        facts["previous_when"] = e.previous_start
    return facts


@dataclass
class Notifications:
    contacts: Repository[Contact]
    family: Repository[FamilyMember]
    prefs: Repository[Preferences]
    messages: Messages
    dispatcher: Dispatcher
    catalog: Catalog
    notifier: Notifier
    reminders: Reminders
    journey: Journey

    def __post_init__(self) -> None:
        self.dispatcher.gate = self.gate

    async def gate(self, message: Message) -> str | None:
        """Before every send: consent and opt-outs, and for a reminder, that its visit still stands
        (read at once)."""
        consent, visit = await concurrently(self.notifier.gate(message), self.reminders.gate(message))
        return consent or visit

    # -- records' events: our own copy of contacts, family and consent ------------------------
    async def on_patient_registered(self, event: PatientRegistered, env: Envelope) -> None:
        await self.contacts.add_once(Contact.from_registration(event))

    async def on_patient_merged(self, event: PatientMerged, env: Envelope) -> None:
        if await self.contacts.find(event.patient_id) is None:
            raise RetryLater("the merged patient's registration has not been seen yet")
        await self.contacts.mutate(event.patient_id, lambda c: c.merge_into(event.merged_into))

    async def on_related_person_added(self, event: RelatedPersonAdded, env: Envelope) -> None:
        await self.family.add_once(FamilyMember.from_event(event))

    async def on_consent_changed(self, event: ConsentChanged, env: Envelope) -> None:
        if await self.family.find(event.related_person_id) is None:
            raise RetryLater("the related person has not been seen yet")
        await self.family.mutate(event.related_person_id, lambda m: m.apply_consent(event))

    # -- scheduling's events: messages, and the appointment as known here (for reminders) ------
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
        await self._on_appointment(event, _end(event, VisitStatus.DECLINED), lambda _: notice, family=False)

    async def on_appointment_cancelled(self, event: AppointmentCancelled, env: Envelope) -> None:
        notice = self._appointment(env, event, "appointment.cancelled", "family.appointment.cancelled")
        await self._on_appointment(event, _end(event, VisitStatus.CANCELLED), lambda _: notice, family=True)

    async def on_no_show_recorded(self, event: AppointmentNoShowRecorded, env: Envelope) -> None:
        notice = self._appointment(env, event, "appointment.no_show")
        await self._on_appointment(event, _end(event, VisitStatus.NO_SHOW), lambda _: notice, family=False)

    async def on_appointment_fulfilled(self, event: AppointmentFulfilled, env: Envelope) -> None:
        await self._on_appointment(event, _end(event, VisitStatus.FULFILLED), lambda _: None, family=None)
        await self.journey.invite_to_survey(event, env)

    async def _on_appointment(
        self,
        e: AppointmentEvent,
        change: Callable[[Appointment], bool],
        notice_for: Callable[[Appointment], Notice | None],
        *,
        family: bool | None,
        likely_new: bool = False,
    ) -> Appointment:
        """An appointment event: the appointment as known here; the reminders of another plan (or of a
        visit that will not take place) cancelled; the event's own message (``notice_for`` the updated
        appointment, if any) and the current plan's reminders stored in one write; the due ones sent.

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
        await self.reminders.cancel_stale(appt, stored)

        def people() -> Household:
            if isinstance(household, Exception):
                raise household
            return household

        heads, prepared = Heads(stored), []
        if (notice := notice_for(appt)) is not None:
            prepared.append(self.notifier.prepare(notice, people(), heads, datetime.now(UTC)))
        if (reminders := self.reminders.prepare(appt, people, heads)) is not None:
            prepared.append(reminders)
        if prepared:
            settle(await self.notifier.deliver((await self.notifier.place(prepared)).messages))
        return appt

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

    async def tell(self, notice: Notice) -> None:
        """For an event handler: ack once every message is sent or held, retry, or dead-letter."""
        settle(await self.notifier.notify(notice))

    # -- delivery reports -----------------------------------------------------------------------
    async def delivery_report(
        self, message_id: str | None, provider_message_id: str, status: str, error_code: str | None
    ) -> Message:
        """An SMS provider's status callback: sent -> delivered, or failed, and then the next channel."""
        message = None
        if message_id:
            message = await self.messages.repo.find(message_id)
        if message is None:
            message = await self.messages.by_provider_id(Channel.SMS, provider_message_id)
        if message is None or message.channel is not Channel.SMS:
            raise NotFound("no SMS message with this id")
        now = datetime.now(UTC)
        probe = message.model_copy(deep=True)
        following = None
        if probe.report(provider_message_id, status, now, error_code) and probe.status is MessageStatus.FAILED:
            # Stored (due now) before the report, so a crash in between still leaves it to the due sweep.
            following = await self.dispatcher.fallback(probe, due=True)
        message = await self.messages.repo.mutate(
            message.id, lambda m: m.report(provider_message_id, status, now, error_code)
        )
        if following is not None:
            self.dispatcher.deliver_soon(following)  # not in this request: the provider waits for our answer
        return message

    # -- preferences ----------------------------------------------------------------------------
    async def recipient(self, patient_id: str, person_id: str | None = None) -> Recipient:
        """The patient, or one of their family members; 404 for anyone else."""
        if person_id is None:
            if (contact := await self.contacts.find(patient_id)) is None:
                raise NotFound("no contact details for this patient yet")
            return contact
        member = await self.family.find(person_id)
        if member is None or member.patient_id != patient_id:
            raise NotFound("no such family member or caregiver for this patient")
        return member

    async def preferences(self, patient_id: str, person_id: str | None = None) -> Preferences:
        r = await self.recipient(patient_id, person_id)
        return await self.prefs.find(r.id) or Preferences.defaults(r.id, patient_id)

    async def set_preferences(
        self, patient_id: str, person_id: str | None, body: PreferencesIn, by: str, version: int | None = None
    ) -> Preferences:
        """Replace a recipient's preferences; with ``version``, only if they are still at that version."""
        r = await self.recipient(patient_id, person_id)
        now = datetime.now(UTC)
        for _ in range(5):
            current = await self.prefs.find(r.id)
            have = current.version if current else 0
            if version is not None and have != version:
                raise Conflict("the preferences changed meanwhile", current_version=have)
            target = current or Preferences.defaults(r.id, patient_id)
            if not target.update(body, by, now):
                return target
            try:
                return await (self.prefs.save(target) if current else self.prefs.add(target))
            except Conflict:
                continue  # a concurrent change: look again (and refuse it if a version was named)
        raise Conflict("the preferences keep changing concurrently")

    async def next_allowed(self, recipient_id: str, at: datetime) -> datetime:
        return await self.notifier.next_allowed(recipient_id, at)

    # -- templates ------------------------------------------------------------------------------
    def preview(
        self, kind: str, channel: Channel, language: str | None, version: int | None, variables: dict[str, str] | None
    ) -> Content:
        """Render a template with its sample data, or with the variables given (checked as at send time)."""
        try:
            spec = self.catalog.kind(kind)
            if variables is None:
                return self.catalog.render_sample(kind, channel, language, version)
            if unknown := sorted(set(variables) - set(spec.variables)):
                raise Invalid(f"unknown variable(s) for {kind}: {', '.join(unknown)}", field="variables")
            return self.catalog.render(kind, channel, variables, language, version)
        except UnknownTemplate as exc:
            raise NotFound(str(exc)) from exc
        except TemplateError as exc:
            raise Invalid(f"the template does not render: {exc.message}", field="variables") from exc

    async def messages_of(self, patient_id: str, limit: int, offset: int = 0) -> list[Message]:
        return await self.messages.for_patient(patient_id, limit, offset)


def _end(e: AppointmentEvent, status: VisitStatus) -> Callable[[Appointment], bool]:
    """Final, whatever arrives later; the reminders not yet sent go."""
    return lambda a: a.end(status, e.start)


def _at(notice: Notice, appt: Appointment) -> Notice:
    """The notice with the appointment's latest known time and practitioner."""
    facts = dict(notice.facts)
    if appt.start is not None:
        facts["when"] = appt.start
    if appt.practitioner_name and "practitioner_name" in facts:
        facts["practitioner_name"] = appt.practitioner_name
    return replace(notice, facts=facts)
