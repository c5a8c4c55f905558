"""Availability search: free slots derived from the templates."""

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from caremesh_kit.audit import PatientAccess
from caremesh_kit.errors import Invalid
from caremesh_kit.openapi import limit_query
from caremesh_kit.types import CalendarDate, WallClockTime
from caremesh_scheduling.api.deps import Services
from caremesh_scheduling.domain import KnownCoverage, Slot, decode_cursor
from caremesh_scheduling.domain import Query as Search

router = APIRouter(tags=["availability"])

MAX_DAYS = 92


class SlotOut(BaseModel):
    slot_id: str = Field(description="book it with POST /appointments {patient_id, slot_id}")
    practitioner_id: str
    location_id: str
    room: str
    service_type_id: str
    service_code: str
    start: datetime
    end: datetime
    local_start: datetime = Field(description="the start in the location's zone, with its UTC offset")
    time_zone: str

    @staticmethod
    def of(s: Slot) -> dict[str, Any]:
        """A slot's fields (a page's are validated in one go, as ``AvailabilityOut``'s items)."""
        return {
            "slot_id": s.id,
            "practitioner_id": s.practitioner_id,
            "location_id": s.location_id,
            "room": s.room,
            "service_type_id": s.service_type_id,
            "service_code": s.service_code,
            "start": s.start,
            "end": s.end,
            "local_start": s.start.astimezone(ZoneInfo(s.time_zone)),
            "time_zone": s.time_zone,
        }


class CoverageOut(BaseModel):
    patient_id: str
    coverages: list[KnownCoverage] = Field(description="as learned from insurance's events")


class AvailabilityOut(BaseModel):
    items: list[SlotOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last")
    coverage: CoverageOut | None = Field(description="with patient_id: the coverage the results are filtered by")


@router.get("/availability", response_model=AvailabilityOut)
async def availability(
    uc: Services,
    access: PatientAccess,
    service_type_id: str | None = None,
    practitioner_id: str | None = None,
    location_id: str | None = None,
    from_date: Annotated[
        CalendarDate | None, Query(alias="from", description="local date; default yesterday (UTC)")
    ] = None,
    to_date: Annotated[
        CalendarDate | None, Query(alias="to", description="local date, inclusive; default from + 14")
    ] = None,
    time_from: Annotated[WallClockTime | None, Query(description="local time the slot starts at or after")] = None,
    time_to: Annotated[WallClockTime | None, Query(description="local time the slot ends at or before")] = None,
    patient_id: Annotated[
        str | None, Query(description="only what their coverage allows and they are free for")
    ] = None,
    limit: Annotated[int, limit_query(200)] = 20,
    cursor: str | None = None,
) -> AvailabilityOut:
    """Free slots in start order. Dates and times are the location's wall-clock time."""
    start = from_date or uc.clock().date() - timedelta(days=1)
    end = to_date or start + timedelta(days=14)
    if end < start:
        raise Invalid("to is before from", field="to")
    if (end - start).days >= MAX_DAYS:
        raise Invalid(f"the range spans at most {MAX_DAYS} days", field="to")
    if time_from and time_to and time_to <= time_from:
        raise Invalid("time_to must be after time_from", field="time_to")
    coverage = None
    if patient_id and access.who.may_see_patient(patient_id):
        # The access is recorded while the coverage is read: nothing is answered before both are done.
        _, coverage = await asyncio.gather(
            access.read("Slot", "*", patient_id), uc.availability.coverage_of(patient_id)
        )
    elif patient_id:
        await access.read("Slot", "*", patient_id)  # recorded, and refused
    q = Search(
        from_date=start,
        to_date=end,
        service_type_id=service_type_id,
        practitioner_id=practitioner_id,
        location_id=location_id,
        time_from=time_from,
        time_to=time_to,
        patient_id=patient_id,
        limit=limit,
        after=decode_cursor(cursor) if cursor else None,
    )
    slots, next_cursor = await uc.availability.search(q, coverage)
    covered = None
    if patient_id:
        covered = CoverageOut(patient_id=patient_id, coverages=coverage.coverages if coverage else [])
    return AvailabilityOut.model_validate(
        {"items": [SlotOut.of(s) for s in slots], "next_cursor": next_cursor, "coverage": covered}
    )
