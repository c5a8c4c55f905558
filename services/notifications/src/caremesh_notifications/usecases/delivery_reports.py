"""Delivery reports: the SMS provider's signed status callbacks, and the fallback they may start."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from caremesh_kit.clock import Clock
from caremesh_kit.errors import NotFound
from caremesh_notifications.adapters.sms import SIGNATURE_HEADER, valid_signature
from caremesh_notifications.domain import Channel, Message, MessageStatus
from caremesh_notifications.store import Messages
from caremesh_notifications.usecases.delivery import Dispatcher


@dataclass(frozen=True)
class SmsCallbacks:
    """What checks a callback: empty values while SMS or its delivery reports are off."""

    provider_url: str
    callback_url: str  # our public URL the provider calls, as we gave it
    account_sid: str
    auth_token: str  # the provider signs callbacks with it


@dataclass
class DeliveryReports:
    messages: Messages
    dispatcher: Dispatcher
    clock: Clock
    sms: SmsCallbacks
    signature_header: ClassVar[str] = SIGNATURE_HEADER  # where the provider's signature comes

    @property
    def configured(self) -> bool:
        return bool(self.sms.provider_url and self.sms.callback_url)

    def authentic(self, query: str, form: Mapping[str, str], signature: str | None) -> bool:
        """Signed by the provider over the URL it called: our public base with the query it carried."""
        url = urlsplit(self.sms.callback_url)._replace(query=query).geturl()
        return valid_signature(self.sms.auth_token, url, form, signature)

    def complete(self, form: Mapping[str, str]) -> bool:
        """Our account, and the fields a report needs."""
        return (
            form.get("AccountSid") == self.sms.account_sid
            and bool(form.get("MessageSid"))
            and bool(form.get("MessageStatus"))
        )

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
        now = self.clock()
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
