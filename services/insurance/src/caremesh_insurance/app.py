"""Composition root of the insurance service."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from caremesh_insurance import (
    api,
    authorization_api,
    correspondence_api,
    eligibility_api,
    handlers,
    store,
    worklist_api,
)
from caremesh_insurance.authorization.submission import ManualSubmission, X12ReviewAdapter
from caremesh_insurance.authorizing import Authorizations, Reports
from caremesh_insurance.checking import Eligibility
from caremesh_insurance.correspondence import CorrespondenceLog
from caremesh_insurance.eligibility.adapters import RulesAdapter, X12Adapter, X12Identity
from caremesh_insurance.settings import InsuranceSettings
from caremesh_insurance.usecases import Insurance
from caremesh_insurance.x12 import HttpX12Transport, X12Transport
from caremesh_kit.runtime import Runtime

SERVICE = "insurance"


def _now() -> datetime:
    return datetime.now(UTC)


def build(
    settings: InsuranceSettings | None = None,
    *,
    clock: Callable[[], datetime] = _now,
    transport: X12Transport | None = None,
) -> FastAPI:
    """``clock`` and ``transport`` are for tests (a shifted clock, another transport)."""
    settings = settings or InsuranceSettings()
    runtime = Runtime(SERVICE, settings)
    payers = store.payers(runtime)
    identity = X12Identity(
        sender_id=settings.x12_sender_id,
        provider_name=settings.x12_provider_name,
        provider_npi=settings.x12_provider_npi,
        trace_originator=settings.x12_trace_originator,
        usage=settings.x12_usage,
    )
    transport = transport or HttpX12Transport(settings.x12_timeout_seconds)
    x12 = X12Adapter(transport, identity, clock)
    plans, coverages, checks = store.Plans(runtime), store.Coverages(runtime), store.Checks(runtime)
    authorizations = store.Authorizations(runtime)
    eligibility = Eligibility(
        coverages=coverages,
        plans=plans,
        payers=payers,
        checks=checks,
        adapters={RulesAdapter.name: RulesAdapter(), X12Adapter.name: x12},
        clock=clock,
        days_before=settings.recheck_days_before,
        sweep_seconds=settings.recheck_sweep_seconds,
        lease=timedelta(seconds=settings.recheck_lease_seconds),
    )
    authorizing = Authorizations(
        store=authorizations,
        coverages=coverages,
        plans=plans,
        payers=payers,
        checks=checks,
        adapters={
            ManualSubmission.name: ManualSubmission(),
            X12ReviewAdapter.name: X12ReviewAdapter(transport, identity, clock),
        },
        clock=clock,
        sweep_seconds=settings.authorization_sweep_seconds,
    )
    eligibility.authorize = authorizing.gate
    insurance = Insurance(
        payers=payers,
        plans=plans,
        coverages=coverages,
        eligibility=eligibility,
        clock=clock,
        authorizations=authorizing,
        reports=Reports(authorizations, checks, clock),
        correspondence=CorrespondenceLog(store.Correspondence(runtime), authorizations, coverages, checks, clock),
    )
    runtime.background += [insurance.background, authorizing.sweeper]
    routers = [
        api.router,
        eligibility_api.router,
        authorization_api.router,
        correspondence_api.router,
        worklist_api.router,
    ]
    return runtime.http_app(routers, insurance, handlers.subscriptions(insurance))
