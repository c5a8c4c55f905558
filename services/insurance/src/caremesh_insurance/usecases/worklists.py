"""Coordinators' worklists and the turnaround report: read-only queries over authorizations and
eligibility checks."""

from datetime import datetime, timedelta

from caremesh_insurance import store
from caremesh_insurance.domain import EligibilityCheck
from caremesh_insurance.domain.authorization import AWAITING_PAYER, PriorAuthorization, Status
from caremesh_insurance.domain.authorization.report import TurnaroundReport, turnaround
from caremesh_kit.clock import Clock
from caremesh_kit.errors import Invalid

MAX_PERIOD = timedelta(days=366)


class Worklists:
    """What coordinators work through, and how fast payers decide."""

    def __init__(self, authorizations: store.PriorAuthorizations, checks: store.Checks, clock: Clock) -> None:
        self.authorizations, self.checks, self.clock = authorizations, checks, clock

    async def turnaround(self, start: datetime, end: datetime) -> TurnaroundReport:
        if end <= start:
            raise Invalid("the period must end after it starts", field="to")
        if end - start > MAX_PERIOD:
            raise Invalid("the period may span at most 366 days", field="to")
        return turnaround(await self.authorizations.received_between(start, end), start, end, self.clock())

    async def to_submit(
        self, payer: str | None, service_code: str | None, limit: int, offset: int
    ) -> list[PriorAuthorization]:
        """Required or drafted, oldest first."""
        return await self.authorizations.worklist(
            [Status.REQUIRED.value, Status.DRAFT.value],
            sort="created_at",
            payer=payer,
            service_code=service_code,
            limit=limit,
            offset=offset,
        )

    async def waiting_on_payer(
        self, payer: str | None, service_code: str | None, overdue: bool | None, limit: int, offset: int
    ) -> list[PriorAuthorization]:
        """Submitted, pended or appealed, the longest waiting first; ``overdue`` keeps those past (or
        not past) their deadline."""
        return await self.authorizations.worklist(
            [s.value for s in AWAITING_PAYER],
            sort="submitted_at",
            payer=payer,
            service_code=service_code,
            overdue=overdue,
            now=self.clock(),
            limit=limit,
            offset=offset,
        )

    async def denials(
        self, payer: str | None, service_code: str | None, limit: int, offset: int
    ) -> list[PriorAuthorization]:
        """Denied and not appealed yet, the earliest submitted first."""
        return await self.authorizations.worklist(
            [Status.DENIED.value],
            sort="submitted_at",
            payer=payer,
            service_code=service_code,
            limit=limit,
            offset=offset,
        )

    async def failing_eligibility(self, days: int, limit: int, offset: int) -> list[EligibilityCheck]:
        """Scheduled visits in the next ``days`` days whose coverage failed eligibility, soonest first."""
        today = self.clock().date()
        return await self.checks.failing(today, today + timedelta(days=days), limit, offset)
