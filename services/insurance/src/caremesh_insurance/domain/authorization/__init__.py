"""Prior authorization, pure: the state machine with its deadlines (``model``, ``parts``), the
turnaround report (``report``) and what a submission carries, with its X12 278 (``submission``;
the adapters that send it are in ``adapters.submission``)."""

from caremesh_insurance.domain.authorization.model import PriorAuthorization
from caremesh_insurance.domain.authorization.parts import (
    AWAITING_PAYER,
    DECIDED,
    DECISION_WINDOW,
    EXPIRY_NOTICE,
    IN_FORCE,
    LOW_UNITS_SHARE,
    OPEN,
    TRANSITIONS,
    AppointmentLink,
    Approval,
    Cycle,
    Denial,
    Gate,
    LinkState,
    Priority,
    Status,
    Submission,
    Transition,
    decision_due,
)

__all__ = [
    "AWAITING_PAYER",
    "DECIDED",
    "DECISION_WINDOW",
    "EXPIRY_NOTICE",
    "IN_FORCE",
    "LOW_UNITS_SHARE",
    "OPEN",
    "TRANSITIONS",
    "AppointmentLink",
    "Approval",
    "Cycle",
    "Denial",
    "Gate",
    "LinkState",
    "PriorAuthorization",
    "Priority",
    "Status",
    "Submission",
    "Transition",
    "decision_due",
]
