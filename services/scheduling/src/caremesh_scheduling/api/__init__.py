"""Scheduling's HTTP API: the calendar, availability search and appointments."""

from fastapi import APIRouter

from caremesh_scheduling.api import appointments, availability, calendar

router = APIRouter()
for part in (calendar, availability, appointments):
    router.include_router(part.router)
