"""The waitlist: entries, offering freed slots to the best match under a hold, accept and decline.

A freed slot is held for its offer by claims whose holder is the offer id, so no booking takes the
time while the offer is open (``AppointmentBook.holds`` tells the claims an offer is still open).
An offer that lapses (declined, expired, or its entry removed) passes the slot to the next match.
Offer ids derive from the freed appointment and the entry, so replicas and redeliveries agree on them.
"""

import uuid
from datetime import datetime, timedelta

from caremesh_contracts import AppointmentCancelled, AppointmentHoldExpired
from caremesh_contracts.waitlist import WaitlistOfferLapsed
from caremesh_kit import context, logs
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, Invalid, NotFound
from caremesh_scheduling.domain import Appointment, Claim
from caremesh_scheduling.domain.waitlist import FreedSlot, Status, WaitlistEntry, Wish, best_match
from caremesh_scheduling.store import AppointmentStore, WaitlistStore
from caremesh_scheduling.usecases.appointment_book import AppointmentBook
from caremesh_scheduling.usecases.booking import Booking
from caremesh_scheduling.usecases.calendar import CalendarAdmin
from caremesh_scheduling.usecases.referrals import Referrals

log = logs.get("caremesh.scheduling.waitlist")
OFFERS = uuid.UUID("6f1d2c1e-3b7a-5c55-9a43-0c9e8d1f2a77")


class Waitlist:
    def __init__(
        self,
        store: WaitlistStore,
        appointments: AppointmentStore,
        calendar: CalendarAdmin,
        booking: Booking,
        book: AppointmentBook,
        referrals: Referrals,
        hold: timedelta,
    ) -> None:
        self.store = store
        self.repo = store.repo
        self.appointments = appointments
        self.calendar = calendar
        self.booking = booking
        self.book = book
        self.claims = book.claims
        self.clock = book.clock
        self.referrals = referrals  # an accepted offer made for a referral is linked to it
        self.hold = hold

    # -- entries -------------------------------------------------------------------------------
    async def add(self, wish: Wish, entry_id: str | None = None) -> WaitlistEntry:
        return await self.repo.add(WaitlistEntry.add(entry_id or context.new_id(), wish, self.clock()))

    async def get(self, entry_id: str) -> WaitlistEntry:
        return await self.repo.get(entry_id)

    async def remove(self, entry_id: str) -> WaitlistEntry:
        """An open offer lapses with it (``offer_lapsed``), which passes the slot on."""
        return await self.repo.mutate(entry_id, lambda e: e.remove(self.clock()))

    async def of_patient(self, patient_id: str, limit: int) -> list[WaitlistEntry]:
        return await self.store.of_patient(patient_id, limit)

    async def outstanding(
        self, limit: int, offset: int, practitioner_id: str | None = None
    ) -> tuple[list[WaitlistEntry], int]:
        """Open offers, the soonest to lapse first."""
        return await self.store.outstanding(limit, offset, practitioner_id)

    async def by_offer(self, offer_id: str) -> WaitlistEntry:
        entry = await self.store.with_offer(offer_id)
        if entry is None or entry.offer is None or entry.offer.offer_id != offer_id:
            raise NotFound(f"offer {offer_id} not found")
        return entry

    # -- offers --------------------------------------------------------------------------------
    async def on_appointment_cancelled(
        self, event: AppointmentCancelled | AppointmentHoldExpired, env: Envelope
    ) -> None:
        appt = await self.appointments.repo.find(event.appointment_id)
        if appt is None or appt.start <= self.clock() or not appt.location_id:
            return
        if await self.store.chain_open(appt.id):  # a redelivery: the chain has started
            return
        await self.offer_next(await self._freed(appt))

    async def _freed(self, appt: Appointment) -> FreedSlot:
        practitioner = await self.calendar.practitioner(appt.practitioner_id)
        location = await self.calendar.location(appt.location_id)
        return FreedSlot(
            practitioner_id=appt.practitioner_id,
            practitioner_name=practitioner.details.name,
            service_code=appt.service_code,
            start=appt.start,
            end=appt.end,
            time_zone=location.time_zone,
            slot_id=appt.slot_id,
            appointment_id=appt.id,
        )

    async def _hold_claims(self, slot: FreedSlot) -> list[Claim]:
        """The practitioner's and the room's time, as the freed appointment had it."""
        appt = await self.appointments.repo.get(slot.appointment_id)
        return [c for c in appt.claims() if c.kind != "patient"]

    async def offer_next(self, slot: FreedSlot) -> WaitlistEntry | None:
        """Offer the slot to the best match still waiting; None when nobody fits or it is taken."""
        entries = await self.store.waiting_for(slot.service_code)
        claims = await self._hold_claims(slot)
        while (entry := best_match(entries, slot, self.clock())) is not None:
            offer_id = str(uuid.uuid5(OFFERS, f"{slot.appointment_id}:{entry.id}"))
            now = self.clock()
            if await self.claims.acquire(offer_id, claims, self.book.holds, now) is not None:
                return None  # booked by someone else meanwhile: nothing to offer
            await self.claims.settle(offer_id)
            try:
                return await self._offer(entry.id, offer_id, slot, now)
            except Conflict:  # removed or offered another slot meanwhile: the next one
                await self.claims.release(offer_id, claims)
                entries.remove(entry)
        return None

    async def _offer(self, entry_id: str, offer_id: str, slot: FreedSlot, now: datetime) -> WaitlistEntry:
        return await self.repo.mutate(entry_id, lambda e: e.make_offer(offer_id, slot, now + self.hold, now))

    async def accept(self, offer_id: str) -> tuple[WaitlistEntry, Appointment]:
        entry = await self.by_offer(offer_id)
        if entry.status is Status.BOOKED and entry.appointment_id:
            return entry, await self.booking.get_appointment(entry.appointment_id)  # accepted already
        now = self.clock()
        offer = entry.open_offer(offer_id, "accept")
        if now > offer.expires_at:
            raise Conflict(f"offer {offer_id} expired", current="expired", requested="accept")
        # Let go of the hold and book at once, as the patient: the booking's own claims decide.
        await self.claims.release(offer_id, await self._hold_claims(offer.slot))
        try:
            appt = await self.booking.request_appointment(entry.wish.patient_id, offer.slot.slot_id)
        except (Conflict, Invalid):
            await self._lapse(entry.id, offer_id, "declined")  # its event passes the slot on
            raise
        entry = await self.repo.mutate(entry.id, lambda e: e.accept(offer_id, appt.id, now))
        await self.referrals.booked_from_waitlist(entry, appt)
        return entry, appt

    async def decline(self, offer_id: str) -> WaitlistEntry:
        entry = await self.by_offer(offer_id)  # NotFound unless it holds this offer
        if entry.status is Status.BOOKED:
            raise Conflict(f"offer {offer_id} was accepted", current="accepted", requested="decline")
        await self._lapse(entry.id, offer_id, "declined")
        return await self.repo.get(entry.id)

    async def _lapse(self, entry_id: str, offer_id: str, reason: str) -> bool:
        """True when this call lapsed it (of two replicas, one does); its event passes the slot on."""
        _, outcome = await self.repo.apply(entry_id, lambda e: e.lapse(offer_id, reason, self.clock()))
        return outcome is not False

    async def on_offer_lapsed(self, event: WaitlistOfferLapsed, env: Envelope) -> None:
        """Declined, expired or removed: release the hold and offer the slot to the next match.
        Driven by the lapse's own event, so a crash after the lapse is committed loses nothing."""
        entry = await self.repo.find(event.entry_id)
        offer = entry.lapsed_offer(event.offer_id) if entry else None
        if offer is None:
            return
        await self.claims.release(offer.offer_id, await self._hold_claims(offer.slot))
        if offer.slot.start > self.clock() and not await self.store.chain_open(offer.slot.appointment_id):
            await self.offer_next(offer.slot)

    # -- the expiry sweep ----------------------------------------------------------------------
    async def lapse_expired(self) -> int:
        """Every replica may run this; the compare-and-set commit lets one lapse each offer, and its
        ``offer_lapsed`` event passes the slot on."""
        lapsed = 0
        for entry in await self.store.offers_expired(self.clock()):
            if entry.offer is None:
                continue
            try:
                lapsed += await self._lapse(entry.id, entry.offer.offer_id, "expired")
            except Exception:
                log.exception("lapsing an expired offer failed")
        return lapsed
