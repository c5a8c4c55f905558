"""What the gateway consumes. Not queues of its own: the whole event log, in order, from its
cursor (``usecases.fanout.follow``), so it can also backfill and replay. Its list of queue
subscriptions is therefore empty."""

from caremesh_kit.bus import Subscription
from caremesh_partners.usecases import UseCases


def subscriptions(uc: UseCases) -> list[Subscription]:
    return []
