"""Sending a stored message on its channel, exactly once, and falling back along its routes.

Each attempt takes the send lease (a compare-and-set claim), calls the channel and records the
outcome on the message. A message composed to go at once is stored already claimed (its first
commit is the claim), so it costs no separate claim write. A channel that refuses the message for
good, or keeps failing for ``attempts`` tries, fails the message; the next route then gets its own
message, with its own deterministic id, so a redelivered event finds the whole chain where it left it.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from caremesh_kit import logs
from caremesh_kit.clock import Clock
from caremesh_kit.errors import Conflict, VersionConflict
from caremesh_notifications.adapters import Accepted, ChannelError, Sender
from caremesh_notifications.domain import Channel, Message, MessageStatus, Superseded, message_id
from caremesh_notifications.domain.templates import Catalog
from caremesh_notifications.store import Messages

log = logs.get("caremesh.notifications.delivery")


class Outcome(StrEnum):
    SENT = "sent"  # accepted by a channel of the chain (or already delivered)
    HELD = "held"  # waits for its time (quiet hours, a reminder's time); the due sweep sends it
    RETRY = "retry"  # failed for now; try again
    BUSY = "busy"  # another consumer holds the send lease
    FAILED = "failed"  # every route failed; the reasons are on the messages
    CANCELLED = "cancelled"  # consent or preferences no longer allow it
    SUPERSEDED = "superseded"  # a later change of its appointment made it obsolete


# Why a message may no longer go out, or None: checked before each send. A reason (consent withdrawn,
# opted out) cancels it; a ``Superseded`` (its appointment changed since) supersedes it.
Gate = Callable[[Message], Awaitable[str | Superseded | None]]
_STOPPED = (MessageStatus.FAILED, MessageStatus.CANCELLED, MessageStatus.SUPERSEDED)


@dataclass
class Dispatcher:
    messages: Messages
    senders: dict[Channel, Sender]
    catalog: Catalog
    gate: Gate
    clock: Clock
    lease: timedelta = timedelta(seconds=30)
    attempts: int = 3
    sweep_batch: int = 200  # held messages the due sweep loads per query
    sweep_concurrency: int = 32  # sends the due sweep has in flight at once
    _soon: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    @property
    def available(self) -> set[Channel]:
        return set(self.senders)

    async def store(self, message: Message) -> Message:
        """Store a composed message unless a redelivery already did; the stored one wins."""
        if (found := await self.messages.repo.find(message.id)) is not None:
            return found
        try:
            return await self.messages.repo.add(message)
        except Conflict:
            return await self.messages.repo.get(message.id)

    async def store_all(self, messages: list[Message]) -> list[Message]:
        """Store composed messages the caller found absent, in one write; where a redelivery stored one
        first, that one wins."""
        return await self.messages.add_new(messages)

    async def deliver(
        self, message: Message, permitted: bool = False, claimed: bool = False
    ) -> tuple[Outcome, Message]:
        """Send the message, or the next of its chain after a failure; the outcome and the last message.
        ``permitted``: consent and preferences were checked just now (a message composed this moment).
        ``claimed``: this consumer stored it claimed just now, so it holds the send lease already."""
        while True:
            outcome, message = await self._attempt(message, permitted, claimed)
            permitted = claimed = False
            if outcome is not Outcome.FAILED:
                return outcome, message
            if (following := await self.fallback(message)) is None:
                return Outcome.FAILED, message
            message = following

    async def fallback(self, failed: Message, due: bool = False) -> Message | None:
        """The message on the next route, rendered from the stored variables; None at the end of the chain."""
        if not failed.fallbacks:
            return None
        route = failed.fallbacks[0]
        next_id = message_id(failed.source or failed.id, failed.recipient, route.channel)
        if (found := await self.messages.repo.find(next_id)) is not None:
            return found
        content = self.catalog.render(failed.template, route.channel, failed.variables, failed.language)
        logs.info(log, "falling back to another channel", message_id=failed.id, channel=route.channel.value)
        return await self.store(failed.fallback(next_id, content, self.clock(), due))

    async def _attempt(self, message: Message, permitted: bool, claimed: bool = False) -> tuple[Outcome, Message]:
        if not claimed:
            now = self.clock()
            if message.done:
                return Outcome.SENT, message
            if message.status in _STOPPED:
                return Outcome(message.status.value), message
            if not message.due(now):
                return Outcome.HELD, message
            if not message.claimable(now, self.lease):
                return Outcome.BUSY, message
            if not permitted and (why := await self.gate(message)) is not None:
                # Only while nobody else took the send meanwhile: one being sent is past stopping.
                message = await self.messages.repo.mutate(
                    message.id, lambda m: m.claimable(now, self.lease) and _stop(m, why), loaded=message
                )
                stopped = message.status in (MessageStatus.CANCELLED, MessageStatus.SUPERSEDED)
                return (Outcome(message.status.value) if stopped else Outcome.BUSY), message
        sender = self.senders.get(message.channel)
        if sender is None:  # configured when the chain was planned, not now
            reason = f"{message.channel.value}: not configured"
            return Outcome.FAILED, await self._change(message, lambda m: m.fail(reason, self.clock()))
        if not claimed:
            message.claim(now)
            try:
                message = await self.messages.repo.save(message)
            except VersionConflict:
                return Outcome.BUSY, message
        try:
            accepted = await sender.send(message)
        except ChannelError as exc:
            return await self._failed(message, exc)
        message = await self._sent(message, accepted)
        # A provider's failure report that overtook our record of the send is applied with it.
        return (Outcome.FAILED if message.status is MessageStatus.FAILED else Outcome.SENT), message

    async def _failed(self, message: Message, exc: ChannelError) -> tuple[Outcome, Message]:
        exhausted = message.attempts >= self.attempts
        logs.info(
            log,
            "send failed",
            message_id=message.id,
            channel=message.channel.value,
            error=exc.reason,
            attempt=message.attempts,
            permanent=exc.permanent,
        )
        if exc.permanent or exhausted:
            reason = exc.reason if exc.permanent else f"{exc.reason} (gave up after {message.attempts} attempts)"
            return Outcome.FAILED, await self._change(message, lambda m: m.fail(reason, self.clock()))
        if exc.maybe_sent:
            return Outcome.RETRY, await self._change(message, lambda m: m.keep_claim(exc.reason))
        return Outcome.RETRY, await self._change(message, lambda m: m.release(exc.reason))

    async def _sent(self, message: Message, accepted: Accepted) -> Message:
        def sent(m: Message) -> None:
            m.mark_sent(accepted.provider_message_id, self.clock(), accepted.provider_status)

        # Our claim is the version we hold: recorded on it without reading it again. If anything was
        # committed since (a provider's report that overtook us), the compare-and-set refuses, and the
        # retry applies the send to what is there now.
        try:
            return await self.messages.repo.mutate(message.id, sent, loaded=message)
        except Conflict:
            fresh = await self.messages.repo.get(message.id)
            if fresh.done:  # recorded meanwhile by a consumer that took over after the lease
                return fresh
            raise

    async def _change(self, message: Message, change: Callable[[Message], object]) -> Message:
        # mutate reloads, so a status callback committed meanwhile is kept.
        return await self.messages.repo.mutate(message.id, change)

    # -- held messages ------------------------------------------------------------------------
    async def send_due(self, now: datetime | None = None) -> int:
        """Send held messages whose time has come; returns how many went out. Safe on every replica:
        the claim lets one of them send each message.

        Loads them ``sweep_batch`` at a time and sends up to ``sweep_concurrency`` at once, until none is
        left that this sweep has not tried (a message that failed for now waits for the next sweep)."""
        now = now or self.clock()
        sent, tried = 0, set[str]()
        while due := await self.messages.due(now, self.lease, self.sweep_batch, exclude=tried):
            tried.update(m.id for m in due)
            sent += await self._deliver_all(due)
            if len(due) < self.sweep_batch:  # neither query was cut short by the limit
                break
        return sent

    async def _deliver_all(self, messages: list[Message]) -> int:
        """Deliver concurrently, at most ``sweep_concurrency`` at a time; how many went out. One
        message's failure does not stop the others (the next sweep tries it again)."""
        slots = asyncio.Semaphore(self.sweep_concurrency)

        async def one(message: Message) -> Outcome:
            async with slots:
                return (await self.deliver(message))[0]

        outcomes = await asyncio.gather(*(one(m) for m in messages), return_exceptions=True)
        if errors := [o for o in outcomes if isinstance(o, BaseException)]:
            logs.info(log, "due sends failed", count=len(errors), error=type(errors[0]).__name__)
        return sum(o is Outcome.SENT for o in outcomes)

    def deliver_soon(self, message: Message) -> None:
        """Send without waiting for it; a message marked due is retried by the due sweep if this fails."""
        task = asyncio.create_task(self._deliver_logged(message))
        self._soon.add(task)
        task.add_done_callback(self._soon.discard)

    async def _deliver_logged(self, message: Message) -> None:
        try:
            await self.deliver(message)
        except Exception as exc:  # noqa: BLE001 - the due sweep tries again
            logs.info(log, "background send failed", message_id=message.id, error=type(exc).__name__)

    def cancel_in_flight(self) -> None:
        """On stop: sends started by ``deliver_soon`` are dropped; the due sweep retries them."""
        for task in list(self._soon):
            task.cancel()


def _stop(message: Message, why: str | Superseded) -> bool:
    return message.supersede(why) if isinstance(why, Superseded) else message.cancel(why)
