"""Prior authorization, pure: the state machine with its deadlines (``model``, ``parts``), the
turnaround report (``report``) and the submission adapters (``submission``)."""

from caremesh_insurance.authorization.model import PriorAuthorization
from caremesh_insurance.authorization.parts import (
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
    "LinkState",
    "PriorAuthorization",
    "Priority",
    "Status",
    "Submission",
    "Transition",
    "decision_due",
]
