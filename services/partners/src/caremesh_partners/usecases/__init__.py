"""The gateway's use cases, as the composition root built them for the API and the background jobs."""

from dataclasses import dataclass

from caremesh_kit.audit import AuditTrail
from caremesh_kit.clock import Clock
from caremesh_partners.usecases.admin import PartnerAdmin
from caremesh_partners.usecases.dispatch import DeliveryLog, Dispatcher
from caremesh_partners.usecases.fanout import Fanout


@dataclass(frozen=True)
class UseCases:
    admin: PartnerAdmin
    deliveries: DeliveryLog
    fanout: Fanout
    dispatcher: Dispatcher
    audit: AuditTrail
    clock: Clock
    partner_amqp_url: str
