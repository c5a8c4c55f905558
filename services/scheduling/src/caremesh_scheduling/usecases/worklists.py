"""Coordinators' appointment worklists: read-only queries (the API audits what they show)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from caremesh_kit.clock import Clock
from caremesh_kit.errors import Invalid
from caremesh_scheduling.domain import Appointment, Status
from caremesh_scheduling.store import AppointmentStore
from caremesh_scheduling.usecases.calendar import CalendarAdmin

# A day's schedule: what holds time or took place; not what was let go.
ON_SCHEDULE = [
    s.value
    for s in (
        Status.PENDING,
        Status.WAITING_ON_AUTHORIZATION,
        Status.BOOKED,
        Status.ARRIVED,
        Status.FULFILLED,
        Status.NO_SHOW,
    )
]


class Worklists:
    def __init__(self, calendar: CalendarAdmin, appointments: AppointmentStore, clock: Clock) -> None:
        self.calendar = calendar
        self.appointments = appointments
        self.clock = clock

    async def waiting_on_insurance(
        self, practitioner_id: str | None, location_id: str | None, offset: int, limit: int
    ) -> list[Appointment]:
        return await self.appointments.waiting_on_insurance(practitioner_id, location_id, offset, limit)

    async def day_schedule(
        self,
        practitioner_id: str | None,
        location_id: str | None,
        day: date | None,
        offset: int,
        limit: int,
    ) -> tuple[date, list[Appointment]]:
        """A day in the location's zone (by practitioner: each visit in its own location's zone;
        ``day`` defaults to today in the location's, else the practitioner's, zone)."""
        if location_id:
            zone = ZoneInfo((await self.calendar.location(location_id)).details.time_zone)
        elif practitioner_id:
            zone = ZoneInfo((await self.calendar.practitioner(practitioner_id)).details.time_zone)
        else:
            raise Invalid("give practitioner_id or location_id", field="practitioner_id")
        day = day or self.clock().astimezone(zone).date()
        # Every zone's version of that day lies within 14 hours of it in UTC.
        start = datetime.combine(day, time(), zone) - timedelta(hours=14)
        found = await self.appointments.between(
            start, start + timedelta(hours=52), practitioner_id, location_id, ON_SCHEDULE
        )
        zones: dict[str, ZoneInfo] = {}
        on_day = []
        for a in found:
            if a.location_id not in zones:
                zones[a.location_id] = (
                    ZoneInfo((await self.calendar.location(a.location_id)).details.time_zone) if a.location_id else zone
                )
            if a.start.astimezone(zones[a.location_id]).date() == day:
                on_day.append(a)
        return day, on_day[offset : offset + limit]

    async def no_shows(
        self, days: int, practitioner_id: str | None, location_id: str | None, offset: int, limit: int
    ) -> list[Appointment]:
        return await self.appointments.no_shows(
            self.clock() - timedelta(days=days), practitioner_id, location_id, offset, limit
        )
