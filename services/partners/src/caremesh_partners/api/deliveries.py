"""A subscription's delivery log, and replay: one delivery, a time range, or everything from an
event-log offset. The log shows what was sent when and how the endpoint answered, never a body."""

from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from caremesh_kit.http import Resource
from caremesh_kit.openapi import Limit, Offset
from caremesh_partners.api.deps import Services
from caremesh_partners.api.partners import SubscriptionOut
from caremesh_partners.domain import Attempt, Delivery, DeliveryStatus

router = APIRouter(tags=["deliveries"])


class DeliveryOut(Resource):
    subscription_id: str
    event_id: str
    event_type: str
    offset: int
    event_time: datetime
    ordering_key: str | None
    status: DeliveryStatus
    attempts: list[Attempt]
    next_attempt_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, d: Delivery) -> "DeliveryOut":
        waiting = d.status is DeliveryStatus.PENDING
        return cls(
            id=d.id,
            version=d.version,
            subscription_id=d.subscription_id,
            event_id=d.event_id,
            event_type=d.event_type,
            offset=d.offset,
            event_time=d.event_time,
            ordering_key=d.ordering_key,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at if waiting else None,
            delivered_at=d.delivered_at,
        )


class ReplayIn(BaseModel):
    """Exactly one of: ``delivery_id``; ``since`` and ``until`` (event times); ``from_offset``."""

    delivery_id: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[^\x00]*$")
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    from_offset: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one(self) -> Self:
        chosen = [
            self.delivery_id is not None,
            self.since is not None or self.until is not None,
            self.from_offset is not None,
        ]
        if sum(chosen) != 1:
            raise ValueError("give exactly one of delivery_id, since and until, or from_offset")
        if (self.since is None) != (self.until is None):
            raise ValueError("give both since and until")
        return self


class ReplayOut(BaseModel):
    replayed: int | None = Field(description="deliveries queued again; none for from_offset, read from the log")
    subscription: SubscriptionOut


@router.get("/subscriptions/{subscription_id}/deliveries", response_model=list[DeliveryOut])
async def deliveries(
    subscription_id: str,
    uc: Services,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    since: Annotated[AwareDatetime | None, Query(description="events from this time")] = None,
    until: Annotated[AwareDatetime | None, Query(description="events before this time")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[DeliveryOut]:
    """Newest event first."""
    found = await uc.deliveries.of_subscription(subscription_id, limit, offset, status, since, until)
    return [DeliveryOut.of(d) for d in found]


@router.get("/subscriptions/{subscription_id}/deliveries/{delivery_id}", response_model=DeliveryOut)
async def delivery(subscription_id: str, delivery_id: str, uc: Services) -> DeliveryOut:
    return DeliveryOut.of(await uc.deliveries.delivery(subscription_id, delivery_id))


@router.post("/subscriptions/{subscription_id}/replay", response_model=ReplayOut)
async def replay(subscription_id: str, body: ReplayIn, uc: Services) -> ReplayOut:
    """Send again, with a fresh retry schedule and the same ``webhook-id`` (a receiver that has
    it already drops it)."""
    count: int | None = None
    if body.delivery_id is not None:
        await uc.deliveries.replay_one(subscription_id, body.delivery_id)
        count = 1
    elif body.since is not None and body.until is not None:
        count = await uc.deliveries.replay_range(subscription_id, body.since, body.until)
    elif body.from_offset is not None:
        await uc.deliveries.replay_from(subscription_id, body.from_offset)
    return ReplayOut(replayed=count, subscription=SubscriptionOut.of(await uc.admin.subscription(subscription_id)))
