"""Partners and their subscriptions (administrators)."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from caremesh_contracts.audiences import PartnerKind
from caremesh_kit.http import Resource
from caremesh_kit.openapi import Limit, Offset
from caremesh_partners.api.deps import Services
from caremesh_partners.domain import (
    Channel,
    Filter,
    Partner,
    PartnerStatus,
    PartnerTerms,
    Start,
    Subscription,
    SubscriptionStatus,
    SubscriptionTerms,
)

router = APIRouter(tags=["partners"])


class PartnerOut(Resource):
    name: str
    kind: PartnerKind
    purpose_of_use: str
    payer_id: str | None
    organization: str | None
    status: PartnerStatus
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Partner) -> "PartnerOut":
        return cls(
            id=p.id,
            version=p.version,
            status=p.status,
            created_at=p.created_at,
            updated_at=p.updated_at,
            **p.terms.model_dump(),
        )


class BrokerCredentialsOut(BaseModel):
    """For AMQP subscriptions: the partner connects to ``url`` as ``username`` and consumes
    ``queue``, its own; it may do nothing else on the broker."""

    url: str
    username: str
    password: str = Field(description="shown once; asking again replaces it")
    queue: str


class StatusIn(BaseModel):
    status: PartnerStatus


class SubscriptionIn(SubscriptionTerms):
    start: Start = Field(default_factory=Start, description="now (the default), or an event-log offset or time")


class SubscriptionOut(Resource):
    partner_id: str
    event_types: list[str]
    filters: list[Filter]
    channel: Channel
    description: str | None
    status: SubscriptionStatus
    disabled_reason: str | None
    live_from: int
    backfilled: bool
    failing_since: datetime | None
    failed_deliveries: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Subscription) -> "SubscriptionOut":
        return cls(
            id=s.id,
            version=s.version,
            partner_id=s.partner_id,
            status=s.status,
            disabled_reason=s.disabled_reason,
            live_from=s.live_from,
            backfilled=s.backfilled,
            failing_since=s.failing_since,
            failed_deliveries=s.failed_deliveries,
            created_at=s.created_at,
            updated_at=s.updated_at,
            **s.terms.model_dump(),
        )


class Secrets(BaseModel):
    """Standard Webhooks signing secrets (``whsec_…``), newest first; during a rotation's overlap
    each delivery carries a signature by each."""

    secrets: list[str]


@router.post("/partners", status_code=201, response_model=PartnerOut)
async def register(body: PartnerTerms, uc: Services) -> PartnerOut:
    return PartnerOut.of(await uc.admin.register(body))


@router.get("/partners", response_model=list[PartnerOut])
async def list_partners(uc: Services, limit: Limit = 100, offset: Offset = 0) -> list[PartnerOut]:
    return [PartnerOut.of(p) for p in await uc.admin.all_partners(limit, offset)]


@router.get("/partners/{partner_id}", response_model=PartnerOut)
async def get_partner(partner_id: str, uc: Services) -> PartnerOut:
    return PartnerOut.of(await uc.admin.partner(partner_id))


@router.post("/partners/{partner_id}/status", response_model=PartnerOut)
async def set_status(partner_id: str, body: StatusIn, uc: Services) -> PartnerOut:
    """A suspended partner receives nothing until it is active again (its deliveries are not made)."""
    return PartnerOut.of(await uc.admin.set_status(partner_id, body.status))


@router.post("/partners/{partner_id}/broker-credentials", response_model=BrokerCredentialsOut)
async def broker_credentials(partner_id: str, uc: Services) -> BrokerCredentialsOut:
    """Make (or reset) the partner's broker user, exchange and queue for its AMQP subscriptions."""
    made = await uc.admin.broker_credentials(partner_id)
    return BrokerCredentialsOut(
        url=uc.partner_amqp_url, username=made.username, password=made.password, queue=made.queue
    )


@router.post("/partners/{partner_id}/subscriptions", status_code=201, response_model=SubscriptionOut)
async def subscribe(partner_id: str, body: SubscriptionIn, uc: Services) -> SubscriptionOut:
    terms = SubscriptionTerms.model_validate(body.model_dump(exclude={"start"}))
    return SubscriptionOut.of(await uc.admin.subscribe(partner_id, terms, body.start))


@router.get("/partners/{partner_id}/subscriptions", response_model=list[SubscriptionOut])
async def subscriptions_of(partner_id: str, uc: Services) -> list[SubscriptionOut]:
    await uc.admin.partner(partner_id)
    return [SubscriptionOut.of(s) for s in await uc.admin.of_partner(partner_id)]


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut)
async def get_subscription(subscription_id: str, uc: Services) -> SubscriptionOut:
    return SubscriptionOut.of(await uc.admin.subscription(subscription_id))


@router.get("/subscriptions/{subscription_id}/secret", response_model=Secrets)
async def secret(subscription_id: str, uc: Services) -> Secrets:
    found = await uc.admin.subscription(subscription_id)
    return Secrets(secrets=found.signing_secrets(uc.clock()))


@router.post("/subscriptions/{subscription_id}/secret/rotate", response_model=Secrets)
async def rotate(subscription_id: str, uc: Services) -> Secrets:
    """A new secret; the one it replaces keeps signing beside it for the overlap."""
    rotated = await uc.admin.rotate_secret(subscription_id)
    return Secrets(secrets=rotated.signing_secrets(uc.clock()))


@router.post("/subscriptions/{subscription_id}/enable", response_model=SubscriptionOut)
async def enable(subscription_id: str, uc: Services) -> SubscriptionOut:
    """On again: what waited while it was off is sent, in order."""
    return SubscriptionOut.of(await uc.admin.enable(subscription_id))


@router.post("/subscriptions/{subscription_id}/disable", response_model=SubscriptionOut)
async def disable(subscription_id: str, uc: Services) -> SubscriptionOut:
    """Off: deliveries are still made and wait; nothing is sent until it is enabled."""
    return SubscriptionOut.of(await uc.admin.disable(subscription_id))
