"""Contacts, messages and their content. Pure Python: no I/O."""

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentNoShowRecorded,
    ConsentChanged,
    MessageSent,
    PatientRegistered,
    RelatedPersonAdded,
)
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict
from pydantic import BaseModel, Field

AppointmentEvent = AppointmentBooked | AppointmentDeclined | AppointmentCancelled | AppointmentNoShowRecorded
_MESSAGE_NS = uuid.UUID("8f8a4c43-5d7e-4a3b-9a77-2c1b8e0d6f10")


class Contact(Aggregate):
    """Notifications' own copy of a patient's contact details; its id is the patient id."""

    given_name: str
    email: str | None
    phone: str | None
    time_zone: str
    merged_into: str | None = None  # records found this patient to be a duplicate of another

    @classmethod
    def from_registration(cls, e: PatientRegistered) -> "Contact":
        return cls(id=e.patient_id, given_name=e.given_name, email=e.email, phone=e.phone, time_zone=e.time_zone)

    def merge_into(self, patient_id: str) -> bool:
        if self.merged_into == patient_id:
            return False
        self.merged_into = patient_id
        return True


class FamilyMember(Aggregate):
    """A patient's family member or caregiver, and what they may receive; the id is records'."""

    patient_id: str
    given_name: str
    relationship: str
    email: str | None
    phone: str | None
    time_zone: str
    categories: list[str] = Field(default_factory=list)
    consent_changed_at: datetime | None = None

    @classmethod
    def from_event(cls, e: RelatedPersonAdded) -> "FamilyMember":
        return cls(id=e.related_person_id, patient_id=e.patient_id, given_name=e.given_name,
                   relationship=e.relationship, email=e.email, phone=e.phone, time_zone=e.time_zone)

    def apply_consent(self, e: ConsentChanged) -> bool:
        """Later consent wins; an older change delivered late (or twice) changes nothing."""
        if self.consent_changed_at is not None and e.changed_at <= self.consent_changed_at:
            return False
        self.categories, self.consent_changed_at = list(e.categories), e.changed_at
        return True

    def may_receive(self, category: str) -> bool:
        return category in self.categories


class Channel(StrEnum):
    EMAIL = "email"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by one consumer; others wait for it or for the lease to lapse
    SENT = "sent"


class Content(BaseModel):
    template: str
    subject: str
    text: str


def message_id(event_id: str, recipient: str, channel: Channel) -> str:
    """Deterministic per event, recipient and channel: a redelivered event maps to the same message."""
    return str(uuid.uuid5(_MESSAGE_NS, f"{event_id}|{recipient}|{channel.value}"))


def _when(start: datetime, tz: str) -> str:
    local = start.astimezone(ZoneInfo(tz))
    return local.strftime("%A %d %B %Y at %H:%M ") + (local.tzname() or tz)


# Minimum necessary: the time, the clinician and a reference, never the reason for the visit.
TEMPLATES: dict[str, tuple[str, str]] = {
    "appointment.booked": (
        "Your appointment is confirmed",
        "Your appointment with {practitioner_name} is confirmed for {when}."),
    "appointment.declined": (
        "We could not confirm your appointment",
        "We could not confirm your appointment request for {when} because we could not verify your "
        "insurance coverage for it. Your care coordinator will contact you about other options."),
    "appointment.cancelled": (
        "Your appointment has been cancelled",
        "Your appointment on {when} has been cancelled. If you did not ask for this, or would like a new "
        "time, please contact your care coordinator."),
    "appointment.no_show": (
        "We missed you today",
        "We missed you at your appointment on {when}. Your care matters to us: please contact your care "
        "coordinator to book a new time."),
}


def render(template: str, contact: Contact, e: AppointmentEvent) -> Content:
    subject, body = TEMPLATES[template]
    text = body.format(when=_when(e.start, contact.time_zone), **e.model_dump())
    return Content(template=template, subject=subject,
                   text=f"Hello {contact.given_name},\n\n{text}\n\nReference: {e.appointment_id}\n")


# What consenting family members are told: the same facts, about the patient, by first name only.
FAMILY_TEMPLATES: dict[str, tuple[str, str]] = {
    "appointment.booked": (
        "An appointment for {patient_name}",
        "{patient_name}'s appointment with {practitioner_name} is confirmed for {when}."),
    "appointment.cancelled": (
        "An appointment for {patient_name} was cancelled",
        "{patient_name}'s appointment on {when} has been cancelled."),
}


def render_for_family(template: str, member: FamilyMember, patient: Contact, e: AppointmentEvent) -> Content:
    subject, body = FAMILY_TEMPLATES[template]
    fields = e.model_dump() | {"patient_name": patient.given_name, "when": _when(e.start, member.time_zone)}
    return Content(template=f"family.{template}", subject=subject.format(**fields),
                   text=f"Hello {member.given_name},\n\n{body.format(**fields)}\n\nReference: {e.appointment_id}\n")


def booking_confirmation(contact: Contact, e: AppointmentBooked) -> Content:
    return render("appointment.booked", contact, e)


def decline_notice(contact: Contact, e: AppointmentDeclined) -> Content:
    return render("appointment.declined", contact, e)


def cancellation_notice(contact: Contact, e: AppointmentCancelled) -> Content:
    return render("appointment.cancelled", contact, e)


def rebooking_invitation(contact: Contact, e: AppointmentNoShowRecorded) -> Content:
    return render("appointment.no_show", contact, e)


class Message(Aggregate):
    patient_id: str
    recipient_id: str | None = None  # a family member's id; None when to the patient
    appointment_id: str | None
    channel: Channel
    to: str
    template: str
    subject: str
    text: str
    status: MessageStatus
    created_at: datetime
    sent_at: datetime | None = None
    claimed_at: datetime | None = None
    provider_message_id: str | None = None
    attempts: int = 0

    @classmethod
    def compose(cls, msg_id: str, contact: "Contact | FamilyMember", appointment_id: str | None, content: Content,
                now: datetime) -> "Message":
        if not contact.email:
            raise ValueError("contact has no email address")
        family = isinstance(contact, FamilyMember)
        return cls(id=msg_id, patient_id=contact.patient_id if family else contact.id,
                   recipient_id=contact.id if family else None, appointment_id=appointment_id,
                   channel=Channel.EMAIL, to=contact.email, template=content.template, subject=content.subject,
                   text=content.text, status=MessageStatus.QUEUED, created_at=now)

    def claimable(self, now: datetime, lease: timedelta) -> bool:
        if self.status is MessageStatus.SENDING:
            return self.claimed_at is None or now - self.claimed_at >= lease
        return self.status is MessageStatus.QUEUED

    def claim(self, now: datetime) -> None:
        """Take the send: saved with compare-and-set, so one consumer of a duplicate pair wins."""
        self.status, self.claimed_at = MessageStatus.SENDING, now
        self.attempts += 1

    def mark_sent(self, provider_message_id: str, now: datetime) -> None:
        if self.status is not MessageStatus.SENDING:
            raise Conflict(f"cannot mark a {self.status.value} message as sent")
        self.status, self.sent_at, self.provider_message_id = MessageStatus.SENT, now, provider_message_id
        self.raise_event(MessageSent(message_id=self.id, patient_id=self.patient_id,
                                     appointment_id=self.appointment_id, channel=self.channel.value,
                                     template=self.template))
