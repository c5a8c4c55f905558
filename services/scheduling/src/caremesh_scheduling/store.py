"""Scheduling's collections: the calendar and appointments as repositories (commit log and
compare-and-set from the kit), plus the queries the use cases need. Claims are in ``claims.py``."""

from datetime import datetime, timedelta
from typing import TypeVar

from caremesh_kit.aggregate import Aggregate
from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from pymongo import ASCENDING, IndexModel

from caremesh_scheduling.domain import (
    HOLDS_SLOT,
    Appointment,
    Location,
    PatientCoverage,
    Practitioner,
    ServiceType,
    Template,
)

A = TypeVar("A", bound=Aggregate)
HELD = [s.value for s in HOLDS_SLOT]


async def all_of(repo: Repository[A], query: dict | None = None, skip: int = 0, limit: int = 0) -> list[A]:
    cursor = repo.collection.find(query or {}).sort("_id", ASCENDING).skip(skip).limit(limit)
    return [repo.model.from_document(d) async for d in cursor]  # type: ignore[misc]


class Appointments:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Appointment] = runtime.repository(
            "appointments", Appointment, [IndexModel([("patient_id", ASCENDING), ("start", ASCENDING)]),
                                          IndexModel([("status", ASCENDING), ("end", ASCENDING)])])

    async def for_patient(self, patient_id: str, limit: int) -> list[Appointment]:
        cursor = self.repo.collection.find({"patient_id": patient_id}, {"outbox": 0}).sort("start", ASCENDING)
        return [Appointment.from_document(d) async for d in cursor.limit(limit)]  # type: ignore[misc]

    async def holding_after(self, after: datetime, practitioner_id: str | None = None,
                            location_id: str | None = None) -> list[Appointment]:
        """Appointments holding time that ends after ``after`` (buffers included)."""
        query: dict = {"status": {"$in": HELD}, "end": {"$gt": after - timedelta(hours=4)}}  # buffers <= 4 h
        if practitioner_id:
            query["practitioner_id"] = practitioner_id
        if location_id:
            query["location_id"] = location_id
        found = [Appointment.from_document(d) async for d in self.repo.collection.find(query)]  # type: ignore[misc]
        return [a for a in found if a.footprint[1] > after]

    async def holds(self, appointment_id: str) -> bool:
        appt = await self.repo.find(appointment_id)
        return appt is not None and appt.holds_slot


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
