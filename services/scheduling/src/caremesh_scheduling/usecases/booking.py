"""Booking a derived slot, and reading appointments."""

from datetime import timedelta

from caremesh_kit import context
from caremesh_kit.errors import Invalid
from caremesh_scheduling.domain import Appointment, SlotRef
from caremesh_scheduling.store import AppointmentStore
from caremesh_scheduling.usecases.appointment_book import AppointmentBook, Unavailable, taken
from caremesh_scheduling.usecases.calendar import CalendarAdmin


class Booking:
    def __init__(
        self, calendar: CalendarAdmin, appointments: AppointmentStore, book: AppointmentBook, hold: timedelta
    ) -> None:
        self.calendar = calendar
        self.appointments = appointments
        self.book = book
        self.claims = book.claims
        self.clock = book.clock
        self.hold = hold  # pending: while insurance checks eligibility

    async def request_appointment(self, patient_id: str, ref: SlotRef | str) -> Appointment:
        """Book a slot of the derived availability: by its slot id, or by what it names."""
        slot, field = await self.calendar.derive_slot(ref)
        now, appointment_id = self.clock(), context.new_id()
        try:
            appt = Appointment.request(appointment_id, patient_id, slot, now, self.hold)
        except Invalid as exc:
            raise Invalid(exc.detail, field=field) from exc
        claims = appt.claims()
        held_by = await self.claims.acquire(appt.id, claims, self.book.holds, now)
        if held_by is not None:
            raise taken(held_by, field)
        if self.book.too_slow(now):
            await self.claims.undo(appointment_id, claims)
            raise Unavailable("the store is too slow to book safely now; try again")
        try:
            appt = await self.book.add(lambda: Appointment.request(appointment_id, patient_id, slot, now, self.hold))
        except BaseException:
            # Undo only if the commit did not happen: a failure after it (or a cancelled request)
            # may have saved the appointment, whose claims must stand (the sweeper settles them).
            if await self.appointments.repo.find(appointment_id) is None:
                await self.claims.undo(appointment_id, claims)
            raise
        await self.claims.settle(appt.id)
        await self.book.changed(appt)
        return appt

    async def get_appointment(self, appointment_id: str) -> Appointment:
        return await self.appointments.repo.get(appointment_id)

    async def appointments_of(self, patient_id: str, limit: int) -> list[Appointment]:
        return await self.appointments.for_patient(patient_id, limit)
