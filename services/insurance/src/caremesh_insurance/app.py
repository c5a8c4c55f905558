"""Composition root of the insurance service."""

from caremesh_kit.runtime import Runtime
from fastapi import FastAPI

from caremesh_insurance import api, handlers, store
from caremesh_insurance.settings import InsuranceSettings
from caremesh_insurance.usecases import Insurance

SERVICE = "insurance"


def build(settings: InsuranceSettings | None = None) -> FastAPI:
    runtime = Runtime(SERVICE, settings or InsuranceSettings())
    insurance = Insurance(coverages=store.Coverages(runtime), checks=store.checks(runtime))
    return runtime.http_app([api.router], insurance, handlers.subscriptions(insurance))
