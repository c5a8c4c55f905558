"""What an import did with each resource, and the counts per resource type. Pure: no I/O."""

from collections import Counter
from enum import StrEnum

from pydantic import BaseModel, Field


class Outcome(StrEnum):
    IMPORTED = "imported"
    SKIPPED = "skipped"  # not imported, and nothing wrong with it: already there, or a type not kept
    REJECTED = "rejected"  # not imported because something in it is wrong (the reason says what)


class ResourceOutcome(BaseModel):
    entry: int = Field(description="position of the resource in the bundle's entries")
    resource_type: str
    source_id: str = Field(description="the resource's id in the bundle (else its fullUrl)")
    outcome: Outcome
    reason: str | None = None
    id: str | None = Field(default=None, description="what it is in records: the patient, entry or encounter id")
    warnings: list[str] = Field(default_factory=list)


class Counts(BaseModel):
    imported: int = 0
    skipped: int = 0
    rejected: int = 0

    def add(self, outcome: Outcome, n: int = 1) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + n)

    def merge(self, other: "Counts") -> None:
        for o in Outcome:
            self.add(o, getattr(other, o.value))

    @property
    def total(self) -> int:
        return self.imported + self.skipped + self.rejected


class UnresolvedReference(BaseModel):
    reference: str
    count: int = Field(description="how many imported resources point to it")


class ImportReport(BaseModel):
    bundle_type: str
    source: str = Field(description="label of the sending system, as in the patients' import identifier")
    patient_ids: list[str] = Field(description="the records patients the bundle's patients are")
    totals: Counts
    summary: dict[str, Counts] = Field(description="per resource type")
    resources: list[ResourceOutcome]
    unresolved_references: list[UnresolvedReference] = Field(
        description="references to resources not in the bundle (e.g. conditional ones): kept as text, not followed"
    )

    @classmethod
    def of(
        cls,
        bundle_type: str,
        source: str,
        patient_ids: list[str],
        outcomes: list[ResourceOutcome],
        unresolved: Counter[str],
    ) -> "ImportReport":
        outcomes = sorted(outcomes, key=lambda o: o.entry)
        totals, summary = Counts(), dict[str, Counts]()
        for o in outcomes:
            totals.add(o.outcome)
            summary.setdefault(o.resource_type, Counts()).add(o.outcome)
        return cls(
            bundle_type=bundle_type,
            source=source,
            patient_ids=patient_ids,
            totals=totals,
            summary=dict(sorted(summary.items())),
            resources=outcomes,
            unresolved_references=[UnresolvedReference(reference=r, count=n) for r, n in sorted(unresolved.items())],
        )
