"""Composition root of the insurance service."""

from fastapi import FastAPI

from caremesh_insurance import api, handlers, store
from caremesh_insurance.settings import InsuranceSettings
from caremesh_insurance.usecases import Insurance
from caremesh_kit.runtime import Runtime

SERVICE = "insurance"


def build(settings: InsuranceSettings | None = None) -> FastAPI:
    runtime = Runtime(SERVICE, settings or InsuranceSettings())
    insurance = Insurance(coverages=store.Coverages(runtime), checks=store.checks(runtime))
    runtime.subscribe(handlers.subscriptions(insurance))
    app = runtime.http_app([api.router])
    app.state.insurance = insurance
    return app
