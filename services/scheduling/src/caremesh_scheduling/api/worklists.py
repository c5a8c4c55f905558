"""Coordinators' appointment worklists, filtered and paged. They show patient data, so each
records one audited read per patient shown."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from caremesh_kit.audit import CoordinatorAccess
from caremesh_kit.openapi import Limit, Offset
from caremesh_kit.types import CalendarDate
from caremesh_scheduling.api.appointments import AppointmentOut
from caremesh_scheduling.api.deps import Services
from caremesh_scheduling.domain import Appointment

router = APIRouter(tags=["worklists"])


async def _shown(access: CoordinatorAccess, found: list[Appointment]) -> list[AppointmentOut]:
    for pid in dict.fromkeys(a.patient_id for a in found):
        await access.read("Appointment", "*", pid)
    return [AppointmentOut.of(a) for a in found]


@router.get("/worklists/appointments/insurance", response_model=list[AppointmentOut])
async def waiting_on_insurance(
    uc: Services,
    access: CoordinatorAccess,
    practitioner_id: str | None = None,
    location_id: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AppointmentOut]:
    """Pending, waiting on authorization, or booked but flagged ``needs_action``; the soonest first."""
    return await _shown(access, await uc.worklists.waiting_on_insurance(practitioner_id, location_id, offset, limit))


class DaySchedule(BaseModel):
    date: date
    items: list[AppointmentOut]


@router.get("/worklists/appointments/day", response_model=DaySchedule)
async def day_schedule(
    uc: Services,
    access: CoordinatorAccess,
    practitioner_id: str | None = None,
    location_id: str | None = None,
    day: Annotated[CalendarDate | None, Query(alias="date")] = None,
    limit: Limit = 200,
    offset: Offset = 0,
) -> DaySchedule:
    """A day's schedule (today by default) in the location's zone, by practitioner or location,
    in start order. Cancelled, declined and expired appointments are left out."""
    shown_day, found = await uc.worklists.day_schedule(practitioner_id, location_id, day, offset, limit)
    return DaySchedule(date=shown_day, items=await _shown(access, found))


@router.get("/worklists/appointments/no-shows", response_model=list[AppointmentOut])
async def no_shows(
    uc: Services,
    access: CoordinatorAccess,
    days: Annotated[int, Query(ge=1, le=90)] = 7,
    practitioner_id: str | None = None,
    location_id: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AppointmentOut]:
    """No-shows (manual or automatic) of the last ``days`` days to follow up, the latest first."""
    return await _shown(access, await uc.worklists.no_shows(days, practitioner_id, location_id, offset, limit))
