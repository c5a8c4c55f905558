"""Composition root of the scheduling service."""

from caremesh_kit.runtime import Runtime
from fastapi import FastAPI

from caremesh_scheduling import api, handlers, store
from caremesh_scheduling.settings import SchedulingSettings
from caremesh_scheduling.usecases import Scheduling

SERVICE = "scheduling"


def build(settings: SchedulingSettings | None = None) -> FastAPI:
    settings = settings or SchedulingSettings()
    runtime = Runtime(SERVICE, settings)
    scheduling = Scheduling(
        practitioners=store.practitioners(runtime),
        slots=store.Slots(runtime),
        appointments=store.Appointments(runtime),
        claims=store.SlotClaims(runtime),
        orphan_claim_seconds=settings.orphan_claim_seconds,
    )
    runtime.background.append(scheduling.orphan_claim_sweeper)
    return runtime.http_app([api.router], scheduling, handlers.subscriptions(scheduling))
