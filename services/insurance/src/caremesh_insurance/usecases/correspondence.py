"""The payer correspondence log: entries are appended (linked to records of one patient) and read,
never changed or removed."""

from caremesh_insurance import store
from caremesh_insurance.domain.correspondence import Entry, NewEntry
from caremesh_kit import context
from caremesh_kit.clock import Clock
from caremesh_kit.errors import Invalid, NotFound


class CorrespondenceLog:
    def __init__(
        self,
        log: store.Correspondence,
        authorizations: store.PriorAuthorizations,
        coverages: store.Coverages,
        checks: store.Checks,
        clock: Clock,
    ) -> None:
        self.log, self.authorizations, self.coverages, self.checks = log, authorizations, coverages, checks
        self.clock = clock

    async def _patient_of(self, e: NewEntry) -> tuple[str, str | None]:
        """The one patient the links name, and the payer; 422 naming the link that does not fit."""
        found: list[tuple[str, str, str | None]] = []  # (field, patient, payer)
        if e.authorization_id:
            auth = await self.authorizations.repo.find(e.authorization_id)
            if auth is None:
                raise Invalid(f"authorization {e.authorization_id} not found", field="authorization_id")
            if e.coverage_id and auth.coverage_id != e.coverage_id:
                raise Invalid("the authorization is for another coverage", field="coverage_id")
            found.append(("authorization_id", auth.patient_id, auth.payer))
        if e.coverage_id:
            coverage = await self.coverages.repo.find(e.coverage_id)
            if coverage is None:
                raise Invalid(f"coverage {e.coverage_id} not found", field="coverage_id")
            found.append(("coverage_id", coverage.terms.patient_id, coverage.payer))
        if e.appointment_id:
            check = await self.checks.repo.find(e.appointment_id)
            if check is None or check.appointment_id is None:
                raise Invalid(f"appointment {e.appointment_id} not known to insurance", field="appointment_id")
            found.append(("appointment_id", check.patient_id, None))
        patient = found[0][1]
        for name, other, _ in found[1:]:
            if other != patient:
                raise Invalid("the linked records belong to different patients", field=name)
        return patient, next((payer for _, _, payer in found if payer), None)

    async def append(self, e: NewEntry, by: str) -> Entry:
        now = self.clock()
        if e.occurred_at > now:
            raise Invalid("occurred_at is in the future", field="occurred_at")
        patient_id, payer = await self._patient_of(e)
        entry = Entry(
            id=context.new_id(), patient_id=patient_id, payer=payer, recorded_by=by, recorded_at=now, **e.model_dump()
        )
        await self.log.append(entry.model_dump(exclude={"id"}) | {"_id": entry.id})
        return entry

    async def get(self, entry_id: str) -> Entry:
        doc = await self.log.get(entry_id)
        if doc is None:
            raise NotFound(f"correspondence {entry_id} not found")
        return Entry.model_validate(doc | {"id": doc["_id"]})

    async def find(self, filters: dict[str, str], limit: int, offset: int) -> list[Entry]:
        return [Entry.model_validate(d | {"id": d["_id"]}) for d in await self.log.find(filters, limit, offset)]
