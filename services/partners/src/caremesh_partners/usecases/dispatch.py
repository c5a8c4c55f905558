"""Sending deliveries to partners' endpoints, and the delivery log a partner's administrator reads
and replays from.

A delivery is claimed by a compare-and-set write before its attempt, so two replicas never send
it at once; a claim whose process died lapses after the lease and the delivery is sent again (with
the same ``webhook-id``, which the receiver de-duplicates on). Every attempt's outcome is written
to the delivery, and to its subscription's health: an endpoint failing for the whole window is
turned off, with an operational event.
"""

import asyncio
import contextlib
from collections import defaultdict
from datetime import datetime, timedelta

from caremesh_kit import logs
from caremesh_kit.clock import Clock
from caremesh_kit.errors import Invalid, VersionConflict
from caremesh_kit.store import Repository
from caremesh_partners.adapters.partner_queue import PartnerQueues
from caremesh_partners.adapters.webhook import WebhookSender, attempt
from caremesh_partners.domain import Delivery, DeliveryStatus, Subscription
from caremesh_partners.store import Deliveries
from caremesh_partners.usecases import observe

REPLAY_LIMIT = 10_000
PUT_OFF = timedelta(minutes=1)
log = logs.get("caremesh.partners.dispatch")


class Dispatcher:
    def __init__(
        self,
        deliveries: Deliveries,
        subscriptions: Repository[Subscription],
        sender: WebhookSender,
        queues: PartnerQueues,
        clock: Clock,
        schedule: tuple[float, ...],
        disable_after: timedelta,
        lease: timedelta,
        concurrency: int,
    ) -> None:
        self.deliveries, self.subscriptions, self.clock = deliveries, subscriptions, clock
        self.sender, self.queues = sender, queues
        self.schedule, self.disable_after, self.lease = schedule, disable_after, lease
        self.slots = asyncio.Semaphore(concurrency)
        self.concurrency = concurrency
        self.wake = asyncio.Event()

    def kick(self) -> None:
        """Something became due: look now rather than at the next scan."""
        self.wake.set()

    async def run(self, scan_seconds: float) -> None:
        """For ever: a failed round (the store away, a bug) is logged and the next one tries again."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), scan_seconds)
            self.wake.clear()
            try:
                while await self.send_due() >= self.concurrency:
                    pass  # a full batch: there may be more
            except Exception as exc:  # noqa: BLE001 - the loop must outlive any one round
                log.warning("dispatch round failed", extra={"fields": {"error": type(exc).__name__}})

    async def send_due(self) -> int:
        """Attempt every due delivery whose endpoint is on (in log order per ordering key); how many.
        Deliveries of a subscription that is off, or of a suspended partner, are not fetched at all,
        and one waiting behind an earlier one of its key is put off until that one's next attempt, so
        that what cannot be sent never fills the window of what can."""
        now = self.clock()
        paused = await self.deliveries.paused()
        due = await self.deliveries.due(now, now - self.lease, self.concurrency * 4, paused)
        subs: dict[str, Subscription | None] = {}
        batch: list[tuple[Delivery, Subscription]] = []
        keys_taken: set[tuple[str, str]] = set()
        oldest: dict[str, datetime] = defaultdict(lambda: now)
        for d in due:
            oldest[d.partner_id] = min(oldest[d.partner_id], d.event_time)
            if d.subscription_id not in subs:
                subs[d.subscription_id] = await self.subscriptions.find(d.subscription_id)
            sub = subs[d.subscription_id]
            if sub is None or not sub.active:
                continue
            if d.ordering_key is not None:
                key = (d.subscription_id, d.ordering_key)
                if key in keys_taken:
                    continue  # behind one sent in this round
                blocker = await self.deliveries.earlier_undelivered(d)
                if blocker is not None:
                    await self._put_off(d, blocker, now)
                    continue
                keys_taken.add(key)
            batch.append((d, sub))
        for partner, since in oldest.items():
            observe.OLDEST_WAITING.labels(partner).set((now - since).total_seconds())
        for failed in await asyncio.gather(*(self._attempt(d, sub) for d, sub in batch), return_exceptions=True):
            if isinstance(failed, Exception):
                log.warning("delivery attempt failed", extra={"fields": {"error": type(failed).__name__}})
        return len(batch)

    async def _put_off(self, delivery: Delivery, blocker: Delivery, now: datetime) -> None:
        """Not before the delivery it waits behind is tried again; a minute, if that one has failed
        for good and waits for a replay. Behind one being sent it just waits for the next round."""
        if blocker.status is DeliveryStatus.SENDING:
            return
        waiting = blocker.status is DeliveryStatus.PENDING
        later = max(blocker.next_attempt_at, now) if waiting else now + PUT_OFF
        with contextlib.suppress(VersionConflict):
            await self.deliveries.repo.mutate(delivery.id, lambda d: d.put_off(later), attempts=1, loaded=delivery)

    async def _attempt(self, delivery: Delivery, sub: Subscription) -> None:
        async with self.slots:
            started = self.clock()
            try:
                claimed = await self.deliveries.repo.mutate(
                    delivery.id, lambda d: d.claim(started), attempts=1, loaded=delivery
                )
            except VersionConflict:
                return  # another replica has it
            channel = sub.terms.channel
            if channel.kind == "amqp":
                outcome = await self.queues.send(claimed)
            else:
                outcome = await self.sender.send(
                    channel.url, claimed, sub.signing_secrets(started), started.timestamp()
                )
            tried = attempt(started, outcome)
            done = self.clock()
            await self.deliveries.repo.mutate(
                claimed.id, lambda d: d.record(tried, self.schedule, done), loaded=claimed
            )
            observe.ATTEMPTS.labels(claimed.partner_id, "delivered" if tried.ok else "failed").inc()
            observe.ATTEMPT_LATENCY.labels(claimed.partner_id).observe(tried.latency_ms / 1000)
            if tried.ok:
                observe.DELIVERY_LAG.labels(claimed.partner_id).observe((done - claimed.event_time).total_seconds())
            # The endpoint's health: under many concurrent attempts a lost race skips one count.
            with contextlib.suppress(VersionConflict):
                if tried.ok and (sub.failing_since is not None or sub.failed_deliveries):
                    await self.subscriptions.mutate(sub.id, lambda s: s.delivered(done))
                elif not tried.ok:
                    changed = await self.subscriptions.mutate(
                        sub.id, lambda s: s.failed(started, self.disable_after, done)
                    )
                    if not changed.active:
                        observe.DISABLED.inc()


class DeliveryLog:
    """What a subscription was sent, attempt by attempt, and sending it again."""

    def __init__(
        self, deliveries: Deliveries, subscriptions: Repository[Subscription], clock: Clock, kick: Dispatcher
    ) -> None:
        self.deliveries, self.subscriptions, self.clock, self.dispatcher = deliveries, subscriptions, clock, kick

    async def of_subscription(
        self,
        subscription_id: str,
        limit: int,
        offset: int,
        status: DeliveryStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Delivery]:
        await self.subscriptions.get(subscription_id)
        return await self.deliveries.of_subscription(subscription_id, limit, offset, status, since, until)

    async def delivery(self, subscription_id: str, delivery_id: str) -> Delivery:
        found = await self.deliveries.repo.get(delivery_id)
        if found.subscription_id != subscription_id:
            await self.deliveries.repo.get("")  # the same 404 as an unknown id
        return found

    async def replay_one(self, subscription_id: str, delivery_id: str) -> Delivery:
        await self.delivery(subscription_id, delivery_id)
        replayed = await self.deliveries.repo.mutate(delivery_id, lambda d: d.replay(self.clock()))
        self.dispatcher.kick()
        return replayed

    async def replay_range(self, subscription_id: str, since: datetime, until: datetime) -> int:
        """Every delivery of events from ``since`` to ``until``, again; how many."""
        if until <= since:
            raise Invalid("until must be after since", field="until")
        found = await self.of_subscription(subscription_id, REPLAY_LIMIT + 1, 0, since=since, until=until)
        if len(found) > REPLAY_LIMIT:
            raise Invalid(f"more than {REPLAY_LIMIT} deliveries in that range: replay a shorter one", field="since")
        for d in found:
            await self.deliveries.repo.mutate(d.id, lambda x: x.replay(self.clock()), loaded=d)
        self.dispatcher.kick()
        return len(found)

    async def replay_from(self, subscription_id: str, offset: int) -> Subscription:
        """Everything from this event-log offset on, read from the log again (the backfill sweep)."""
        return await self.subscriptions.mutate(subscription_id, lambda s: s.replay_from(offset, self.clock()))
