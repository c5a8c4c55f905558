"""The sweeps that keep appointments and claims true to time: expired holds, automatic no-shows,
and claims a crash left behind. Every replica runs them; a compare-and-set write lets one make
each change."""

from collections.abc import Callable
from datetime import datetime, timedelta

from caremesh_kit import context, logs
from caremesh_kit.errors import VersionConflict
from caremesh_scheduling.domain import Appointment
from caremesh_scheduling.store import AppointmentStore
from caremesh_scheduling.usecases.appointment_book import AppointmentBook

log = logs.get("caremesh.scheduling.lifecycle")
SWEEP_BATCH = 200


class Housekeeping:
    def __init__(self, appointments: AppointmentStore, book: AppointmentBook, no_show_after: timedelta) -> None:
        self.appointments = appointments
        self.book = book
        self.claims = book.claims
        self.clock = book.clock
        self.no_show_after = no_show_after  # booked, nobody arrived, this long after the end

    async def lifecycle_sweep(self) -> int:
        """Expired holds and missed visits; how many this replica changed."""
        expired, missed = await self.expire_holds(), await self.record_no_shows()
        if expired or missed:
            logs.info(log, "lifecycle sweep", holds_expired=expired, no_shows=missed)
        return expired + missed

    async def expire_holds(self, now: datetime | None = None) -> int:
        """Expire the holds that ran out and free their time; how many this replica expired."""
        at = now or self.clock()
        expired = 0
        for appt in await self.appointments.holds_due(at, SWEEP_BATCH):
            if await self._sweep(appt, lambda a: a.hold_due(at) and a.expire_hold(at)):
                expired += 1
        return expired

    async def record_no_shows(self, now: datetime | None = None) -> int:
        """Booked visits nobody arrived for, ``no_show_after`` past their end."""
        at = now or self.clock()
        marked = 0
        for appt in await self.appointments.ended_before(at - self.no_show_after, SWEEP_BATCH):
            if await self._sweep(
                appt, lambda a: a.no_show_due(at, self.no_show_after) and a.mark_no_show(at, automatic=True)
            ):
                marked += 1
        return marked

    async def _sweep(self, appt: Appointment, change: Callable[[Appointment], object]) -> bool:
        """One compare-and-set write: of replicas sweeping at once, one wins; the others skip."""
        try:
            with context.bound(correlation=context.new_id()):
                saved, outcome = await self.appointments.repo.apply(appt.id, change, attempts=1)
            if outcome is False:
                return False
        except VersionConflict:
            return False  # another replica (or a request) wrote first; the next round looks again
        except Exception:
            log.exception("lifecycle sweep of an appointment failed")
            return False
        await self.book.changed(saved)
        return True

    async def free_orphan_claims(self) -> int:
        """Settle or free booking attempts a crash left between their claims and their save, and
        drop the claims of days gone by."""
        freed = 0
        cutoff = self.clock() - timedelta(seconds=self.book.orphan_claim_seconds)
        for attempt in await self.claims.stale_attempts(cutoff):
            appt = await self.appointments.repo.find(attempt["_id"])
            if appt is None or not appt.holds_slot:
                await self.claims.free_attempt(attempt)
                freed += 1
            else:
                # A reschedule that never committed leaves claims its appointment does not hold.
                keep = {c.id for c in appt.claims()}
                extra = {day: [i for i in ids if i not in keep] for day, ids in attempt["claims"].items()}
                await self.claims.free_attempt(attempt | {"claims": {d: ids for d, ids in extra.items() if ids}})
                freed += any(extra.values())
        await self.claims.drop_days_before(self.clock().date() - timedelta(days=2))
        return freed
