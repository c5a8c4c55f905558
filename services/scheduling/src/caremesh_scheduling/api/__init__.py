"""Scheduling's HTTP API: the calendar, availability search, appointments, referrals, the waitlist
and recurring series. Every route reaches the use cases through ``Services``."""

from fastapi import APIRouter

from caremesh_scheduling.api import appointments, availability, calendar, referrals, series, waitlist, worklists
from caremesh_scheduling.api.deps import Services

router = APIRouter()
for part in (calendar, availability, appointments, referrals, waitlist, series, worklists):
    router.include_router(part.router)

__all__ = ["Services", "router"]
