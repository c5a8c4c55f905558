"""Insurance's collections: payers, plans, coverages and eligibility checks, each with an outbox."""

from datetime import date, datetime, time

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from pymongo import ASCENDING, DESCENDING, IndexModel

from caremesh_insurance.domain import AppointmentStatus, Coverage, EligibilityCheck, Outcome, Payer, Plan, Visit


def _day(d: date) -> datetime:
    return datetime.combine(d, time())  # dates are stored as midnight UTC


def payers(runtime: Runtime) -> Repository[Payer]:
    return runtime.repository("payers", Payer)


class Plans:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Plan] = runtime.repository("plans", Plan, [IndexModel([("terms.payer_id", ASCENDING)])])

    async def listing(self, payer_id: str | None, limit: int, offset: int) -> list[Plan]:
        query = {"terms.payer_id": payer_id} if payer_id else {}
        cursor = self.repo.collection.find(query).sort("_id", ASCENDING).skip(offset).limit(limit)
        return [Plan.from_document(d) async for d in cursor]  # type: ignore[misc]

    async def all_ids_versions(self) -> list[tuple[str, int]]:
        return [(d["_id"], d["version"]) async for d in self.repo.collection.find({}, {"version": 1})]


class Coverages:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Coverage] = runtime.repository(
            "coverages", Coverage, [IndexModel([("terms.patient_id", ASCENDING)]),
                                    IndexModel([("terms.plan_id", ASCENDING)])])

    async def for_patient(self, patient_id: str) -> list[Coverage]:
        cursor = self.repo.collection.find({"terms.patient_id": patient_id})
        return [Coverage.from_document(d) async for d in cursor]  # type: ignore[misc]

    async def behind_plan(self, plan_id: str, plan_version: int) -> list[str]:
        """Coverages whose last coverage.changed predates this plan version."""
        cursor = self.repo.collection.find({"terms.plan_id": plan_id, "plan_version": {"$lt": plan_version}},
                                           {"_id": 1})
        return [d["_id"] async for d in cursor]


class Checks:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[EligibilityCheck] = runtime.repository(
            "eligibility_checks", EligibilityCheck, [IndexModel([("patient_id", ASCENDING)]),
                                                     IndexModel([("service_date", ASCENDING)])])

    async def _find(self, query: dict, *, sort: str = "service_date", direction: int = ASCENDING,
                    limit: int = 0, offset: int = 0) -> list[EligibilityCheck]:
        cursor = self.repo.collection.find(query).sort(sort, direction).skip(offset).limit(limit)
        return [EligibilityCheck.from_document(d) async for d in cursor]  # type: ignore[misc]

    async def for_patient(self, patient_id: str, limit: int, offset: int) -> list[EligibilityCheck]:
        return await self._find({"patient_id": patient_id}, sort="checked_at", direction=DESCENDING, limit=limit,
                                offset=offset)

    async def upcoming_for_patient(self, patient_id: str, today: date) -> list[EligibilityCheck]:
        return await self._find({"patient_id": patient_id, "appointment_status": AppointmentStatus.SCHEDULED.value,
                                 "service_date": {"$gte": _day(today)}})

    async def entering_window(self, today: date, until: date) -> list[EligibilityCheck]:
        """Scheduled visits between ``today`` and ``until`` whose pre-visit re-check has not run."""
        return await self._find({"appointment_status": AppointmentStatus.SCHEDULED.value, "pre_visit_done": False,
                                 "service_date": {"$gte": _day(today), "$lte": _day(until)}})

    async def visits_of(self, patient_id: str, exclude: str | None = None) -> list[Visit]:
        """The patient's appointments that a coverage confirmed and that still take (or took) place."""
        cursor = self.repo.collection.find(
            {"patient_id": patient_id, "appointment_status": AppointmentStatus.SCHEDULED.value,
             "decision.outcome": Outcome.CONFIRMED.value},
            {"service_code": 1, "service_date": 1, "decision": 1})
        return [Visit(coverage_id=d["decision"]["coverage_id"], service_code=d["service_code"],
                      service_date=d["service_date"].date()) async for d in cursor if d["_id"] != exclude]
