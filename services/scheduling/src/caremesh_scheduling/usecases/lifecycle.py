"""The lifecycle beyond booking: cancel, check in, complete, no-show, self-pay, and the atomic
reschedule."""

from caremesh_kit.errors import Conflict, VersionConflict
from caremesh_scheduling.domain import MOVABLE, Appointment, CancelReason, Slot, SlotRef
from caremesh_scheduling.store import AppointmentStore
from caremesh_scheduling.usecases.appointment_book import AppointmentBook, Unavailable, taken
from caremesh_scheduling.usecases.calendar import CalendarAdmin


class AppointmentChanges:
    def __init__(self, calendar: CalendarAdmin, appointments: AppointmentStore, book: AppointmentBook) -> None:
        self.calendar = calendar
        self.repo = appointments.repo
        self.book = book
        self.claims = book.claims
        self.clock = book.clock

    async def cancel(
        self, appointment_id: str, reason: CancelReason, by: str, by_role: str, note: str | None
    ) -> Appointment:
        appt = await self.repo.mutate(appointment_id, lambda a: a.cancel(reason, by, by_role, self.clock(), note))
        await self.book.changed(appt)
        return appt

    async def check_in(self, appointment_id: str) -> Appointment:
        return await self.repo.mutate(appointment_id, lambda a: a.check_in(self.clock()))

    async def complete(self, appointment_id: str) -> Appointment:
        appt = await self.repo.get(appointment_id)
        practitioner = await self.calendar.practitioner(appt.practitioner_id)
        return await self.repo.mutate(appointment_id, lambda a: a.complete(practitioner.details.name, self.clock()))

    async def mark_no_show(self, appointment_id: str) -> Appointment:
        return await self.repo.mutate(appointment_id, lambda a: a.mark_no_show(self.clock()))

    async def self_pay(self, appointment_id: str) -> Appointment:
        appt = await self.repo.get(appointment_id)
        practitioner = await self.calendar.practitioner(appt.practitioner_id)
        return await self.repo.mutate(appointment_id, lambda a: a.self_pay(practitioner.details.name, self.clock()))

    async def reschedule(self, appointment_id: str, ref: SlotRef | str) -> Appointment:
        """Claim the new time, move the appointment in one compare-and-set write (with its
        event), then let the old time go. Any failure before the write leaves the old booking
        as it was."""
        appt = await self.repo.get(appointment_id)
        if appt.status not in MOVABLE:
            raise Conflict(
                f"cannot reschedule an appointment that is {appt.status.value}",
                current=appt.status.value,
                requested="rescheduled",
            )
        slot, field = await self.calendar.derive_slot(ref)
        if slot.id == appt.slot_id:
            return appt
        practitioner = await self.calendar.practitioner(slot.practitioner_id)
        now = self.clock()
        moved = appt.model_copy(deep=True)
        moved.reschedule(slot, practitioner.details.name, now)  # checks it before anything is claimed
        moved.take_events()
        old = {c.id for c in appt.claims()}
        # The buckets it already holds stay its own; only the new ones are claimed (and undone).
        fresh = [c for c in moved.claims() if c.id not in old]
        held_by = await self.claims.acquire(appt.id, fresh, self.book.holds, now)
        if held_by is not None:
            raise taken(held_by, field)
        try:
            # The entry also names the old buckets the move lets go: whichever side of the commit a
            # crash lands on, the sweeper frees what the appointment does not hold then.
            moved_ids = {c.id for c in moved.claims()}
            await self.claims.name(appt.id, fresh + [c for c in appt.claims() if c.id not in moved_ids])
            if self.book.too_slow(now):
                raise Unavailable("the store is too slow to reschedule safely now; try again")
            saved = await self._move(appt, slot, practitioner.details.name)
        except BaseException:
            current = await self.repo.find(appt.id)
            if current is None or current.slot_id != slot.id:  # the move did not commit
                keep = {c.id for c in current.claims()} if current else set()
                await self.claims.undo(appt.id, [c for c in fresh if c.id not in keep])
            raise
        new = {c.id for c in saved.claims()}
        await self.claims.release(appt.id, [c for c in appt.claims() if c.id not in new])
        await self.claims.settle(appt.id)
        await self.book.changed(saved)
        return saved

    async def _move(self, based_on: Appointment, slot: Slot, practitioner_name: str) -> Appointment:
        """The move, on top of any other change (e.g. insurance's) that came first."""

        def move(appt: Appointment) -> None:
            if appt.slot_id != based_on.slot_id:
                raise Conflict("the appointment was rescheduled meanwhile; look again", field="slot_id")
            appt.reschedule(slot, practitioner_name, self.clock())

        try:
            return await self.repo.mutate(based_on.id, move)
        except VersionConflict as exc:
            raise Conflict("the appointment keeps changing; try again") from exc
