"""Composition root of the scheduling service."""

from caremesh_kit.runtime import Runtime
from fastapi import FastAPI

from caremesh_scheduling import api, handlers, store
from caremesh_scheduling.claims import Claims
from caremesh_scheduling.settings import SchedulingSettings
from caremesh_scheduling.usecases import CalendarService, Scheduling
from caremesh_scheduling.view import CalendarView

SERVICE = "scheduling"


def build(settings: SchedulingSettings | None = None) -> FastAPI:
    settings = settings or SchedulingSettings()
    runtime = Runtime(SERVICE, settings)
    appointments = store.Appointments(runtime)
    templates, locations, service_types = store.templates(runtime), store.locations(runtime), store.service_types(runtime)
    view = CalendarView(templates, locations, service_types, appointments, settings.calendar_refresh_seconds)
    calendar = CalendarService(practitioners=store.practitioners(runtime), locations=locations,
                               service_types=service_types, templates=templates, appointments=appointments,
                               coverage=store.coverage(runtime), view=view)
    scheduling = Scheduling(calendar=calendar, appointments=appointments,
                            claims=Claims(runtime, settings.claim_wait_seconds, settings.orphan_claim_seconds),
                            orphan_claim_seconds=settings.orphan_claim_seconds)
    runtime.background += [scheduling.orphan_claim_sweeper, view.run]
    return runtime.http_app([api.router], scheduling, handlers.subscriptions(scheduling))
