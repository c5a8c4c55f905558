"""What the use cases need from the outside, implemented in ``adapters`` (and chosen per payer)."""

from typing import Protocol

from caremesh_insurance.domain.authorization.submission import ReviewRequest, Sent
from caremesh_insurance.domain.eligibility.decision import EligibilityResult, Inquiry


class PayerAdapter(Protocol):
    """Establishes one coverage's eligibility (by the plan's rules, or by asking the payer)."""

    name: str

    async def check(self, inquiry: Inquiry) -> EligibilityResult: ...


class SubmissionAdapter(Protocol):
    """Gets a prior-authorization request (or an appeal) to the payer."""

    name: str

    async def submit(self, request: ReviewRequest) -> Sent: ...
