"""Scheduling's domain: the calendar, derived slots, availability search and the appointment
lifecycle. Pure Python: no I/O."""

from caremesh_scheduling.domain.appointments import (
    DEFAULT_HOLD,
    HOLDS_SLOT,
    LATE_CANCEL_WINDOW,
    MOVABLE,
    ON_HOLD,
    TRANSITIONS,
    Action,
    Appointment,
    Cancellation,
    CancelReason,
    NeedsAction,
    Payment,
    Status,
    utcnow,
)
from caremesh_scheduling.domain.availability import Busy, BusyIndex, Calendar, Query, decode_cursor, search
from caremesh_scheduling.domain.calendar import (
    SERVICE_CODE,
    Location,
    LocationDetails,
    Practitioner,
    PractitionerDetails,
    Room,
    ServiceType,
    ServiceTypeDetails,
    Template,
    TemplateSpec,
    TimeOff,
    Weekday,
    Window,
    check_template,
    template_id,
)
from caremesh_scheduling.domain.coverage import KnownCoverage, PatientCoverage
from caremesh_scheduling.domain.slots import Claim, Slot, Span, fits, offered, parse_slot_id, slot_id

__all__ = [
    "DEFAULT_HOLD", "HOLDS_SLOT", "LATE_CANCEL_WINDOW", "MOVABLE", "ON_HOLD", "Action", "NeedsAction", "Payment",
    "SERVICE_CODE", "TRANSITIONS", "Appointment", "Busy", "BusyIndex",
    "Calendar", "CancelReason", "Cancellation", "Claim", "KnownCoverage", "Location", "LocationDetails",
    "PatientCoverage", "Practitioner", "PractitionerDetails", "Query", "Room", "ServiceType", "ServiceTypeDetails",
    "Slot", "Span", "Status", "Template", "TemplateSpec", "TimeOff", "Weekday", "Window", "check_template",
    "decode_cursor", "fits", "offered", "parse_slot_id", "search", "slot_id", "template_id", "utcnow",
]
