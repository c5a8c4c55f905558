"""Appointments: the repository (commit log and compare-and-set from the kit) and the queries
the use cases need."""

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_scheduling.domain import HOLDS_SLOT, ON_HOLD, Appointment, Busy, Status

Query = dict[str, Any]
HELD = [s.value for s in HOLDS_SLOT]
ON_HOLD_VALUES = [s.value for s in ON_HOLD]


class AppointmentStore:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Appointment] = runtime.repository(
            "appointments",
            Appointment,
            [
                IndexModel([("patient_id", ASCENDING), ("start", ASCENDING)]),
                IndexModel([("status", ASCENDING), ("end", ASCENDING)]),
                IndexModel([("status", ASCENDING), ("hold_expires_at", ASCENDING)]),
                IndexModel([("practitioner_id", ASCENDING), ("start", ASCENDING)]),
                IndexModel([("location_id", ASCENDING), ("start", ASCENDING)]),
            ],
        )

    async def _find(
        self, query: Query, sort: list[tuple[str, int]], skip: int = 0, limit: int = 0
    ) -> list[Appointment]:
        cursor = self.repo.collection.find(query, {"outbox": 0}).sort(sort).skip(skip).limit(limit)
        return [self.repo.loaded(d) async for d in cursor]

    async def holds_due(self, now: datetime, limit: int) -> list[Appointment]:
        return await self._find(
            {"status": {"$in": ON_HOLD_VALUES}, "hold_expires_at": {"$lte": now}},
            [("hold_expires_at", ASCENDING)],
            limit=limit,
        )

    async def ended_before(self, cutoff: datetime, limit: int) -> list[Appointment]:
        return await self._find(
            {"status": Status.BOOKED.value, "end": {"$lte": cutoff}}, [("end", ASCENDING)], limit=limit
        )

    async def waiting_on_insurance(
        self, practitioner_id: str | None, location_id: str | None, skip: int, limit: int
    ) -> list[Appointment]:
        """On hold for insurance, or flagged for a coordinator, the soonest first."""
        query: Query = {
            "$or": [{"status": {"$in": ON_HOLD_VALUES}}, {"status": Status.BOOKED.value, "needs_action": {"$ne": None}}]
        }
        return await self._find(
            query | _by(practitioner_id, location_id), [("start", ASCENDING), ("_id", ASCENDING)], skip, limit
        )

    async def between(
        self, start: datetime, end: datetime, practitioner_id: str | None, location_id: str | None, statuses: list[str]
    ) -> list[Appointment]:
        query = {"start": {"$gte": start, "$lt": end}, "status": {"$in": statuses}} | _by(practitioner_id, location_id)
        return await self._find(query, [("start", ASCENDING), ("_id", ASCENDING)])

    async def no_shows(
        self, since: datetime, practitioner_id: str | None, location_id: str | None, skip: int, limit: int
    ) -> list[Appointment]:
        query = {"status": Status.NO_SHOW.value, "start": {"$gte": since}} | _by(practitioner_id, location_id)
        return await self._find(query, [("start", DESCENDING), ("_id", ASCENDING)], skip, limit)

    async def for_patient(self, patient_id: str, limit: int) -> list[Appointment]:
        cursor = self.repo.collection.find({"patient_id": patient_id}, {"outbox": 0}).sort("start", ASCENDING)
        return [self.repo.loaded(d) async for d in cursor.limit(limit)]

    async def holding_after(
        self, after: datetime, practitioner_id: str | None = None, location_id: str | None = None
    ) -> list[Appointment]:
        """Appointments holding time that ends after ``after`` (buffers included)."""
        query: Query = {"status": {"$in": HELD}, "end": {"$gt": after - timedelta(hours=4)}}  # buffers <= 4 h
        if practitioner_id:
            query["practitioner_id"] = practitioner_id
        if location_id:
            query["location_id"] = location_id
        found = [self.repo.loaded(d) async for d in self.repo.collection.find(query)]
        return [a for a in found if a.footprint[1] > after]

    async def busy_after(self, after: datetime) -> list[Busy]:
        """The time ``holding_after``'s appointments hold, read as just that (none is loaded whole)."""
        query: Query = {"status": {"$in": HELD}, "end": {"$gt": after - timedelta(hours=4)}}  # buffers <= 4 h
        found = [_busy(d) async for d in self.repo.collection.find(query, BUSY_FIELDS)]
        return [b for b in found if b.footprint_end > after]


BUSY_FIELDS = {
    f: 1
    for f in (
        "practitioner_id",
        "location_id",
        "room",
        "patient_id",
        "start",
        "end",
        "buffer_before_minutes",
        "buffer_after_minutes",
    )
}


def _busy(doc: Query) -> Busy:
    """``Busy.of`` an appointment, from its document (the defaults are the model's)."""
    start, end = doc["start"], doc["end"]
    return Busy(
        doc["_id"],
        doc["practitioner_id"],
        doc.get("location_id", ""),
        doc.get("room"),
        doc["patient_id"],
        start,
        end,
        start - timedelta(minutes=doc.get("buffer_before_minutes", 0)),
        end + timedelta(minutes=doc.get("buffer_after_minutes", 0)),
    )


def _by(practitioner_id: str | None, location_id: str | None) -> Query:
    return ({"practitioner_id": practitioner_id} if practitioner_id else {}) | (
        {"location_id": location_id} if location_id else {}
    )
