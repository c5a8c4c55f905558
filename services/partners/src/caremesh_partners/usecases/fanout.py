"""From the event log to deliveries: each event, in log order, is learnt from (the relations that
scope later events) and turned into one delivery per subscription that wants it and may see it.

The delivery id is derived from the subscription and the event, so reading an event twice (after
a crash before the cursor moved, a second replica, a backfill overlapping live reading) makes no
second delivery.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from caremesh_contracts import AuthorizationRequired, CoverageChanged, Event, by_type
from caremesh_kit import envelope, logs
from caremesh_kit.clock import Clock
from caremesh_kit.store import Repository
from caremesh_partners.adapters.event_log import EventLog
from caremesh_partners.domain import Delivery, Partner, Subscription, delivery_id, partner_view
from caremesh_partners.store import Cursor, Deliveries, Relations
from caremesh_partners.usecases import observe

log = logs.get("caremesh.partners.fanout")
BACKFILL_MARGIN = timedelta(seconds=30)  # beyond the producers' clock skew


class Fanout:
    def __init__(
        self,
        partners: Repository[Partner],
        subscriptions: Repository[Subscription],
        deliveries: Deliveries,
        relations: Relations,
        cursor: Cursor,
        clock: Clock,
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self.partners, self.subscriptions, self.deliveries = partners, subscriptions, deliveries
        self.relations, self.cursor, self.clock, self.kick = relations, cursor, clock, kick

    async def on_event(self, offset: int, headers: dict[str, Any], body: bytes) -> None:
        """The live path: one event of the log, then the cursor past it."""
        read = _read(headers, body)
        if read is not None:
            cls, env, event = read
            await self._learn(event)
            live = [
                s
                for s in await self._active()
                if s.live_from <= offset and (s.start_time is None or env.time >= s.start_time)
            ]
            made = await self._deliver(cls, env, event, offset, live, replay=False)
            observe.INTAKE_DELAY.set(max((self.clock() - env.time).total_seconds(), 0.0))
            if made:
                self.kick()
        await self.cursor.advance(offset + 1)

    async def backfill(self, log_: EventLog) -> int:
        """Each subscription with a past still to receive (new, or replaying from an offset): read
        it from the log, and mark it done. How many were done."""
        done = 0
        pending = self.subscriptions.collection.find({"backfilled": False, "status": "active"}, {"outbox": 0})
        for sub in [self.subscriptions.loaded(d) async for d in pending]:
            # To the log's end, or to events made well after the request: every event live reading
            # may have read without this subscription (one in flight when it was made too) was in
            # the log before it. A second copy of what live reading delivered is dropped by id.
            stop_after = sub.updated_at + BACKFILL_MARGIN
            start: int | str | datetime = (
                sub.start_offset if sub.start_offset is not None else (sub.start_time or "next")
            )
            async for offset, headers, body in log_.read(start):
                read = _read(headers, body)
                if read is None:
                    continue
                if read[1].time > stop_after:
                    break
                await self._deliver(*read, offset, [sub], replay=sub.replay_existing)
            await self.subscriptions.mutate(sub.id, lambda s: s.backfill_done(self.clock()))
            self.kick()
            done += 1
        return done

    async def _learn(self, event: Event) -> None:
        data = event.model_dump()
        if isinstance(event, CoverageChanged):
            await self.relations.coverage(event.coverage_id, event.patient_id, event.payer_id, event.coverage_version)
        elif isinstance(event, AuthorizationRequired):
            await self.relations.authorization(event.authorization_id, event.coverage_id)
        elif data.get("referral_id") and data.get("referring_organization"):
            await self.relations.referral(data["referral_id"], data["referring_organization"])

    async def _active(self) -> list[Subscription]:
        """Every subscription, those turned off too: their deliveries are made and wait."""
        cursor = self.subscriptions.collection.find({}, {"outbox": 0})
        return [self.subscriptions.loaded(d) async for d in cursor]

    async def _deliver(
        self,
        cls: type[Event],
        env: envelope.Envelope,
        event: Event,
        offset: int,
        subscriptions: list[Subscription],
        replay: bool,
    ) -> int:
        wanted = [s for s in subscriptions if s.terms.wants(cls.routing_key)]
        if not wanted:
            return 0
        body = event.model_dump(mode="json")
        facts = await self.relations.facts(body)
        partners: dict[str, Partner | None] = {}
        now = self.clock()
        made: list[Delivery] = []
        for sub in wanted:
            if sub.partner_id not in partners:
                partners[sub.partner_id] = await self.partners.find(sub.partner_id)
            partner = partners[sub.partner_id]
            shown = partner_view(partner, cls, body, facts) if partner is not None else None
            if shown is None or not all(f.passes(env.subject, shown) for f in sub.terms.filters):
                continue
            key_field = sub.terms.channel.ordering_key
            key = None if key_field is None else str(env.subject if key_field == "subject" else shown.get(key_field))
            # The subject is an aggregate's id: only for a partner whose view carries it anyway.
            subject = env.subject if env.subject in {str(v) for v in shown.values() if v is not None} else None
            made.append(
                Delivery(
                    id=delivery_id(sub.id, env.id),
                    subscription_id=sub.id,
                    partner_id=sub.partner_id,
                    event_id=env.id,
                    event_type=env.type,
                    routing_key=cls.routing_key,
                    offset=offset,
                    event_time=env.time,
                    subject=subject,
                    ordering_key=key,
                    body=shown,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        return await self._store(made, replay)

    async def _store(self, made: list[Delivery], replay: bool) -> int:
        if not made:
            return 0
        ids = [d.id for d in made]
        known = {d["_id"] async for d in self.deliveries.repo.collection.find({"_id": {"$in": ids}}, {"_id": 1})}
        await self.deliveries.repo.add_new([d for d in made if d.id not in known])
        if replay:
            for delivery_id_ in known:
                await self.deliveries.repo.mutate(delivery_id_, lambda d: d.replay(self.clock()))
        observe.DELIVERIES_MADE.inc(len(made) - len(known))
        return len(made)


def _read(headers: dict[str, Any], body: bytes) -> tuple[type[Event], envelope.Envelope, Event] | None:
    """The event, or None for one the gateway cannot read (logged: the log keeps it anyway)."""
    try:
        env = envelope.parse(headers, None)
    except envelope.MalformedEnvelope as exc:
        log.warning("event skipped", extra={"fields": {"reason": str(exc)[:200]}})
        return None
    cls = by_type(env.type)
    if cls is None:
        return None  # a type these contracts do not know (a newer version): no partner view of it
    try:
        return cls, env, cls.model_validate_json(body)
    except ValidationError:
        log.warning("event skipped", extra={"fields": {"reason": "body fails the contract", "type": env.type}})
        return None


async def follow(log_: EventLog, fanout: Fanout, cursor: Cursor) -> None:
    """The live reader: from the cursor for ever; on a first start from the log's beginning, so the
    gateway learns the relations (a coverage's payer) of everything before it."""
    found = await cursor.next()
    start: int | str = "first" if found is None else found
    await log_.follow(start, fanout.on_event)


async def backfills(log_: EventLog, fanout: Fanout) -> None:
    await fanout.backfill(log_)
