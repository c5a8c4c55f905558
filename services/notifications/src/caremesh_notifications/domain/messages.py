"""A message on one channel to one recipient, and its life: queued, sending, sent, delivered, failed,
cancelled or superseded."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from caremesh_contracts import MessageSent
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict
from caremesh_notifications.domain.preferences import Category, Channel
from caremesh_notifications.domain.recipients import Recipient, Route, is_patient

_MESSAGE_NS = uuid.UUID("8f8a4c43-5d7e-4a3b-9a77-2c1b8e0d6f10")


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by one consumer; others wait for it or for the lease to lapse
    SENT = "sent"  # the channel accepted it
    DELIVERED = "delivered"  # the provider reported it delivered (SMS status callback)
    FAILED = "failed"
    CANCELLED = "cancelled"  # not sent: consent or an opt-out changed before its time came
    SUPERSEDED = "superseded"  # not sent: a later change of its appointment made it obsolete (``superseded_by``)


# What an SMS provider reports (Twilio's MessageStatus values), mapped onto ours.
PROVIDER_DELIVERED = {"delivered", "read"}
PROVIDER_FAILED = {"failed", "undelivered"}


def message_id(source: str, recipient: str, channel: Channel) -> str:
    """Deterministic per source (e.g. event id), recipient and channel: a redelivery maps to the same message."""
    return str(uuid.uuid5(_MESSAGE_NS, f"{source}|{recipient}|{channel.value}"))


@dataclass(frozen=True)
class Superseded:
    """Why an appointment message no longer goes out: what changed, and the event that changed it
    (None when that event is not known here, e.g. an appointment this service never heard of)."""

    reason: str
    by: str | None


class Content(BaseModel):
    """A rendered template: what the message says, and which template version said it."""

    template: str
    version: int = 1
    language: str = "en"
    subject: str | None = None  # email subject; the notification title for the app
    text: str
    html: str | None = None


class Message(Aggregate):
    source: str = ""  # what caused it (an event id, a reminder id); with recipient and channel, the key
    patient_id: str
    recipient_id: str | None = None  # a family member's id; None when to the patient
    appointment_id: str | None
    # The appointment's reminder plan (its time, as known here) the message was composed for; with the
    # appointment as it is now, it tells whether a later change superseded the message.
    appointment_plan: int | None = None
    channel: Channel
    to: str
    template: str
    template_version: int = 1
    language: str = "en"
    category: Category = Category.APPOINTMENTS
    subject: str | None = None
    text: str
    html: str | None = None
    # The template variables (already shown in the recipient's zone and language) and the routes
    # still to try, so a fallback can be rendered for the next channel without the original event.
    variables: dict[str, str] = Field(default_factory=dict)
    fallbacks: list[Route] = Field(default_factory=list)
    replaces: str | None = None  # the message on another channel this one falls back from
    sent_by: str | None = None  # who wrote it, for a care team member's own message (else the system)
    status: MessageStatus
    created_at: datetime
    not_before: datetime | None = None  # held (quiet hours, a reminder's time); sent by the due sweep
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    provider_message_id: str | None = None
    provider_status: str | None = None
    attempts: int = 0
    last_error: str | None = None
    failure: str | None = None
    superseded_by: str | None = None  # the appointment event that made it obsolete

    @classmethod
    def compose(
        cls,
        msg_id: str,
        to: Recipient,
        appointment_id: str | None,
        content: Content,
        now: datetime,
        *,
        route: Route | None = None,
        source: str = "",
        category: Category = Category.APPOINTMENTS,
        variables: dict[str, str] | None = None,
        fallbacks: list[Route] | None = None,
        not_before: datetime | None = None,
        replaces: str | None = None,
        sent_by: str | None = None,
        appointment_plan: int | None = None,
    ) -> "Message":
        if route is None:  # the patient's email, as before channels had a choice
            if not to.email:
                raise ValueError("contact has no email address")
            route = Route(channel=Channel.EMAIL, to=to.email)
        patient = is_patient(to)
        return cls(
            id=msg_id,
            source=source,
            patient_id=to.patient_id,
            recipient_id=None if patient else to.id,
            appointment_id=appointment_id,
            appointment_plan=appointment_plan,
            channel=route.channel,
            to=route.to,
            template=content.template,
            template_version=content.version,
            language=content.language,
            category=category,
            subject=content.subject,
            text=content.text,
            html=content.html,
            variables=variables or {},
            fallbacks=fallbacks or [],
            replaces=replaces,
            status=MessageStatus.QUEUED,
            created_at=now,
            not_before=not_before,
            sent_by=sent_by,
        )

    @property
    def recipient(self) -> str:
        return self.recipient_id or self.patient_id

    @property
    def done(self) -> bool:
        return self.status in (MessageStatus.SENT, MessageStatus.DELIVERED)

    def due(self, now: datetime) -> bool:
        return self.not_before is None or self.not_before <= now

    def claimable(self, now: datetime, lease: timedelta) -> bool:
        if self.status is MessageStatus.SENDING:
            return self.claimed_at is None or now - self.claimed_at >= lease
        return self.status is MessageStatus.QUEUED and self.due(now)

    def claim(self, now: datetime) -> None:
        """Take the send: saved with compare-and-set, so one consumer of a duplicate pair wins."""
        self.status, self.claimed_at = MessageStatus.SENDING, now
        self.attempts += 1

    def mark_sent(self, provider_message_id: str, now: datetime, provider_status: str | None = None) -> None:
        if self.status is not MessageStatus.SENDING:
            raise Conflict(f"cannot mark a {self.status.value} message as sent")
        early = self.provider_status if self.provider_message_id == provider_message_id else None
        self.status, self.sent_at, self.provider_message_id = MessageStatus.SENT, now, provider_message_id
        self.provider_status = provider_status
        self.last_error = None
        self.raise_event(
            MessageSent(
                message_id=self.id,
                patient_id=self.patient_id,
                appointment_id=self.appointment_id,
                channel=self.channel.value,
                template=self.template,
            )
        )
        if early:  # the provider's status callback came before we recorded the send
            self.report(provider_message_id, early, now)

    def release(self, error: str) -> None:
        """The channel failed and nothing went out: back in the queue for the next attempt."""
        if self.status is MessageStatus.SENDING:
            self.status, self.claimed_at = MessageStatus.QUEUED, None
        self.last_error = error

    def keep_claim(self, error: str) -> None:
        """The outcome is unknown (e.g. a timeout after the request left): only the lease may free it."""
        self.last_error = error

    def fail(self, reason: str, now: datetime) -> None:
        """Give up on this channel; a fallback (if any) is the next message. ``sent_at`` tells a
        refusal while sending from a provider's later report that it was undelivered."""
        if self.status in (
            MessageStatus.FAILED,
            MessageStatus.CANCELLED,
            MessageStatus.SUPERSEDED,
            MessageStatus.DELIVERED,
        ):
            raise Conflict(f"cannot fail a {self.status.value} message")
        self.status, self.failure, self.failed_at, self.claimed_at = MessageStatus.FAILED, reason, now, None

    def cancel(self, reason: str) -> bool:
        """Not to be sent after all (consent withdrawn, opted out, a reminder no longer needed)."""
        if self.status not in (MessageStatus.QUEUED, MessageStatus.SENDING):
            return False
        self.status, self.failure, self.claimed_at = MessageStatus.CANCELLED, reason, None
        return True

    def supersede(self, why: Superseded) -> bool:
        """Not to be sent: its appointment changed since (a cancellation after a held confirmation)."""
        if self.status not in (MessageStatus.QUEUED, MessageStatus.SENDING):
            return False
        self.status, self.failure, self.claimed_at = MessageStatus.SUPERSEDED, why.reason, None
        self.superseded_by = why.by
        return True

    def report(
        self, provider_message_id: str, provider_status: str, now: datetime, error_code: str | None = None
    ) -> bool:
        """A delivery report from the provider (an SMS status callback). Returns False if it changes nothing."""
        if self.provider_message_id not in (None, provider_message_id):
            raise Conflict("the report names another provider message")
        if self.status is MessageStatus.SENDING:  # before our own record of the send: applied by mark_sent
            self.provider_message_id, self.provider_status = provider_message_id, provider_status
            return True
        if self.status is not MessageStatus.SENT:
            return False  # already final: a late or repeated report
        status = provider_status.lower()
        if status in PROVIDER_DELIVERED:
            self.status, self.delivered_at, self.provider_status = MessageStatus.DELIVERED, now, status
        elif status in PROVIDER_FAILED:
            self.provider_status = status
            self.fail(f"provider reported {status}" + (f" (error {error_code})" if error_code else ""), now)
        elif status != self.provider_status:
            self.provider_status = status
        else:
            return False
        return True

    def fallback(self, msg_id: str, content: Content, now: datetime, due: bool = False) -> "Message":
        """The next message of the chain: the same facts, on the next channel this recipient has.
        ``due``: marked due now, so the due sweep retries it if nothing else does (no event to retry)."""
        route, rest = self.fallbacks[0], self.fallbacks[1:]
        data = self.model_dump(
            include={
                "source",
                "patient_id",
                "recipient_id",
                "appointment_id",
                "appointment_plan",
                "category",
                "variables",
                "sent_by",
            }
        )
        return Message(
            id=msg_id,
            channel=route.channel,
            to=route.to,
            template=content.template,
            template_version=content.version,
            language=content.language,
            subject=content.subject,
            text=content.text,
            html=content.html,
            fallbacks=rest,
            replaces=self.id,
            status=MessageStatus.QUEUED,
            created_at=now,
            not_before=now if due else self.not_before,
            **data,
        )
