"""Prior-authorization events of the insurance service (``insurance.authorization.*``).

Each carries the ids consumers act on (scheduling holds or books the appointment, notifications
tells the patient) and no clinical detail beyond the service code. Required, approved, denied,
cancelled and expired are raised once per appointment concerned; the others name the appointment
that first required the authorization.
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
    """The patient's plan needs a prior authorization for this service: the appointment waits
    (instead of an eligibility confirmation) until approved or denied."""

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
    """Approved in full (``partial`` false) or in part (fewer units or a shorter period).

    Raised once per appointment that waited on the decision. ``covers_appointment`` true: the
    approval covers ``appointment_id`` (book it); false: it does not (another service, date or
    provider; the appointment needs a coordinator), or no appointment waited (``appointment_id``
    empty)."""

    routing_key = "insurance.authorization.approved"

    partial: bool
    covers_appointment: bool = False
    authorization_number: str
    approved_units: int
    valid_from: date
    valid_to: date


class AuthorizationDenied(_Authorization):
    """``reason`` is plain language for the patient; ``reason_code`` is the payer's. Once per
    appointment waiting on it, which keeps waiting: an appeal may still be approved."""

    routing_key = "insurance.authorization.denied"

    reason_code: str
    reason: str
    appealable: bool


class AuthorizationAppealed(_Authorization):
    routing_key = "insurance.authorization.appealed"

    decision_due: datetime


class AuthorizationExpired(_Authorization):
    """Its valid period ended (or its units ran out): upcoming visits need a new one. Once per
    covered appointment still to come (none: ``appointment_id`` empty)."""

    routing_key = "insurance.authorization.expired"

    reason: Literal["period_ended", "units_exhausted"]


class AuthorizationCancelled(_Authorization):
    """Withdrawn; once per appointment that waited on it or that it covered."""

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
