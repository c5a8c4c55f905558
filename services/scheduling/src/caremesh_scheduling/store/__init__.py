"""Every collection of scheduling and every query on it: the use cases call these, never a
collection themselves."""

from caremesh_scheduling.store.appointments import AppointmentStore
from caremesh_scheduling.store.calendar import CalendarStore, all_current
from caremesh_scheduling.store.claims import ClaimStore, busy
from caremesh_scheduling.store.referrals import ReferralStore
from caremesh_scheduling.store.series import SeriesStore
from caremesh_scheduling.store.waitlist import WaitlistStore

__all__ = [
    "AppointmentStore",
    "CalendarStore",
    "ClaimStore",
    "ReferralStore",
    "SeriesStore",
    "WaitlistStore",
    "all_current",
    "busy",
]
