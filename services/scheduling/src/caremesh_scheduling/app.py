"""Composition root of the scheduling service: the only place that builds and wires."""

from datetime import timedelta

from fastapi import FastAPI

from caremesh_kit.clock import Clock, system_clock
from caremesh_kit.runtime import Runtime
from caremesh_scheduling import api, handlers, store
from caremesh_scheduling.api.policy import POLICY
from caremesh_scheduling.settings import SchedulingSettings
from caremesh_scheduling.usecases import (
    AppointmentChanges,
    AvailabilitySearch,
    Booking,
    CalendarAdmin,
    Housekeeping,
    InsuranceReactions,
    RecurringSeries,
    Referrals,
    UseCases,
    Waitlist,
    Worklists,
)
from caremesh_scheduling.usecases.appointment_book import AppointmentBook
from caremesh_scheduling.usecases.calendar_view import CalendarView

SERVICE = "scheduling"


def build(settings: SchedulingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or SchedulingSettings()
    runtime = Runtime(SERVICE, settings, clock=clock or system_clock)
    clock = runtime.clock

    appointments = store.AppointmentStore(runtime)
    calendar_store = store.CalendarStore(runtime)
    waitlist_store = store.WaitlistStore(runtime)
    claims = store.ClaimStore(runtime, clock, settings.claim_wait_seconds, settings.orphan_claim_seconds)

    view = CalendarView(calendar_store, appointments, clock)
    book = AppointmentBook(appointments, claims, waitlist_store, view, clock, settings.orphan_claim_seconds)
    calendar = CalendarAdmin(calendar_store, appointments, view, clock)
    booking = Booking(calendar, appointments, book, timedelta(seconds=settings.hold_seconds))
    changes = AppointmentChanges(calendar, appointments, book)
    referrals = Referrals(
        store.ReferralStore(runtime),
        appointments,
        calendar,
        booking,
        changes,
        clock,
        timedelta(seconds=settings.referral_overdue_seconds),
    )
    usecases = UseCases(
        calendar=calendar,
        availability=AvailabilitySearch(calendar_store, view, clock),
        booking=booking,
        changes=changes,
        insurance=InsuranceReactions(
            calendar, appointments, book, timedelta(seconds=settings.authorization_hold_seconds)
        ),
        worklists=Worklists(calendar, appointments, clock),
        referrals=referrals,
        waitlist=Waitlist(
            waitlist_store,
            appointments,
            calendar,
            booking,
            book,
            referrals,
            timedelta(seconds=settings.offer_hold_seconds),
        ),
        series=RecurringSeries(store.SeriesStore(runtime), calendar, booking, changes, clock),
        housekeeping=Housekeeping(appointments, book, timedelta(minutes=settings.no_show_after_minutes)),
        audit=runtime.audit,
        offer_link_secret=settings.offer_link_secret,
        clock=clock,
    )

    housekeeping = usecases.housekeeping
    runtime.sweep(settings.orphan_claim_seconds / 2, housekeeping.free_orphan_claims, "freed orphaned claims")
    runtime.sweep(settings.calendar_refresh_seconds, view.refresh, "refreshed the calendar view")
    runtime.sweep(settings.lifecycle_sweep_seconds, housekeeping.lifecycle_sweep, "lifecycle sweep")
    sweep_seconds = settings.referral_waitlist_sweep_seconds
    runtime.sweep(sweep_seconds, usecases.referrals.report_overdue, "reported overdue referrals")
    runtime.sweep(sweep_seconds, usecases.waitlist.lapse_expired, "lapsed expired waitlist offers")
    return runtime.http_app([api.router], usecases, handlers.subscriptions(usecases), POLICY)
