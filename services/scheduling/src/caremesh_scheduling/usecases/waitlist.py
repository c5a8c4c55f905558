"""The waitlist: entries, offering freed slots to the best match under a hold, accept and decline.

A freed slot is held for its offer by claims whose holder is the offer id, so no booking takes the
time while the offer is open; ``holds`` tells the claims module an offer is still open. An offer
that lapses (declined, expired, or its entry removed) passes the slot to the next match. Offer ids
derive from the freed appointment and the entry, so replicas and redeliveries agree on them.
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from pymongo import ASCENDING, IndexModel

from caremesh_contracts import AppointmentCancelled, AppointmentHoldExpired
from caremesh_contracts.waitlist import WaitlistOfferLapsed
from caremesh_kit import context, logs
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, Invalid, NotFound
from caremesh_kit.periodic import every
from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_scheduling.domain import Appointment, Claim, utcnow
from caremesh_scheduling.domain.waitlist import FreedSlot, Status, WaitlistEntry, Wish, best_match
from caremesh_scheduling.usecases.booking import Scheduling

log = logs.get("caremesh.scheduling.waitlist")
OFFERS = uuid.UUID("6f1d2c1e-3b7a-5c55-9a43-0c9e8d1f2a77")


class Waitlist:
    def __init__(self, runtime: Runtime, scheduling: Scheduling, hold: timedelta, sweep_seconds: float) -> None:
        self.repo: Repository[WaitlistEntry] = runtime.repository(
            "waitlist",
            WaitlistEntry,
            [
                IndexModel([("status", ASCENDING), ("wish.service_code", ASCENDING)]),
                IndexModel([("offer.offer_id", ASCENDING)]),
                IndexModel([("wish.patient_id", ASCENDING)]),
            ],
        )
        self.scheduling = scheduling
        self.claims = scheduling.claims
        self.hold = hold
        self.sweep_seconds = sweep_seconds
        scheduling.appointments.other_holders.append(self.holds)
        # Called after an accepted offer is booked (e.g. to link the entry's referral).
        self.on_booked: list[Callable[[WaitlistEntry, Appointment], Awaitable[None]]] = []

    # -- entries -------------------------------------------------------------------------------
    async def add(self, wish: Wish, entry_id: str | None = None) -> WaitlistEntry:
        return await self.repo.add(WaitlistEntry.add(entry_id or context.new_id(), wish, utcnow()))

    async def get(self, entry_id: str) -> WaitlistEntry:
        return await self.repo.get(entry_id)

    async def remove(self, entry_id: str) -> WaitlistEntry:
        """An open offer lapses with it (``offer_lapsed``), which passes the slot on."""
        return await self.repo.mutate(entry_id, lambda e: e.remove(utcnow()))

    async def of_patient(self, patient_id: str, limit: int) -> list[WaitlistEntry]:
        cursor = self.repo.collection.find({"wish.patient_id": patient_id}).sort("added_at", ASCENDING)
        return [WaitlistEntry.from_document(d) async for d in cursor.limit(limit)]  # type: ignore[misc]

    async def outstanding(
        self, limit: int, offset: int, practitioner_id: str | None = None
    ) -> tuple[list[WaitlistEntry], int]:
        """Open offers, the soonest to lapse first."""
        query: dict = {"status": Status.OFFERED.value}
        if practitioner_id:
            query["offer.slot.practitioner_id"] = practitioner_id
        total = await self.repo.collection.count_documents(query)
        cursor = self.repo.collection.find(query).sort([("offer.expires_at", ASCENDING), ("_id", ASCENDING)])
        found = [WaitlistEntry.from_document(d) async for d in cursor.skip(offset).limit(limit)]  # type: ignore[misc]
        return found, total

    async def by_offer(self, offer_id: str) -> WaitlistEntry:
        doc = await self.repo.collection.find_one({"offer.offer_id": offer_id}, {"_id": 1})
        entry = await self.repo.find(doc["_id"]) if doc else None
        if entry is None or entry.offer is None or entry.offer.offer_id != offer_id:
            raise NotFound(f"offer {offer_id} not found")
        return entry

    async def holds(self, holder_id: str) -> bool:
        """True while ``holder_id`` is an open offer: its claims keep the slot for it."""
        doc = await self.repo.collection.find_one({"offer.offer_id": holder_id}, {"_id": 1})
        entry = await self.repo.find(doc["_id"]) if doc else None
        return (
            entry is not None
            and entry.status is Status.OFFERED
            and entry.offer is not None
            and entry.offer.offer_id == holder_id
            and entry.offer.expires_at > utcnow()
        )

    # -- offers --------------------------------------------------------------------------------
    async def on_appointment_cancelled(
        self, event: AppointmentCancelled | AppointmentHoldExpired, env: Envelope
    ) -> None:
        appt = await self.scheduling.appointments.repo.find(event.appointment_id)
        if appt is None or appt.start <= utcnow() or not appt.location_id:
            return
        if await self._chain_open(appt.id):  # a redelivery: the chain has started
            return
        await self.offer_next(await self._freed(appt))

    async def _freed(self, appt: Appointment) -> FreedSlot:
        practitioner = await self.scheduling.calendar.practitioners.get(appt.practitioner_id)
        location = await self.scheduling.calendar.locations.get(appt.location_id)
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
        appt = await self.scheduling.appointments.repo.get(slot.appointment_id)
        return [c for c in appt.claims() if c.kind != "patient"]

    async def offer_next(self, slot: FreedSlot) -> WaitlistEntry | None:
        """Offer the slot to the best match still waiting; None when nobody fits or it is taken."""
        query = {"status": Status.WAITING.value, "wish.service_code": slot.service_code}
        entries = [WaitlistEntry.from_document(d) async for d in self.repo.collection.find(query)]  # type: ignore[misc]
        claims = await self._hold_claims(slot)
        while (entry := best_match(entries, slot, utcnow())) is not None:
            offer_id = str(uuid.uuid5(OFFERS, f"{slot.appointment_id}:{entry.id}"))
            now = utcnow()
            if await self.claims.acquire(offer_id, claims, self.scheduling.appointments.holds, now) is not None:
                return None  # booked by someone else meanwhile: nothing to offer
            await self.claims.settle(offer_id)
            try:
                return await self.repo.mutate(
                    entry.id,
                    lambda e, o=offer_id, n=now: e.make_offer(  # type: ignore[misc]
                        o, slot, n + self.hold, n
                    ),
                )
            except Conflict:  # removed or offered another slot meanwhile: the next one
                await self.claims.release(offer_id, claims)
                entries.remove(entry)
        return None

    async def accept(self, offer_id: str) -> tuple[WaitlistEntry, Appointment]:
        entry = await self.by_offer(offer_id)
        if entry.status is Status.BOOKED and entry.appointment_id:
            return entry, await self.scheduling.get_appointment(entry.appointment_id)  # accepted already
        now = utcnow()
        offer = entry.open_offer(offer_id, "accept")
        if now > offer.expires_at:
            raise Conflict(f"offer {offer_id} expired", current="expired", requested="accept")
        # Let go of the hold and book at once, as the patient: the booking's own claims decide.
        await self.claims.release(offer_id, await self._hold_claims(offer.slot))
        try:
            appt = await self.scheduling.request_appointment(entry.wish.patient_id, offer.slot.slot_id)
        except (Conflict, Invalid):
            await self._lapse(entry.id, offer_id, "declined")  # its event passes the slot on
            raise
        entry = await self.repo.mutate(entry.id, lambda e: e.accept(offer_id, appt.id, now))
        for hook in self.on_booked:
            await hook(entry, appt)
        return entry, appt

    async def decline(self, offer_id: str) -> WaitlistEntry:
        entry = await self.by_offer(offer_id)  # NotFound unless it holds this offer
        if entry.status is Status.BOOKED:
            raise Conflict(f"offer {offer_id} was accepted", current="accepted", requested="decline")
        await self._lapse(entry.id, offer_id, "declined")
        return await self.repo.get(entry.id)

    async def _lapse(self, entry_id: str, offer_id: str, reason: str) -> bool:
        """True when this call lapsed it (of two replicas, one does); its event passes the slot on."""
        won: list[bool] = []

        def lapse(e: WaitlistEntry) -> bool:
            won.append(e.lapse(offer_id, reason, utcnow()))
            return won[-1]

        await self.repo.mutate(entry_id, lapse)
        return bool(won and won[-1])

    async def on_offer_lapsed(self, event: WaitlistOfferLapsed, env: Envelope) -> None:
        """Declined, expired or removed: release the hold and offer the slot to the next match.
        Driven by the lapse's own event, so a crash after the lapse is committed loses nothing."""
        entry = await self.repo.find(event.entry_id)
        offer = entry.lapsed_offer(event.offer_id) if entry else None
        if offer is None:
            return
        await self.claims.release(offer.offer_id, await self._hold_claims(offer.slot))
        if offer.slot.start > utcnow() and not await self._chain_open(offer.slot.appointment_id):
            await self.offer_next(offer.slot)

    async def _chain_open(self, freed_appointment_id: str) -> bool:
        """Someone holds an open offer of this slot, or took it: a redelivery has nothing to do."""
        return (
            await self.repo.collection.find_one(
                {
                    "offer.slot.appointment_id": freed_appointment_id,
                    "status": {"$in": [Status.OFFERED.value, Status.BOOKED.value]},
                }
            )
            is not None
        )

    # -- the expiry sweep ----------------------------------------------------------------------
    async def lapse_expired(self) -> int:
        """Every replica may run this; the compare-and-set commit lets one lapse each offer, and its
        ``offer_lapsed`` event passes the slot on."""
        lapsed = 0
        query = {"status": Status.OFFERED.value, "offer.expires_at": {"$lt": utcnow()}}
        for doc in [d async for d in self.repo.collection.find(query)]:
            entry = WaitlistEntry.from_document(doc)
            if entry.offer is None:
                continue
            try:
                lapsed += await self._lapse(entry.id, entry.offer.offer_id, "expired")
            except Exception:
                log.exception("lapsing an expired offer failed")
        return lapsed

    async def expiry_sweeper(self) -> None:
        await every(self.sweep_seconds, self.lapse_expired, "lapsed expired waitlist offers")
