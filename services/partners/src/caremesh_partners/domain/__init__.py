"""The gateway's domain: partners, their subscriptions, deliveries and what a partner may see."""

from caremesh_partners.domain.deliveries import DEFAULT_SCHEDULE, Attempt, Delivery, DeliveryStatus, delivery_id
from caremesh_partners.domain.partners import PURPOSES, Partner, PartnerStatus, PartnerTerms
from caremesh_partners.domain.scope import Facts, partner_view
from caremesh_partners.domain.subscriptions import (
    Amqp,
    Channel,
    Filter,
    Secret,
    Start,
    Subscription,
    SubscriptionStatus,
    SubscriptionTerms,
    Webhook,
)

__all__ = [
    "DEFAULT_SCHEDULE",
    "PURPOSES",
    "Amqp",
    "Attempt",
    "Channel",
    "Delivery",
    "DeliveryStatus",
    "Facts",
    "Filter",
    "Partner",
    "PartnerStatus",
    "PartnerTerms",
    "Secret",
    "Start",
    "Subscription",
    "SubscriptionStatus",
    "SubscriptionTerms",
    "Webhook",
    "delivery_id",
    "partner_view",
]
