"""Partners and their subscriptions, as an administrator registers and changes them."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from caremesh_kit import context, webhooks
from caremesh_kit.clock import Clock
from caremesh_kit.errors import DomainError, Invalid, NotFound
from caremesh_kit.store import Repository
from caremesh_partners.adapters.broker_admin import BrokerAdmin, BrokerAdminError
from caremesh_partners.domain import Partner, PartnerStatus, PartnerTerms, Start, Subscription, SubscriptionTerms
from caremesh_partners.store import Cursor


class BrokerUnavailable(DomainError):
    status = 503
    title = "Broker unavailable"


@dataclass(frozen=True)
class BrokerCredentials:
    username: str
    password: str
    queue: str


class PartnerAdmin:
    def __init__(
        self,
        partners: Repository[Partner],
        subscriptions: Repository[Subscription],
        cursor: Cursor,
        clock: Clock,
        secret_overlap: timedelta,
        broker: BrokerAdmin,
        namespace: str,
    ) -> None:
        self.partners, self.subscriptions, self.cursor = partners, subscriptions, cursor
        self.clock, self.overlap = clock, secret_overlap
        self.broker, self.namespace = broker, namespace

    async def register(self, terms: PartnerTerms) -> Partner:
        return await self.partners.add(Partner.register(context.new_id(), terms, self.clock()))

    async def partner(self, partner_id: str) -> Partner:
        return await self.partners.get(partner_id)

    async def all_partners(self, limit: int, offset: int) -> list[Partner]:
        cursor = self.partners.collection.find({}, {"outbox": 0}).sort("_id", 1).skip(offset).limit(limit)
        return [self.partners.loaded(d) async for d in cursor]

    async def set_status(self, partner_id: str, status: PartnerStatus) -> Partner:
        return await self.partners.mutate(partner_id, lambda p: p.set_status(status, self.clock()))

    async def subscribe(self, partner_id: str, terms: SubscriptionTerms, start: Start) -> Subscription:
        await self.partners.get(partner_id)  # 404 for a partner that does not exist
        now = self.clock()
        if start.time is not None and start.time > now:
            raise Invalid("a start time must not be in the future", field="start.time")
        found = await self.cursor.next()
        live_from = found or 0
        if found is None and start.now:
            # The gateway has not read the log yet (it starts from its beginning): "now" by time.
            start = Start(time=now)
        if start.offset is not None and start.offset > live_from:
            raise Invalid(f"the event log's next offset is {live_from}", field="start.offset")
        made = Subscription.create(context.new_id(), partner_id, terms, start, webhooks.new_secret(), live_from, now)
        return await self.subscriptions.add(made)

    async def subscription(self, subscription_id: str, partner_id: str | None = None) -> Subscription:
        found = await self.subscriptions.get(subscription_id)
        if partner_id is not None and found.partner_id != partner_id:
            raise NotFound(f"Subscription {subscription_id} not found")
        return found

    async def of_partner(self, partner_id: str) -> list[Subscription]:
        cursor = self.subscriptions.collection.find({"partner_id": partner_id}, {"outbox": 0}).sort("created_at", 1)
        return [self.subscriptions.loaded(d) async for d in cursor]

    async def rotate_secret(self, subscription_id: str) -> Subscription:
        secret = webhooks.new_secret()
        return await self.subscriptions.mutate(
            subscription_id, lambda s: s.rotate_secret(secret, self.overlap, self.clock())
        )

    async def enable(self, subscription_id: str) -> Subscription:
        return await self.subscriptions.mutate(subscription_id, lambda s: s.enable(self.clock()))

    async def disable(self, subscription_id: str) -> Subscription:
        return await self.subscriptions.mutate(subscription_id, lambda s: s.disable(self.clock()))

    async def broker_credentials(self, partner_id: str) -> BrokerCredentials:
        """The partner's own broker user, exchange and queue, made if need be, with a new password
        (shown once: calling again replaces it)."""
        await self.partners.get(partner_id)
        password = secrets.token_urlsafe(24)
        try:
            made = await self.broker.provision(self.namespace, partner_id, password)
        except BrokerAdminError as exc:
            raise BrokerUnavailable(f"the broker could not {exc.action}: try again") from None
        return BrokerCredentials(username=made.user, password=password, queue=made.queue)
