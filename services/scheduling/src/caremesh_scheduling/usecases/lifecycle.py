"""The lifecycle beyond booking: atomic reschedule, self-pay, and the sweepers that expire holds
and record automatic no-shows (each once across replicas: a compare-and-set write decides)."""

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from caremesh_kit import context, logs
from caremesh_kit.errors import Conflict, DomainError, VersionConflict
from caremesh_scheduling.claims import transient
from caremesh_scheduling.domain import MOVABLE, Appointment, Claim, utcnow

if TYPE_CHECKING:
    from caremesh_scheduling.usecases.booking import Scheduling, SlotRef

log = logs.get("caremesh.scheduling.lifecycle")
SWEEP_BATCH = 200


def _by_day(claims: list[Claim]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in claims:
        out.setdefault(f"{c.bucket:%Y%m%d}", []).append(c.id)
    return out


class Unavailable(DomainError):
    status = 503
    title = "Service unavailable"


TAKEN = {
    "practitioner": "the practitioner is already booked at that time",
    "room": "the room is already booked at that time",
    "patient": "the patient already has an appointment at an overlapping time",
}


class Lifecycle:
    async def reschedule(self: "Scheduling", appointment_id: str, ref: "SlotRef | str") -> Appointment:
        """Claim the new time, move the appointment in one compare-and-set write (with its
        event), then let the old time go. Any failure before the write leaves the old booking
        as it was."""
        appt = await self.appointments.repo.get(appointment_id)
        if appt.status not in MOVABLE:
            raise Conflict(
                f"cannot reschedule an appointment that is {appt.status.value}",
                current=appt.status.value,
                requested="rescheduled",
            )
        slot, field = await self.derive_slot(ref)
        if slot.id == appt.slot_id:
            return appt
        practitioner = await self.calendar.practitioners.get(slot.practitioner_id)
        now = utcnow()
        moved = appt.model_copy(deep=True)
        moved.reschedule(slot, practitioner.details.name, now)  # checks it before anything is claimed
        moved.take_events()
        old = {c.id for c in appt.claims()}
        # The buckets it already holds stay its own; only the new ones are claimed (and undone).
        fresh = [c for c in moved.claims() if c.id not in old]
        taken = await self.claims.acquire(appt.id, fresh, self.appointments.holds, now)
        if taken is not None:
            raise Conflict(
                TAKEN[taken.kind], field="patient_id" if taken.kind == "patient" else field, resource=taken.kind
            )
        try:
            # The entry also names the old buckets the move lets go: whichever side of the commit a
            # crash lands on, the sweeper frees what the appointment does not hold then.
            moved_ids = {c.id for c in moved.claims()}
            await transient(
                lambda: self.claims.attempts.update_one(
                    {"_id": appt.id},
                    {"$set": {"claims": _by_day(fresh + [c for c in appt.claims() if c.id not in moved_ids])}},
                )
            )
            if (utcnow() - now).total_seconds() > self.orphan_claim_seconds / 2:
                raise Unavailable("the store is too slow to reschedule safely now; try again")
            saved = await self._move(appt, slot, practitioner.details.name)
        except BaseException:
            current = await self.appointments.repo.find(appt.id)
            if current is None or current.slot_id != slot.id:  # the move did not commit
                keep = {c.id for c in current.claims()} if current else set()
                await self.claims.undo(appt.id, [c for c in fresh if c.id not in keep])
            raise
        new = {c.id for c in saved.claims()}
        await self.claims.release(appt.id, [c for c in appt.claims() if c.id not in new])
        await self.claims.settle(appt.id)
        self.calendar.view.appointment(saved)
        return saved

    async def _move(self: "Scheduling", based_on: Appointment, slot, practitioner_name: str) -> Appointment:
        for _ in range(5):
            appt = await self.appointments.repo.get(based_on.id)
            if appt.slot_id != based_on.slot_id:
                raise Conflict("the appointment was rescheduled meanwhile; look again", field="slot_id")
            appt.reschedule(slot, practitioner_name, utcnow())
            try:
                return await self.appointments.repo.save(appt)
            except VersionConflict:
                continue  # another change (e.g. insurance's) came first: apply the move on top
        raise Conflict("the appointment keeps changing; try again")

    async def self_pay(self: "Scheduling", appointment_id: str) -> Appointment:
        appt = await self.appointments.repo.get(appointment_id)
        practitioner = await self.calendar.practitioners.get(appt.practitioner_id)
        return await self.appointments.repo.mutate(
            appointment_id, lambda a: a.self_pay(practitioner.details.name, utcnow())
        )

    # -- sweepers --------------------------------------------------------------------------------
    async def expire_holds(self: "Scheduling", now: datetime | None = None) -> int:
        """Expire the holds that ran out and free their time; how many this replica expired."""
        now = now or utcnow()
        expired = 0
        for appt in await self.appointments.holds_due(now, SWEEP_BATCH):
            if await self._sweep(appt, lambda a: a.hold_due(now) and a.expire_hold(now)):
                expired += 1
        return expired

    async def record_no_shows(self: "Scheduling", now: datetime | None = None) -> int:
        """Booked visits nobody arrived for, ``no_show_after`` past their end."""
        now = now or utcnow()
        marked = 0
        for appt in await self.appointments.ended_before(now - self.no_show_after, SWEEP_BATCH):
            if await self._sweep(
                appt, lambda a: a.no_show_due(now, self.no_show_after) and a.mark_no_show(now, automatic=True)
            ):
                marked += 1
        return marked

    async def _sweep(self: "Scheduling", appt: Appointment, change) -> bool:
        """One compare-and-set write: of replicas sweeping at once, one wins; the others skip."""
        try:
            with context.bound(correlation=context.new_id()):
                appt = await self.appointments.repo.get(appt.id)
                if change(appt) is False:
                    return False
                saved = await self.appointments.repo.save(appt)
        except VersionConflict:
            return False  # another replica (or a request) wrote first; the next round looks again
        except Exception:
            log.exception("lifecycle sweep of an appointment failed")
            return False
        await self._free(saved)
        return True

    async def lifecycle_sweeper(self: "Scheduling") -> None:
        while True:
            try:
                expired, missed = await self.expire_holds(), await self.record_no_shows()
                if expired or missed:
                    logs.info(log, "lifecycle sweep", holds_expired=expired, no_shows=missed)
            except Exception:
                log.exception("lifecycle sweep failed")
            await asyncio.sleep(self.sweep_seconds)
