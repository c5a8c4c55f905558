"""Authorization turnaround, the figures payers and CMS ask for. Pure Python.

The unit is a request awaiting a payer's decision: a submission or an appeal (a ``Cycle``),
counted in the period when the payer received it (``from`` ≤ received < ``to``).

- decision time: from receipt to the decision (approved, partially approved or denied), in hours;
  the median and the 90th percentile (linear interpolation between the closest ranks, as
  numpy's default) over the decided requests;
- approval and denial rates: over the decided requests (a partial approval is an approval);
- overdue rate: over all requests, those decided (or withdrawn) after their deadline or still
  undecided past it at the time of the report.
"""

import math
from collections.abc import Callable, Iterable
from datetime import datetime

from pydantic import BaseModel, Field

from caremesh_insurance.domain.authorization.model import PriorAuthorization
from caremesh_insurance.domain.authorization.parts import Cycle

DECISIONS = ("approved", "partially_approved", "denied")


class Figures(BaseModel):
    requests: int = Field(description="requests (submissions and appeals) the payer received in the period")
    decided: int
    approved: int = Field(description="approved in full or in part")
    partially_approved: int
    denied: int
    pending: int = Field(description="no decision yet")
    cancelled: int = Field(description="withdrawn before a decision")
    overdue: int = Field(description="decided or withdrawn late, or undecided past the deadline")
    median_decision_hours: float | None
    p90_decision_hours: float | None
    approval_rate: float | None
    denial_rate: float | None
    overdue_rate: float | None


class Group(Figures):
    key: str


class TurnaroundReport(BaseModel):
    start: datetime
    end: datetime
    generated_at: datetime
    overall: Figures
    by_payer: list[Group]
    by_service: list[Group]


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def _hours(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def figures(cycles: Iterable[Cycle], now: datetime) -> Figures:
    cycles = list(cycles)
    decided = [c for c in cycles if c.outcome in DECISIONS]
    hours = [(c.decided_at - c.submitted_at).total_seconds() / 3600 for c in decided if c.decided_at]
    approved = sum(1 for c in decided if c.outcome in ("approved", "partially_approved"))
    denied = sum(1 for c in decided if c.outcome == "denied")
    overdue = sum(1 for c in cycles if c.late(now))
    return Figures(
        requests=len(cycles),
        decided=len(decided),
        approved=approved,
        partially_approved=sum(1 for c in decided if c.outcome == "partially_approved"),
        denied=denied,
        pending=sum(1 for c in cycles if c.outcome is None),
        cancelled=sum(1 for c in cycles if c.outcome == "cancelled"),
        overdue=overdue,
        median_decision_hours=_hours(percentile(hours, 50)),
        p90_decision_hours=_hours(percentile(hours, 90)),
        approval_rate=_rate(approved, len(decided)),
        denial_rate=_rate(denied, len(decided)),
        overdue_rate=_rate(overdue, len(cycles)),
    )


def turnaround(
    authorizations: Iterable[PriorAuthorization], start: datetime, end: datetime, now: datetime
) -> TurnaroundReport:
    """The figures overall, by payer and by (requested) service, for requests received in [start, end)."""
    rows = [(a.payer, a.service_code, c) for a in authorizations for c in a.cycles if start <= c.submitted_at < end]

    def grouped(key: Callable[[tuple[str, str, Cycle]], str]) -> list[Group]:
        keys = sorted({key(r) for r in rows})
        return [Group(key=k, **figures((r[2] for r in rows if key(r) == k), now).model_dump()) for k in keys]

    return TurnaroundReport(
        start=start,
        end=end,
        generated_at=now,
        overall=figures((r[2] for r in rows), now),
        by_payer=grouped(lambda r: r[0]),
        by_service=grouped(lambda r: r[1]),
    )
