"""The gateway's HTTP API: partners, subscriptions, the delivery log and replay (administrators)."""

from caremesh_partners.api import deliveries, partners

routers = [partners.router, deliveries.router]
