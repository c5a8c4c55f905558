"""The calendar's collections: practitioners, locations, service types, templates, and the copy
of each patient's coverage learned from insurance's events."""

from typing import Any, TypeVar

from pymongo import ASCENDING, IndexModel

from caremesh_kit.aggregate import Aggregate
from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_scheduling.domain import Location, PatientCoverage, Practitioner, ServiceType, Template

A = TypeVar("A", bound=Aggregate)


class CalendarStore:
    def __init__(self, runtime: Runtime) -> None:
        self.practitioners: Repository[Practitioner] = runtime.repository("practitioners", Practitioner)
        self.locations: Repository[Location] = runtime.repository("locations", Location)
        self.service_types: Repository[ServiceType] = runtime.repository("service_types", ServiceType)
        self.templates: Repository[Template] = runtime.repository(
            "templates", Template, [IndexModel([("practitioner_id", ASCENDING)])]
        )
        # What the patients' coverages allow, from insurance's events (id: the patient id).
        self.coverage: Repository[PatientCoverage] = runtime.repository("patient_coverage", PatientCoverage)

    async def practitioners_page(self, skip: int, limit: int) -> list[Practitioner]:
        return await _all_of(self.practitioners, skip=skip, limit=limit)

    async def templates_of(self, practitioner_id: str) -> list[Template]:
        return await _all_of(self.templates, {"practitioner_id": practitioner_id})


async def _all_of(repo: Repository[A], query: dict[str, Any] | None = None, skip: int = 0, limit: int = 0) -> list[A]:
    cursor = repo.collection.find(query or {}).sort("_id", ASCENDING).skip(skip).limit(limit)
    return [repo.loaded(d) async for d in cursor]


async def all_current(repo: Repository[A], held: dict[str, A]) -> list[A]:
    """Every document of ``repo`` (by id), reusing the copy held of each whose version is unchanged:
    a reload every few seconds then validates only what changed."""
    out = []
    async for doc in repo.collection.find({}).sort("_id", ASCENDING):
        kept = held.get(doc["_id"])
        out.append(kept if kept is not None and kept.version == doc["version"] else repo.loaded(doc))
    return out
