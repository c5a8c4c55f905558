"""Notifications use cases."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentNoShowRecorded,
    ConsentChanged,
    PatientMerged,
    PatientRegistered,
    RelatedPersonAdded,
)
from caremesh_kit import logs
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, RetryLater, VersionConflict
from caremesh_kit.store import Repository

from caremesh_notifications.domain import (
    AppointmentEvent,
    Channel,
    Contact,
    Content,
    FamilyMember,
    Message,
    MessageStatus,
    booking_confirmation,
    cancellation_notice,
    decline_notice,
    message_id,
    rebooking_invitation,
    render_for_family,
)
from caremesh_notifications.store import Messages

log = logs.get("caremesh.notifications")
APPOINTMENTS = "appointments"  # the consent category records uses for appointment updates


class EmailChannel(Protocol):
    async def send(self, message: Message) -> str: ...


@dataclass
class Notifications:
    contacts: Repository[Contact]
    family: Repository[FamilyMember]
    messages: Messages
    email: EmailChannel
    # How long a claimed send may take before another consumer may retry it (SMTP timeout and margin).
    send_lease: timedelta = timedelta(seconds=30)

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

    async def on_appointment_booked(self, event: AppointmentBooked, env: Envelope) -> None:
        await self._notify(env, event, lambda c: booking_confirmation(c, event), family="appointment.booked")

    async def on_appointment_declined(self, event: AppointmentDeclined, env: Envelope) -> None:
        await self._notify(env, event, lambda c: decline_notice(c, event))

    async def on_appointment_cancelled(self, event: AppointmentCancelled, env: Envelope) -> None:
        await self._notify(env, event, lambda c: cancellation_notice(c, event), family="appointment.cancelled")

    async def on_no_show_recorded(self, event: AppointmentNoShowRecorded, env: Envelope) -> None:
        await self._notify(env, event, lambda c: rebooking_invitation(c, event))

    async def _notify(self, env: Envelope, event: AppointmentEvent, content: Callable[[Contact], Content],
                      family: str | None = None) -> None:
        """Tell the patient, and the family members whose consent covers appointments."""
        contact = await self.contacts.find(event.patient_id)
        if contact is not None and contact.merged_into:
            contact = await self.contacts.find(contact.merged_into)  # the record that stayed
        if contact is None:
            # records' registration event may still be on its way
            raise RetryLater("no contact details for the patient yet")
        if contact.email:
            await self._deliver(env, contact, event.appointment_id, lambda: content(contact))
        else:
            logs.info(log, "no channel to reach the patient", patient_ref=contact.id[:8])
        if family is None:
            return
        # Consent is read at send time: a withdrawal stops messages at once.
        for member in await self.family_of(contact.id):
            if member.may_receive(APPOINTMENTS) and member.email:
                await self._deliver(env, member, event.appointment_id,
                                    lambda m=member: render_for_family(family, m, contact, event))

    async def _deliver(self, env: Envelope, to: Contact | FamilyMember, appointment_id: str,
                       content: Callable[[], Content]) -> None:
        msg_id = message_id(env.id, to.id, Channel.EMAIL)
        message = await self.messages.repo.find(msg_id)
        if message is None:
            message = Message.compose(msg_id, to, appointment_id, content(), datetime.now(UTC))
            try:
                message = await self.messages.repo.add(message)
            except Conflict:
                message = await self.messages.repo.get(msg_id)
        if message.status is MessageStatus.SENT:
            return  # a redelivery: sent once already
        if not message.claimable(datetime.now(UTC), self.send_lease):
            raise RetryLater("another consumer is sending this message")
        message.claim(datetime.now(UTC))
        try:
            message = await self.messages.repo.save(message)
        except VersionConflict as exc:
            raise RetryLater("another consumer claimed this message") from exc
        provider_id = await self.email.send(message)
        message.mark_sent(provider_id, datetime.now(UTC))
        await self.messages.repo.save(message)

    async def family_of(self, patient_id: str) -> list[FamilyMember]:
        cursor = self.family.collection.find({"patient_id": patient_id})
        return [FamilyMember.from_document(d) async for d in cursor]  # type: ignore[misc]

    async def messages_of(self, patient_id: str, limit: int) -> list[Message]:
        return await self.messages.for_patient(patient_id, limit)
