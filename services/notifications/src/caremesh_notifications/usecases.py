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
    PatientMerged,
    PatientRegistered,
)
from caremesh_kit import logs
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, RetryLater, VersionConflict
from caremesh_kit.store import Repository

from caremesh_notifications.domain import (
    Channel,
    Contact,
    Content,
    Message,
    MessageStatus,
    booking_confirmation,
    cancellation_notice,
    decline_notice,
    message_id,
    rebooking_invitation,
)
from caremesh_notifications.store import Messages

log = logs.get("caremesh.notifications")


class EmailChannel(Protocol):
    async def send(self, message: Message) -> str: ...


@dataclass
class Notifications:
    contacts: Repository[Contact]
    messages: Messages
    email: EmailChannel
    # How long a claimed send may take before another consumer may retry it (SMTP timeout and margin).
    send_lease: timedelta = timedelta(seconds=30)

    async def on_patient_registered(self, event: PatientRegistered, env: Envelope) -> None:
        if await self.contacts.find(event.patient_id):
            return
        try:
            await self.contacts.add(Contact.from_registration(event))
        except Conflict:
            pass  # a concurrent redelivery stored it

    async def on_patient_merged(self, event: PatientMerged, env: Envelope) -> None:
        if await self.contacts.find(event.patient_id) is None:
            raise RetryLater("the merged patient's registration has not been seen yet")
        await self.contacts.mutate(event.patient_id, lambda c: c.merge_into(event.merged_into))

    async def on_appointment_booked(self, event: AppointmentBooked, env: Envelope) -> None:
        await self._notify(env, event.patient_id, event.appointment_id, lambda c: booking_confirmation(c, event))

    async def on_appointment_declined(self, event: AppointmentDeclined, env: Envelope) -> None:
        await self._notify(env, event.patient_id, event.appointment_id, lambda c: decline_notice(c, event))

    async def on_appointment_cancelled(self, event: AppointmentCancelled, env: Envelope) -> None:
        await self._notify(env, event.patient_id, event.appointment_id, lambda c: cancellation_notice(c, event))

    async def on_no_show_recorded(self, event: AppointmentNoShowRecorded, env: Envelope) -> None:
        await self._notify(env, event.patient_id, event.appointment_id, lambda c: rebooking_invitation(c, event))

    async def _notify(self, env: Envelope, patient_id: str, appointment_id: str,
                      content: Callable[[Contact], Content]) -> None:
        contact = await self.contacts.find(patient_id)
        if contact is not None and contact.merged_into:
            contact = await self.contacts.find(contact.merged_into)  # the record that stayed
        if contact is None:
            # records' registration event may still be on its way
            raise RetryLater("no contact details for the patient yet")
        if not contact.email:
            logs.info(log, "no channel to reach the patient", patient_ref=patient_id[:8])
            return
        msg_id = message_id(env.id, contact.id, Channel.EMAIL)
        message = await self.messages.repo.find(msg_id)
        if message is None:
            message = Message.compose(msg_id, contact, appointment_id, content(contact), datetime.now(UTC))
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

    async def messages_of(self, patient_id: str, limit: int) -> list[Message]:
        return await self.messages.for_patient(patient_id, limit)
