"""Composition root of the scheduling service."""

from fastapi import FastAPI

from caremesh_kit.runtime import Runtime
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
    runtime.subscribe(handlers.subscriptions(scheduling))
    runtime.background.append(scheduling.orphan_claim_sweeper)
    app = runtime.http_app([api.router])
    app.state.scheduling = scheduling
    return app
