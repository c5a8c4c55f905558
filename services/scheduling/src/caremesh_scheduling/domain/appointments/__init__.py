"""The appointment lifecycle: its states and the aggregate. Pure Python: no I/O."""

from caremesh_scheduling.domain.appointments.appointment import Appointment
from caremesh_scheduling.domain.appointments.states import (
    DEFAULT_HOLD,
    HOLDS_SLOT,
    LATE_CANCEL_WINDOW,
    MOVABLE,
    ON_HOLD,
    TRANSITIONS,
    Action,
    Cancellation,
    CancelReason,
    NeedsAction,
    Payment,
    Status,
)

__all__ = [
    "DEFAULT_HOLD",
    "HOLDS_SLOT",
    "LATE_CANCEL_WINDOW",
    "MOVABLE",
    "ON_HOLD",
    "TRANSITIONS",
    "Action",
    "Appointment",
    "CancelReason",
    "Cancellation",
    "NeedsAction",
    "Payment",
    "Status",
]
