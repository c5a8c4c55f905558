"""Composition root of the insurance service: the only place that builds and wires."""

from datetime import timedelta

from fastapi import FastAPI

from caremesh_insurance import api, handlers, store
from caremesh_insurance.adapters.eligibility import RulesAdapter, X12Adapter
from caremesh_insurance.adapters.submission import ManualSubmission, X12ReviewAdapter
from caremesh_insurance.adapters.x12_transport import HttpX12Transport, X12Transport
from caremesh_insurance.api.policy import POLICY
from caremesh_insurance.domain.x12 import X12Identity
from caremesh_insurance.settings import InsuranceSettings
from caremesh_insurance.usecases import (
    CorrespondenceLog,
    CoverageRegistry,
    Eligibility,
    PlanCatalog,
    PriorAuthorizationRequests,
    UseCases,
    Worklists,
)
from caremesh_kit.clock import Clock, system_clock
from caremesh_kit.runtime import Runtime

SERVICE = "insurance"


def build(
    settings: InsuranceSettings | None = None,
    *,
    clock: Clock = system_clock,
    transport: X12Transport | None = None,
) -> FastAPI:
    """``clock`` and ``transport`` are for tests (a shifted clock, another transport)."""
    settings = settings or InsuranceSettings()
    runtime = Runtime(SERVICE, settings, clock=clock)
    clock = runtime.clock
    identity = X12Identity(
        sender_id=settings.x12_sender_id,
        provider_name=settings.x12_provider_name,
        provider_npi=settings.x12_provider_npi,
        trace_originator=settings.x12_trace_originator,
        usage=settings.x12_usage,
    )
    transport = transport or HttpX12Transport(settings.x12_timeout_seconds)
    payers, plans, coverages = store.Payers(runtime), store.Plans(runtime), store.Coverages(runtime)
    checks, authorizations = store.Checks(runtime), store.PriorAuthorizations(runtime)

    prior_authorizations = PriorAuthorizationRequests(
        authorizations,
        coverages,
        plans,
        payers,
        checks,
        adapters={
            ManualSubmission.name: ManualSubmission(),
            X12ReviewAdapter.name: X12ReviewAdapter(transport, identity),
        },
        clock=clock,
    )
    eligibility = Eligibility(
        coverages,
        plans,
        payers,
        checks,
        adapters={RulesAdapter.name: RulesAdapter(), X12Adapter.name: X12Adapter(transport, identity, clock)},
        authorize=prior_authorizations.gate,
        clock=clock,
        days_before=settings.recheck_days_before,
        lease=timedelta(seconds=settings.recheck_lease_seconds),
        relocate=prior_authorizations.appointment_moved,
    )
    catalog = PlanCatalog(payers, plans, coverages, clock)
    usecases = UseCases(
        plans=catalog,
        coverages=CoverageRegistry(payers, plans, coverages, clock),
        eligibility=eligibility,
        authorizations=prior_authorizations,
        worklists=Worklists(authorizations, checks, clock),
        correspondence=CorrespondenceLog(store.Correspondence(runtime), authorizations, coverages, checks, clock),
        clock=clock,
    )
    runtime.sweep(settings.recheck_sweep_seconds, eligibility.sweep_pre_visit, "pre-visit eligibility re-checks")
    # Plan revisions not yet announced to every coverage (a crash midway through an announcement).
    runtime.sweep(settings.recheck_sweep_seconds, catalog.sync_plans, "plan revisions announced")
    runtime.sweep(
        settings.authorization_sweep_seconds, prior_authorizations.review_due, "prior authorizations reviewed"
    )
    return runtime.http_app(api.routers(), usecases, handlers.subscriptions(usecases), POLICY)
