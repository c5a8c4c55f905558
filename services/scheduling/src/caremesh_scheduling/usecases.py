"""Scheduling use cases, shared by the HTTP API and the event handlers."""

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from caremesh_contracts import EligibilityConfirmed, EligibilityDenied
from caremesh_kit import context, logs
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, NotFound, Unprocessable
from caremesh_kit.store import Repository

from caremesh_scheduling.domain import (
    Appointment,
    CancelReason,
    Practitioner,
    PractitionerDetails,
    Slot,
    SlotTimes,
    Status,
    utcnow,
)
from caremesh_scheduling.store import Appointments, SlotClaims, Slots

log = logs.get("caremesh.scheduling")


@dataclass
class Scheduling:
    practitioners: Repository[Practitioner]
    slots: Slots
    appointments: Appointments
    claims: SlotClaims
    orphan_claim_seconds: float = 60

    # -- calendar ---------------------------------------------------------------------------
    async def add_practitioner(self, details: PractitionerDetails) -> Practitioner:
        return await self.practitioners.add(Practitioner(id=context.new_id(), details=details))

    async def add_slots(self, practitioner_id: str, times: list[SlotTimes]) -> list[Slot]:
        await self.practitioners.get(practitioner_id)
        return [await self.slots.repo.add(Slot(id=context.new_id(), practitioner_id=practitioner_id,
                                                start=t.start, end=t.end)) for t in times]

    async def find_slots(self, practitioner_id: str | None, start: datetime, end: datetime,
                         free_only: bool, limit: int) -> list[tuple[Slot, bool]]:
        slots = await self.slots.between(practitioner_id, start, end, limit)
        held = await self.claims.held([s.id for s in slots])
        return [(s, s.id not in held) for s in slots if not (free_only and s.id in held)]

    # -- appointments -----------------------------------------------------------------------
    async def request_appointment(self, patient_id: str, slot_id: str, service_code: str) -> Appointment:
        slot = await self.slots.repo.get(slot_id)
        practitioner = await self.practitioners.get(slot.practitioner_id)
        now = utcnow()
        appt = Appointment.request(context.new_id(), patient_id, slot, practitioner, service_code, now)
        if not await self._claim(slot.id, appt.id, now):
            raise Conflict("the slot is already taken", field="slot_id")
        try:
            appt = await self.appointments.repo.add(appt)
        except BaseException:
            # Release only if the commit did not happen: a failure after it (or a cancelled
            # request) may have saved the appointment, whose claim must stand.
            if await self.appointments.repo.find(appt.id) is None:
                await self.claims.release(slot.id, appt.id)
            raise
        await self.claims.settle(slot.id, appt.id)
        return appt

    async def _claim(self, slot_id: str, appointment_id: str, now: datetime) -> bool:
        """Claim the slot; a claim left by an appointment that no longer holds it (a crash
        between a cancel and its release) is taken over."""
        if await self.claims.claim(slot_id, appointment_id, now):
            return True
        holder = await self.claims.holder(slot_id)
        if holder is None or not holder.get("settled"):
            return False  # an unsettled claim may be a request in flight: the sweeper decides
        appt = await self.appointments.repo.find(holder["appointment_id"])
        if appt is not None and appt.holds_slot:
            return False
        await self.claims.release(slot_id, holder["appointment_id"])
        return await self.claims.claim(slot_id, appointment_id, now)

    async def get_appointment(self, appointment_id: str) -> Appointment:
        return await self.appointments.repo.get(appointment_id)

    async def appointments_of(self, patient_id: str, limit: int) -> list[Appointment]:
        return await self.appointments.for_patient(patient_id, limit)

    async def cancel(self, appointment_id: str, reason: CancelReason, by: str, by_role: str,
                     note: str | None) -> Appointment:
        appt = await self.appointments.repo.mutate(appointment_id, lambda a: a.cancel(reason, by, by_role, utcnow(), note))
        await self.claims.release(appt.slot_id, appt.id)  # after the save; repeating it is harmless
        return appt

    async def check_in(self, appointment_id: str) -> Appointment:
        return await self.appointments.repo.mutate(appointment_id, lambda a: a.check_in(utcnow()))

    async def complete(self, appointment_id: str) -> Appointment:
        appt = await self.appointments.repo.get(appointment_id)
        practitioner = await self.practitioners.get(appt.practitioner_id)
        return await self.appointments.repo.mutate(
            appointment_id, lambda a: a.complete(practitioner.details.name, utcnow()))

    async def mark_no_show(self, appointment_id: str) -> Appointment:
        return await self.appointments.repo.mutate(appointment_id, lambda a: a.mark_no_show(utcnow()))

    async def on_eligibility_confirmed(self, event: EligibilityConfirmed, env: Envelope) -> None:
        appt = await self._appointment_for(event.appointment_id)
        practitioner = await self.practitioners.get(appt.practitioner_id)
        try:
            # Checked on each (re)load: a cancel may commit between the read and the write.
            await self.appointments.repo.mutate(
                appt.id, lambda a: a.status is not Status.CANCELLED and a.book(practitioner.details.name, utcnow()))
        except Conflict as exc:
            raise Unprocessable(exc.detail) from exc

    async def on_eligibility_denied(self, event: EligibilityDenied, env: Envelope) -> None:
        appt = await self._appointment_for(event.appointment_id)
        try:
            appt = await self.appointments.repo.mutate(
                appt.id, lambda a: a.status is not Status.CANCELLED and a.decline(event.reason_code, utcnow()))
        except Conflict as exc:
            raise Unprocessable(exc.detail) from exc
        # Freed after the decline is saved; a redelivery repeats this harmlessly.
        await self.claims.release(appt.slot_id, appt.id)

    async def _appointment_for(self, appointment_id: str) -> Appointment:
        try:
            return await self.appointments.repo.get(appointment_id)
        except NotFound as exc:
            raise Unprocessable(f"unknown appointment {appointment_id}") from exc

    # -- housekeeping -----------------------------------------------------------------------
    async def free_orphan_claims(self) -> int:
        """Free claims whose appointment was never saved (a crash between the two writes);
        settle those whose appointment was saved but not yet marked."""
        freed = 0
        for claim in await self.claims.unsettled_before(utcnow() - timedelta(seconds=self.orphan_claim_seconds)):
            appt = await self.appointments.repo.find(claim["appointment_id"])
            if appt is None or not appt.holds_slot:
                await self.claims.release(claim["_id"], claim["appointment_id"])
                freed += 1
            else:
                await self.claims.settle(claim["_id"], claim["appointment_id"])
        return freed

    async def orphan_claim_sweeper(self) -> None:
        while True:
            try:
                if n := await self.free_orphan_claims():
                    logs.info(log, "freed orphaned slot claims", count=n)
            except Exception:  # noqa: BLE001 - try again next round
                log.exception("orphan claim sweep failed")
            await asyncio.sleep(self.orphan_claim_seconds / 2)
