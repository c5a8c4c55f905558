"""Scheduling's collections: the calendar and appointments as repositories (commit log and
compare-and-set from the kit), plus the queries the use cases need. Claims are in ``claims.py``."""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from pymongo import ASCENDING, DESCENDING, IndexModel

from caremesh_kit.aggregate import Aggregate
from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_scheduling.domain import (
    HOLDS_SLOT,
    ON_HOLD,
    Appointment,
    Busy,
    Location,
    PatientCoverage,
    Practitioner,
    ServiceType,
    Status,
    Template,
)

A = TypeVar("A", bound=Aggregate)
HELD = [s.value for s in HOLDS_SLOT]
ON_HOLD_VALUES = [s.value for s in ON_HOLD]


async def all_of(repo: Repository[A], query: dict | None = None, skip: int = 0, limit: int = 0) -> list[A]:
    cursor = repo.collection.find(query or {}).sort("_id", ASCENDING).skip(skip).limit(limit)
    return [repo.model.from_document(d) async for d in cursor]  # type: ignore[misc]


class Appointments:
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
        # Other holders of time, such as open waitlist offers (see ``holds``).
        self.other_holders: list[Callable[[str], Awaitable[bool]]] = []

    async def _find(self, query: dict, sort: list[tuple[str, int]], skip: int = 0, limit: int = 0) -> list[Appointment]:
        cursor = self.repo.collection.find(query, {"outbox": 0}).sort(sort).skip(skip).limit(limit)
        return [Appointment.from_document(d) async for d in cursor]  # type: ignore[misc]

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
        query: dict = {
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
        return [Appointment.from_document(d) async for d in cursor.limit(limit)]  # type: ignore[misc]

    async def holding_after(
        self, after: datetime, practitioner_id: str | None = None, location_id: str | None = None
    ) -> list[Appointment]:
        """Appointments holding time that ends after ``after`` (buffers included)."""
        query: dict = {"status": {"$in": HELD}, "end": {"$gt": after - timedelta(hours=4)}}  # buffers <= 4 h
        if practitioner_id:
            query["practitioner_id"] = practitioner_id
        if location_id:
            query["location_id"] = location_id
        found = [Appointment.from_document(d) async for d in self.repo.collection.find(query)]  # type: ignore[misc]
        return [a for a in found if a.footprint[1] > after]

    async def busy_after(self, after: datetime) -> list[Busy]:
        """The time ``holding_after``'s appointments hold, read as just that (none is loaded whole)."""
        query: dict = {"status": {"$in": HELD}, "end": {"$gt": after - timedelta(hours=4)}}  # buffers <= 4 h
        found = [_busy(d) async for d in self.repo.collection.find(query, BUSY_FIELDS)]
        return [b for b in found if b.footprint_end > after]

    async def holds(self, appointment_id: str) -> bool:
        appt = await self.repo.find(appointment_id)
        if appt is None:
            # Claims may belong to another holder of time, such as an open waitlist offer.
            return any([await other(appointment_id) for other in self.other_holders])
        return appt.holds_slot


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


def _busy(doc: dict) -> Busy:
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


def _by(practitioner_id: str | None, location_id: str | None) -> dict:
    return ({"practitioner_id": practitioner_id} if practitioner_id else {}) | (
        {"location_id": location_id} if location_id else {}
    )


def practitioners(runtime: Runtime) -> Repository[Practitioner]:
    return runtime.repository("practitioners", Practitioner)


def locations(runtime: Runtime) -> Repository[Location]:
    return runtime.repository("locations", Location)


def service_types(runtime: Runtime) -> Repository[ServiceType]:
    return runtime.repository("service_types", ServiceType)


def templates(runtime: Runtime) -> Repository[Template]:
    return runtime.repository("templates", Template, [IndexModel([("practitioner_id", ASCENDING)])])


def coverage(runtime: Runtime) -> Repository[PatientCoverage]:
    """What the patients' coverages allow, from insurance's events (id: the patient id)."""
    return runtime.repository("patient_coverage", PatientCoverage)
