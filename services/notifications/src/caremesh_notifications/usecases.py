"""Notifications use cases: events in, messages out; reminders; preferences, delivery reports and previews."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime

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
from jinja2 import TemplateError

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
from caremesh_notifications.notify import Notice, Notifier, Result, settle
from caremesh_notifications.scheduler import Reminders
from caremesh_notifications.store import Messages
from caremesh_notifications.templates import Catalog, UnknownTemplate

AppointmentEvent = (AppointmentBooked | AppointmentDeclined | AppointmentCancelled | AppointmentNoShowRecorded
                    | AppointmentRescheduled | AppointmentFulfilled)


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
        """Before every send: consent and opt-outs, and for a reminder, that its visit still stands."""
        return await self.notifier.gate(message) or await self.reminders.gate(message)

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
        appt = await self._record(event, lambda a: a.book(event))
        results: list[Result] = []
        if not appt.ended:  # a cancellation that overtook the booking wins: no confirmation
            # The latest time we know: a move may have overtaken the booking.
            notice = self._appointment(env, event, "appointment.booked", "family.appointment.booked")
            results += await self.notifier.notify(_at(notice, appt))
        settle(results + await self.reminders.sync(appt))

    async def on_appointment_rescheduled(self, event: AppointmentRescheduled, env: Envelope) -> None:
        appt = await self._record(event, lambda a: a.move(event, env.id, env.time))
        results: list[Result] = []
        if appt.moved_here(env.id):  # not an older move delivered late, nor one after a cancellation
            results += await self.notifier.notify(self._appointment(
                env, event, "appointment.rescheduled", "family.appointment.rescheduled"))
        settle(results + await self.reminders.sync(appt))

    async def on_appointment_declined(self, event: AppointmentDeclined, env: Envelope) -> None:
        await self._ended(event, VisitStatus.DECLINED)
        await self.tell(self._appointment(env, event, "appointment.declined"))

    async def on_appointment_cancelled(self, event: AppointmentCancelled, env: Envelope) -> None:
        await self._ended(event, VisitStatus.CANCELLED)
        await self.tell(self._appointment(env, event, "appointment.cancelled", "family.appointment.cancelled"))

    async def on_no_show_recorded(self, event: AppointmentNoShowRecorded, env: Envelope) -> None:
        await self._ended(event, VisitStatus.NO_SHOW)
        await self.tell(self._appointment(env, event, "appointment.no_show"))

    async def on_appointment_fulfilled(self, event: AppointmentFulfilled, env: Envelope) -> None:
        await self._ended(event, VisitStatus.FULFILLED)
        await self.journey.invite_to_survey(event, env)

    async def _record(self, e: AppointmentEvent, change) -> Appointment:
        return await self.reminders.record(
            e.appointment_id, lambda: Appointment.seen(e.appointment_id, e.patient_id, e.service_code), change)

    async def _ended(self, e: AppointmentEvent, status: VisitStatus) -> None:
        """Final, whatever arrives later; the reminders not yet sent go."""
        settle(await self.reminders.sync(await self._record(e, lambda a: a.end(status, e.start))))

    @staticmethod
    def _appointment(env: Envelope, e: AppointmentEvent, kind: str, family_kind: str | None = None) -> Notice:
        return Notice(source=env.id, kind=kind, patient_id=e.patient_id, facts=appointment_facts(e),
                      appointment_id=e.appointment_id, family_kind=family_kind)

    async def tell(self, notice: Notice) -> None:
        """For an event handler: ack once every message is sent or held, retry, or dead-letter."""
        settle(await self.notifier.notify(notice))

    # -- delivery reports -----------------------------------------------------------------------
    async def delivery_report(self, message_id: str | None, provider_message_id: str, status: str,
                              error_code: str | None) -> Message:
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
            message.id, lambda m: m.report(provider_message_id, status, now, error_code))
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

    async def set_preferences(self, patient_id: str, person_id: str | None, body: PreferencesIn, by: str,
                              version: int | None = None) -> Preferences:
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
    def preview(self, kind: str, channel: Channel, language: str | None, version: int | None,
                variables: dict[str, str] | None) -> Content:
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


def _at(notice: Notice, appt: Appointment) -> Notice:
    """The notice with the appointment's latest known time and practitioner."""
    facts = dict(notice.facts)
    if appt.start is not None:
        facts["when"] = appt.start
    if appt.practitioner_name and "practitioner_name" in facts:
        facts["practitioner_name"] = appt.practitioner_name
    return replace(notice, facts=facts)
