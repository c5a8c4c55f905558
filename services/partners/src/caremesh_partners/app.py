"""Composition root of the partner gateway: the one place that builds and wires."""

from datetime import timedelta

from fastapi import FastAPI

from caremesh_kit.bus import settings_ssl_context
from caremesh_kit.clock import Clock, system_clock
from caremesh_kit.runtime import Runtime
from caremesh_partners import handlers, store
from caremesh_partners.adapters.amqp_delivery import AmqpPublisher
from caremesh_partners.adapters.broker_admin import BrokerAdmin
from caremesh_partners.adapters.event_log import EventLog
from caremesh_partners.adapters.partner_queue import PartnerQueues
from caremesh_partners.adapters.webhook import WebhookSender
from caremesh_partners.api import routers
from caremesh_partners.api.policy import POLICY
from caremesh_partners.settings import PartnersSettings
from caremesh_partners.usecases import UseCases
from caremesh_partners.usecases.admin import PartnerAdmin
from caremesh_partners.usecases.dispatch import DeliveryLog, Dispatcher
from caremesh_partners.usecases.fanout import Fanout, backfills, follow

SERVICE = "partners"


def build(
    settings: PartnersSettings | None = None, clock: Clock | None = None, sender: WebhookSender | None = None
) -> FastAPI:
    settings = settings or PartnersSettings()
    runtime = Runtime(SERVICE, settings, clock=clock or system_clock)
    clock = runtime.clock
    partners, subscriptions = store.partners(runtime), store.subscriptions(runtime)
    deliveries, relations, cursor = store.Deliveries(runtime), store.Relations(runtime), store.Cursor(runtime)
    sender = sender or WebhookSender(settings.delivery_timeout_seconds)
    queues = PartnerQueues(
        AmqpPublisher(settings.amqp_url, settings_ssl_context(settings), settings.delivery_timeout_seconds),
        settings.bus_namespace,
    )
    broker_admin = BrokerAdmin(
        settings.broker_management_url, settings.broker_management_username, settings.broker_management_password
    )
    dispatcher = Dispatcher(
        deliveries,
        subscriptions,
        sender,
        queues,
        clock,
        schedule=settings.retry_schedule_seconds,
        disable_after=timedelta(seconds=settings.disable_after_seconds),
        lease=timedelta(seconds=settings.delivery_lease_seconds),
        concurrency=settings.delivery_concurrency,
    )
    fanout = Fanout(partners, subscriptions, deliveries, relations, cursor, clock, kick=dispatcher.kick)
    event_log = EventLog(settings)
    usecases = UseCases(
        admin=PartnerAdmin(
            partners,
            subscriptions,
            cursor,
            clock,
            timedelta(seconds=settings.secret_overlap_seconds),
            broker_admin,
            settings.bus_namespace,
        ),
        deliveries=DeliveryLog(deliveries, subscriptions, clock, dispatcher),
        fanout=fanout,
        dispatcher=dispatcher,
        audit=runtime.audit,
        clock=clock,
        partner_amqp_url=settings.partner_amqp_url,
    )
    runtime.background.append(lambda: follow(event_log, fanout, cursor))
    runtime.background.append(lambda: dispatcher.run(settings.dispatch_scan_seconds))
    runtime.sweep(settings.dispatch_scan_seconds, lambda: backfills(event_log, fanout), "backfills done")
    runtime.on_stop += [sender.close, queues.close, broker_admin.close]
    return runtime.http_app(routers, usecases, handlers.subscriptions(usecases), POLICY)
