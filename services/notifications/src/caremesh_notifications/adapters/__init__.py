"""Notifications' outbound I/O other than the store and the bus: the delivery channels behind one
interface (``email``: SMTP, ``sms``: a Twilio-compatible API, ``webhook``: the patient's app) and the
template files (``templates``)."""

from dataclasses import dataclass
from typing import Protocol

import httpx

from caremesh_notifications.domain import Channel, Message


@dataclass(frozen=True)
class Accepted:
    provider_message_id: str
    provider_status: str | None = None


class ChannelError(Exception):
    """A send that did not go through. ``reason`` holds codes only (it lands on the message and in
    the dead-letter reason). ``permanent``: retrying cannot help (the next channel may).
    ``maybe_sent``: the request may have been acted on (a timeout after sending), so only the send
    lease may free the message, never an immediate retry."""

    def __init__(self, reason: str, *, permanent: bool = False, maybe_sent: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.permanent, self.maybe_sent = reason, permanent, maybe_sent


class Sender(Protocol):
    channel: Channel

    async def send(self, message: Message) -> Accepted: ...


def http_error(channel: str, exc: httpx.HTTPError) -> ChannelError:
    """A transport failure: before the request was written nothing was sent, after it maybe."""
    before = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    return ChannelError(f"{channel}: {type(exc).__name__}", maybe_sent=not before)


def status_error(channel: str, status: int, code: object = None) -> ChannelError:
    """An answer that refused the request: 4xx is final (but 408/429), 5xx may pass on a retry."""
    detail = f"{channel}: http {status}" + (f" code {code}" if code not in (None, "") else "")
    return ChannelError(detail, permanent=400 <= status < 500 and status not in (408, 429))
