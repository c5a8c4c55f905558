"""Composition root of the scheduling service."""

from datetime import timedelta

from fastapi import FastAPI

from caremesh_kit.runtime import Runtime
from caremesh_scheduling import api, handlers, store
from caremesh_scheduling.claims import Claims
from caremesh_scheduling.settings import SchedulingSettings
from caremesh_scheduling.usecases import CalendarService, Scheduling
from caremesh_scheduling.usecases.referrals import Referrals
from caremesh_scheduling.usecases.series import SeriesService
from caremesh_scheduling.usecases.waitlist import Waitlist
from caremesh_scheduling.view import CalendarView

SERVICE = "scheduling"


def build(settings: SchedulingSettings | None = None) -> FastAPI:
    settings = settings or SchedulingSettings()
    runtime = Runtime(SERVICE, settings)
    appointments = store.Appointments(runtime)
    templates, locations, service_types = (
        store.templates(runtime),
        store.locations(runtime),
        store.service_types(runtime),
    )
    view = CalendarView(templates, locations, service_types, appointments, settings.calendar_refresh_seconds)
    calendar = CalendarService(
        practitioners=store.practitioners(runtime),
        locations=locations,
        service_types=service_types,
        templates=templates,
        appointments=appointments,
        coverage=store.coverage(runtime),
        view=view,
    )
    scheduling = Scheduling(
        calendar=calendar,
        appointments=appointments,
        claims=Claims(runtime, settings.claim_wait_seconds, settings.orphan_claim_seconds),
        orphan_claim_seconds=settings.orphan_claim_seconds,
        hold=timedelta(seconds=settings.hold_seconds),
        authorization_hold=timedelta(seconds=settings.authorization_hold_seconds),
        no_show_after=timedelta(minutes=settings.no_show_after_minutes),
        sweep_seconds=settings.lifecycle_sweep_seconds,
    )
    runtime.background += [scheduling.orphan_claim_sweeper, view.run, scheduling.lifecycle_sweeper]
    referrals = Referrals(
        runtime,
        scheduling,
        timedelta(seconds=settings.referral_overdue_seconds),
        settings.referral_waitlist_sweep_seconds,
    )
    waitlist = Waitlist(
        runtime, scheduling, timedelta(seconds=settings.offer_hold_seconds), settings.referral_waitlist_sweep_seconds
    )
    runtime.background += [referrals.overdue_sweeper, waitlist.expiry_sweeper]
    waitlist.on_booked.append(referrals.booked_from_waitlist)
    app = runtime.http_app(
        [api.router], scheduling, handlers.subscriptions(scheduling) + handlers.own_events(referrals, waitlist)
    )
    app.state.referrals, app.state.waitlist = referrals, waitlist
    app.state.series = SeriesService(runtime, scheduling)
    return app
