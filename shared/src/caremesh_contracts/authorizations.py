"""Prior-authorization events of the insurance service (``insurance.authorization.*``).

Each carries the ids consumers act on (scheduling holds or books the appointment, notifications
tells the patient) and no clinical detail beyond the service code.
"""

from datetime import date, datetime
from typing import Literal

from caremesh_contracts.base import Event

Priority = Literal["urgent", "standard"]


class _Authorization(Event):
    authorization_id: str
    patient_id: str
    appointment_id: str | None = None
    service_code: str


class AuthorizationRequired(_Authorization):
    """The patient's plan needs a prior authorization for this service: the appointment waits."""

    routing_key = "insurance.authorization.required"

    coverage_id: str


class AuthorizationSubmitted(_Authorization):
    routing_key = "insurance.authorization.submitted"

    priority: Priority
    submitted_at: datetime
    decision_due: datetime


class AuthorizationPended(_Authorization):
    """The payer needs more information; the decision clock keeps running."""

    routing_key = "insurance.authorization.pended"


class AuthorizationApproved(_Authorization):
    """Approved in full (``partial`` false) or in part (fewer units or a shorter period)."""

    routing_key = "insurance.authorization.approved"

    partial: bool
    authorization_number: str
    approved_units: int
    valid_from: date
    valid_to: date


class AuthorizationDenied(_Authorization):
    """``reason`` is plain language for the patient; ``reason_code`` is the payer's."""

    routing_key = "insurance.authorization.denied"

    reason_code: str
    reason: str
    appealable: bool


class AuthorizationAppealed(_Authorization):
    routing_key = "insurance.authorization.appealed"

    decision_due: datetime


class AuthorizationExpired(_Authorization):
    """Its valid period ended (or its units ran out): upcoming visits need a new one."""

    routing_key = "insurance.authorization.expired"

    reason: Literal["period_ended", "units_exhausted"]


class AuthorizationCancelled(_Authorization):
    routing_key = "insurance.authorization.cancelled"


class AuthorizationOverdue(_Authorization):
    """The payer has not decided by the CMS-0057-F deadline; emitted once per decision awaited."""

    routing_key = "insurance.authorization.overdue"

    priority: Priority
    decision_due: datetime


class AuthorizationThresholdReached(_Authorization):
    """Few units are left (``units``) or the valid period ends soon (``expiry``): time to ask
    for a renewal. Emitted once per approval and threshold."""

    routing_key = "insurance.authorization.threshold_reached"

    threshold: Literal["units", "expiry"]
    units_remaining: int
    valid_to: date
