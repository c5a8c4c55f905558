"""Insurance's collections and every query on them: payers, plans, coverages, eligibility checks
and prior authorizations, each with an outbox; and the payer correspondence log."""

from datetime import date, datetime, time
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel

from caremesh_insurance.domain import AppointmentStatus, Coverage, EligibilityCheck, Outcome, Payer, Plan, Visit
from caremesh_insurance.domain.authorization import PriorAuthorization
from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository


def _day(d: date) -> datetime:
    return datetime.combine(d, time())  # dates are stored as midnight UTC


class Payers:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Payer] = runtime.repository("payers", Payer)

    async def listing(self, limit: int, offset: int) -> list[Payer]:
        cursor = self.repo.collection.find({}).sort("_id", ASCENDING).skip(offset).limit(limit)
        return [Payer.from_document(d) async for d in cursor]


class Plans:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Plan] = runtime.repository("plans", Plan, [IndexModel([("terms.payer_id", ASCENDING)])])

    async def listing(self, payer_id: str | None, limit: int, offset: int) -> list[Plan]:
        query = {"terms.payer_id": payer_id} if payer_id else {}
        cursor = self.repo.collection.find(query).sort("_id", ASCENDING).skip(offset).limit(limit)
        return [Plan.from_document(d) async for d in cursor]

    async def all_ids_versions(self) -> list[tuple[str, int]]:
        return [(d["_id"], d["version"]) async for d in self.repo.collection.find({}, {"version": 1})]


class Coverages:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Coverage] = runtime.repository(
            "coverages",
            Coverage,
            [IndexModel([("terms.patient_id", ASCENDING)]), IndexModel([("terms.plan_id", ASCENDING)])],
        )

    async def for_patient(self, patient_id: str) -> list[Coverage]:
        cursor = self.repo.collection.find({"terms.patient_id": patient_id})
        return [Coverage.from_document(d) async for d in cursor]

    async def behind_plan(self, plan_id: str, plan_version: int) -> list[str]:
        """Coverages whose last coverage.changed predates this plan version."""
        cursor = self.repo.collection.find(
            {"terms.plan_id": plan_id, "plan_version": {"$lt": plan_version}}, {"_id": 1}
        )
        return [d["_id"] async for d in cursor]


class Checks:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[EligibilityCheck] = runtime.repository(
            "eligibility_checks",
            EligibilityCheck,
            [IndexModel([("patient_id", ASCENDING)]), IndexModel([("service_date", ASCENDING)])],
        )

    async def add_absent(self, check: EligibilityCheck) -> bool:
        """Add a check the handler's read just found absent (that read stands for ``add``'s); False when
        a concurrent delivery decided first (see ``Repository.add_new``)."""
        [stored] = await self.repo.add_new([check])
        return stored is check

    async def _find(
        self,
        query: dict[str, Any],
        *,
        sort: str = "service_date",
        direction: int = ASCENDING,
        limit: int = 0,
        offset: int = 0,
    ) -> list[EligibilityCheck]:
        cursor = self.repo.collection.find(query).sort(sort, direction).skip(offset).limit(limit)
        return [EligibilityCheck.from_document(d) async for d in cursor]

    async def for_patient(self, patient_id: str, limit: int, offset: int) -> list[EligibilityCheck]:
        return await self._find(
            {"patient_id": patient_id}, sort="checked_at", direction=DESCENDING, limit=limit, offset=offset
        )

    async def upcoming_for_patient(self, patient_id: str, today: date) -> list[EligibilityCheck]:
        return await self._find(
            {
                "patient_id": patient_id,
                "appointment_status": AppointmentStatus.SCHEDULED.value,
                "service_date": {"$gte": _day(today)},
            }
        )

    async def entering_window(self, today: date, until: date) -> list[EligibilityCheck]:
        """Scheduled visits between ``today`` and ``until`` whose pre-visit re-check has not run."""
        return await self._find(
            {
                "appointment_status": AppointmentStatus.SCHEDULED.value,
                "pre_visit_done": False,
                "service_date": {"$gte": _day(today), "$lte": _day(until)},
            }
        )

    async def failing(self, start: date, end: date, limit: int, offset: int) -> list[EligibilityCheck]:
        """Scheduled visits from ``start`` to ``end`` whose coverage did not pass eligibility, or whose
        payer refused the inquiry for a reason a coordinator must fix (``action``)."""
        return await self._find(
            {
                "appointment_status": AppointmentStatus.SCHEDULED.value,
                "$or": [{"decision.outcome": Outcome.DENIED.value}, {"action": {"$ne": None}}],
                "service_date": {"$gte": _day(start), "$lte": _day(end)},
            },
            limit=limit,
            offset=offset,
        )

    async def visits_of(self, patient_id: str, exclude: str | None = None) -> list[Visit]:
        """The patient's appointments that a coverage confirmed and that still take (or took) place."""
        cursor = self.repo.collection.find(
            {
                "patient_id": patient_id,
                "appointment_status": AppointmentStatus.SCHEDULED.value,
                "decision.outcome": Outcome.CONFIRMED.value,
            },
            {"service_code": 1, "service_date": 1, "decision": 1},
        )
        return [
            Visit(
                coverage_id=d["decision"]["coverage_id"],
                service_code=d["service_code"],
                service_date=d["service_date"].date(),
            )
            async for d in cursor
            if d["_id"] != exclude
        ]


class PriorAuthorizations:
    """Prior authorizations; ``next_review_at`` (computed by the aggregate) drives the review sweep."""

    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[PriorAuthorization] = runtime.repository(
            "authorizations",
            PriorAuthorization,
            [
                IndexModel([("patient_id", ASCENDING)]),
                IndexModel([("status", ASCENDING)]),
                IndexModel([("next_review_at", ASCENDING)]),
                IndexModel([("appointment_ids", ASCENDING)]),
                IndexModel([("cycles.submitted_at", ASCENDING)]),
            ],
        )

    async def _find(
        self,
        query: dict[str, Any],
        sort: str = "created_at",
        direction: int = ASCENDING,
        limit: int = 0,
        offset: int = 0,
    ) -> list[PriorAuthorization]:
        cursor = (
            self.repo.collection.find(query).sort([(sort, direction), ("_id", ASCENDING)]).skip(offset).limit(limit)
        )
        return [PriorAuthorization.from_document(d) async for d in cursor]

    async def holding(self, appointment_id: str) -> list[PriorAuthorization]:
        """Those an appointment is linked to (waiting, covered, fulfilled or released)."""
        return await self._find({"appointment_ids": appointment_id})

    async def of_patient(
        self,
        patient_id: str,
        statuses: list[str] | None = None,
        service_code: str | None = None,
        limit: int = 0,
        offset: int = 0,
    ) -> list[PriorAuthorization]:
        query: dict[str, Any] = {"patient_id": patient_id}
        if statuses:
            query["status"] = {"$in": statuses}
        if service_code:
            query["service_code"] = service_code
        return await self._find(query, direction=DESCENDING, limit=limit, offset=offset)

    async def due_for_review(self, now: datetime, limit: int) -> list[str]:
        cursor = (
            self.repo.collection.find({"next_review_at": {"$lte": now}}, {"_id": 1})
            .sort("next_review_at", ASCENDING)
            .limit(limit)
        )
        return [d["_id"] async for d in cursor]

    async def worklist(
        self,
        statuses: list[str],
        *,
        sort: str,
        payer: str | None,
        service_code: str | None,
        overdue: bool | None = None,
        now: datetime | None = None,
        limit: int,
        offset: int,
    ) -> list[PriorAuthorization]:
        """``overdue``: only those past (True) or within (False) their decision deadline at ``now``."""
        query: dict[str, Any] = {"status": {"$in": statuses}}
        if overdue is not None:
            query["decision_due"] = {"$lt" if overdue else "$gte": now}
        if payer:
            query["payer"] = payer
        if service_code:
            query["service_code"] = service_code
        return await self._find(query, sort=sort, limit=limit, offset=offset)

    async def received_between(self, start: datetime, end: datetime) -> list[PriorAuthorization]:
        """Those with a request the payer received in [start, end) (the caller filters each request)."""
        return await self._find({"cycles.submitted_at": {"$gte": start, "$lt": end}})


class Correspondence:
    """The payer correspondence log: plain append-only documents (no events, no versions)."""

    LINKS = ("patient_id", "coverage_id", "authorization_id", "appointment_id")

    def __init__(self, runtime: Runtime) -> None:
        self.collection = runtime.store.db["payer_correspondence"]
        runtime.indexes["payer_correspondence"] = [IndexModel([(f, ASCENDING)]) for f in self.LINKS]

    async def append(self, entry: dict[str, Any]) -> None:
        await self.collection.insert_one(entry)

    async def get(self, entry_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": entry_id})

    async def find(self, query: dict[str, Any], limit: int, offset: int) -> list[dict[str, Any]]:
        cursor = (
            self.collection.find(query)
            .sort([("occurred_at", DESCENDING), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [d async for d in cursor]
