"""The appointment's states, the moves between them, and the values that go with them. Pure Python: no I/O."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel


class Status(StrEnum):
    REQUESTED = "requested"  # the first state; a request lands as pending in the same write
    PENDING = "pending"  # on hold while insurance checks eligibility
    WAITING_ON_AUTHORIZATION = "waiting_on_authorization"  # on hold while the payer decides
    BOOKED = "booked"
    DECLINED = "declined"  # insurance said no
    EXPIRED = "expired"  # the hold ran out before it was booked
    ARRIVED = "arrived"
    FULFILLED = "fulfilled"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


# The lifecycle as data: each state and the states it may move to. Anything else is a 409.
# Keyed by str for ``guard``'s signature; the keys are Status members.
TRANSITIONS: Mapping[str, frozenset[Status]] = {
    Status.REQUESTED: frozenset({Status.PENDING, Status.WAITING_ON_AUTHORIZATION, Status.CANCELLED}),
    Status.PENDING: frozenset(
        {Status.WAITING_ON_AUTHORIZATION, Status.BOOKED, Status.DECLINED, Status.EXPIRED, Status.CANCELLED}
    ),
    Status.WAITING_ON_AUTHORIZATION: frozenset({Status.BOOKED, Status.EXPIRED, Status.CANCELLED}),
    Status.BOOKED: frozenset({Status.ARRIVED, Status.NO_SHOW, Status.CANCELLED}),
    Status.ARRIVED: frozenset({Status.FULFILLED, Status.CANCELLED}),
    Status.DECLINED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.FULFILLED: frozenset(),
    Status.NO_SHOW: frozenset(),
    Status.CANCELLED: frozenset(),
}
HOLDS_SLOT = frozenset(
    {
        Status.REQUESTED,
        Status.PENDING,
        Status.WAITING_ON_AUTHORIZATION,
        Status.BOOKED,
        Status.ARRIVED,
        Status.FULFILLED,
        Status.NO_SHOW,
    }
)
# Holds: states that keep the time only until ``hold_expires_at``.
ON_HOLD = frozenset({Status.PENDING, Status.WAITING_ON_AUTHORIZATION})
# Moved in time by a reschedule; later states are about a visit that took place (or not).
MOVABLE = frozenset({Status.PENDING, Status.WAITING_ON_AUTHORIZATION, Status.BOOKED})
LATE_CANCEL_WINDOW = timedelta(hours=24)
DEFAULT_HOLD = timedelta(minutes=15)


class CancelReason(StrEnum):
    """A subset of FHIR's appointment-cancellation-reason codes."""

    PATIENT = "pat"
    PATIENT_FEELS_BETTER = "pat-fb"
    PATIENT_NO_TRANSPORT = "pat-lt"
    PATIENT_MOVED = "pat-mv"
    PATIENT_DECEASED = "pat-dec"
    PROVIDER = "prov"
    PROVIDER_HOSPITALIZED = "prov-hosp"
    FACILITY_MAINTENANCE = "maint"
    WEATHER = "oth-weath"
    ERROR = "oth-err"
    OTHER = "oth"


class Cancellation(BaseModel):
    reason_code: CancelReason
    by: str
    by_role: str
    at: datetime
    late: bool
    note: str | None = None


class Action(StrEnum):
    """Why a coordinator must step in: insurance will not pay as things stand."""

    AUTHORIZATION_DENIED = "authorization_denied"
    AUTHORIZATION_NOT_COVERING = "authorization_not_covering"
    AUTHORIZATION_EXPIRED = "authorization_expired"
    AUTHORIZATION_CANCELLED = "authorization_cancelled"
    ELIGIBILITY_DENIED = "eligibility_denied"


class NeedsAction(BaseModel):
    reason: Action
    reason_code: str | None = None  # the payer's or insurance's code
    since: datetime


class Payment(StrEnum):
    INSURANCE = "insurance"
    SELF_PAY = "self_pay"
