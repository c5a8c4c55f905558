"""Operational events of the partner gateway (``partners.*``): for the platform team, not partners."""

from datetime import datetime

from caremesh_contracts.base import Event


class PartnerSubscriptionDisabled(Event):
    """Deliveries to a subscription's endpoint kept failing for the whole failure window, so it
    was turned off; its deliveries wait until someone turns it back on."""

    routing_key = "partners.subscription.disabled"

    subscription_id: str
    partner_id: str
    failing_since: datetime
    failed_deliveries: int
