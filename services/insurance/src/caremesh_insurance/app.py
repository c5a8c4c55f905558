"""Composition root of the insurance service."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from caremesh_kit.runtime import Runtime
from fastapi import FastAPI

from caremesh_insurance import api, eligibility_api, handlers, store
from caremesh_insurance.checking import Eligibility
from caremesh_insurance.eligibility.adapters import RulesAdapter, X12Adapter, X12Identity
from caremesh_insurance.settings import InsuranceSettings
from caremesh_insurance.usecases import Insurance
from caremesh_insurance.x12 import HttpX12Transport, X12Transport

SERVICE = "insurance"


def _now() -> datetime:
    return datetime.now(UTC)


def build(settings: InsuranceSettings | None = None, *, clock: Callable[[], datetime] = _now,
          transport: X12Transport | None = None) -> FastAPI:
    """``clock`` and ``transport`` are for tests (a shifted clock, another transport)."""
    settings = settings or InsuranceSettings()
    runtime = Runtime(SERVICE, settings)
    payers = store.payers(runtime)
    identity = X12Identity(sender_id=settings.x12_sender_id, provider_name=settings.x12_provider_name,
                           provider_npi=settings.x12_provider_npi, trace_originator=settings.x12_trace_originator,
                           usage=settings.x12_usage)
    x12 = X12Adapter(transport or HttpX12Transport(settings.x12_timeout_seconds), identity, clock)
    plans, coverages = store.Plans(runtime), store.Coverages(runtime)
    eligibility = Eligibility(
        coverages=coverages, plans=plans, payers=payers, checks=store.Checks(runtime),
        adapters={RulesAdapter.name: RulesAdapter(), X12Adapter.name: x12}, clock=clock,
        days_before=settings.recheck_days_before, sweep_seconds=settings.recheck_sweep_seconds,
        lease=timedelta(seconds=settings.recheck_lease_seconds))
    insurance = Insurance(payers=payers, plans=plans, coverages=coverages, eligibility=eligibility, clock=clock)
    runtime.background.append(insurance.background)
    return runtime.http_app([api.router, eligibility_api.router], insurance, handlers.subscriptions(insurance))
