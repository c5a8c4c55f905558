"""Scheduling's use cases, one class per capability, and the one container the composition root
hands the HTTP API and the event handlers."""

from dataclasses import dataclass

from caremesh_kit.audit import AuditTrail
from caremesh_kit.clock import Clock
from caremesh_scheduling.usecases.availability import AvailabilitySearch
from caremesh_scheduling.usecases.booking import Booking
from caremesh_scheduling.usecases.calendar import CalendarAdmin, TemplateConflict
from caremesh_scheduling.usecases.housekeeping import Housekeeping
from caremesh_scheduling.usecases.insurance import InsuranceReactions
from caremesh_scheduling.usecases.lifecycle import AppointmentChanges
from caremesh_scheduling.usecases.referrals import Referrals
from caremesh_scheduling.usecases.series import RecurringSeries
from caremesh_scheduling.usecases.waitlist import Waitlist
from caremesh_scheduling.usecases.worklists import Worklists


@dataclass(frozen=True)
class UseCases:
    calendar: CalendarAdmin
    availability: AvailabilitySearch
    booking: Booking
    changes: AppointmentChanges
    insurance: InsuranceReactions
    worklists: Worklists
    referrals: Referrals
    waitlist: Waitlist
    series: RecurringSeries
    housekeeping: Housekeeping
    # For the offer links, which the API checks itself: their audit entries, key and time.
    audit: AuditTrail
    offer_link_secret: str
    clock: Clock


__all__ = [
    "AppointmentChanges",
    "AvailabilitySearch",
    "Booking",
    "CalendarAdmin",
    "Housekeeping",
    "InsuranceReactions",
    "RecurringSeries",
    "Referrals",
    "TemplateConflict",
    "UseCases",
    "Waitlist",
    "Worklists",
]
