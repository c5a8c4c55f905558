"""What scheduling knows of a patient's coverages, learned only from insurance's events.

``insurance.coverage.registered`` carries the period but not the covered service codes;
``insurance.coverage.changed`` carries the codes and the status, as snapshots versioned by the
coverage. A coverage known only from the first filters by dates alone. Pure Python.
"""

from datetime import date

from pydantic import BaseModel, Field

from caremesh_kit.aggregate import Aggregate


class KnownCoverage(BaseModel):
    coverage_id: str
    payer: str | None = None
    period_start: date
    period_end: date | None = None
    status: str = "active"
    service_codes: list[str] | None = None  # None: not published for this coverage
    coverage_version: int = 0  # of the last coverage.changed applied; 0: registration only

    def allows(self, day: date, service_code: str) -> bool:
        if self.status != "active" or day < self.period_start or (self.period_end and day > self.period_end):
            return False
        return self.service_codes is None or service_code in self.service_codes


class PatientCoverage(Aggregate):
    """Id: the patient id. One per patient, so a search reads it by id."""

    coverages: list[KnownCoverage] = Field(default_factory=list)

    def registered(self, coverage: KnownCoverage) -> bool:
        """From coverage.registered: adds what a later snapshot has not already told."""
        if any(c.coverage_id == coverage.coverage_id for c in self.coverages):
            return False
        self.coverages = [*self.coverages, coverage]
        return True

    def changed(self, snapshot: KnownCoverage) -> bool:
        """From coverage.changed: the newest snapshot wins, whatever order they arrive in."""
        current = next((c for c in self.coverages if c.coverage_id == snapshot.coverage_id), None)
        if current is not None and current.coverage_version >= snapshot.coverage_version:
            return False
        if current is not None and snapshot.payer is None:
            snapshot = snapshot.model_copy(update={"payer": current.payer})
        self.coverages = [*(c for c in self.coverages if c.coverage_id != snapshot.coverage_id), snapshot]
        return True

    def allows(self, day: date, service_code: str) -> bool:
        return any(c.allows(day, service_code) for c in self.coverages)
