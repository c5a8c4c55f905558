"""The waitlist: patients waiting for a service, and offering a freed slot to the best match.
Pure Python: no I/O.

An entry waits, is offered one slot at a time under a hold that lapses, and is either booked
(accepted) or waits again (declined or expired) without being offered that slot again.
"""

from datetime import datetime, time
from enum import IntEnum, StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator

from caremesh_contracts.waitlist import (
    WaitlistEntryAccepted,
    WaitlistEntryAdded,
    WaitlistEntryOffered,
    WaitlistEntryRemoved,
    WaitlistOfferLapsed,
)
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.codes import SERVICE_CODE
from caremesh_kit.errors import Conflict
from caremesh_kit.types import CalendarDate, WallClockTime


class Priority(IntEnum):
    """Higher is offered first; ties go to who has waited longest."""

    ROUTINE = 1
    SOON = 2
    URGENT = 3


class Weekday(IntEnum):
    MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


class PreferredTime(BaseModel):
    """A window the patient can come in, in the location's local time."""

    days: list[Weekday] = Field(default_factory=lambda: list(Weekday), min_length=1)
    start: WallClockTime = time(0, 0)
    end: WallClockTime = time(23, 59, 59)

    @model_validator(mode="after")
    def _order(self) -> "PreferredTime":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def fits(self, local_start: datetime, local_end: datetime) -> bool:
        return (
            Weekday(local_start.weekday()) in self.days
            and self.start <= local_start.time()
            and local_end.time() <= self.end
            and local_start.date() == local_end.date()
        )


class Wish(BaseModel):
    patient_id: str = Field(min_length=1)
    service_code: str = Field(pattern=SERVICE_CODE)
    practitioner_id: str | None = None
    earliest: CalendarDate | None = None
    latest: CalendarDate | None = None
    preferred_times: list[PreferredTime] = Field(
        default_factory=list, max_length=14, description="any of them fits; none given: any time"
    )
    priority: Priority = Priority.ROUTINE
    referral_id: str | None = None

    @model_validator(mode="after")
    def _window(self) -> "Wish":
        if self.earliest and self.latest and self.latest < self.earliest:
            raise ValueError("latest is before earliest")
        return self


class FreedSlot(BaseModel):
    """A slot that came free, as the waitlist needs to see it."""

    practitioner_id: str
    practitioner_name: str
    service_code: str
    start: datetime
    end: datetime
    time_zone: str  # the location's
    slot_id: str = ""  # what accepting books
    appointment_id: str = ""  # the cancelled appointment that freed it

    @property
    def key(self) -> str:
        return f"{self.practitioner_id}@{self.start.isoformat()}"


class Offer(BaseModel):
    offer_id: str
    slot: FreedSlot
    made_at: datetime
    expires_at: datetime


class Status(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    REMOVED = "removed"


class WaitlistEntry(Aggregate):
    wish: Wish
    status: Status
    added_at: datetime
    offer: Offer | None = None
    passed_over: list[str] = Field(default_factory=list)  # slots declined or let lapse: not offered again
    past_offers: list[Offer] = Field(default_factory=list)  # lapsed ones, so their slot can be passed on
    appointment_id: str | None = None

    @classmethod
    def add(cls, entry_id: str, wish: Wish, now: datetime) -> "WaitlistEntry":
        entry = cls(id=entry_id, wish=wish, status=Status.WAITING, added_at=now)
        entry.raise_event(WaitlistEntryAdded(**entry._ids()))
        return entry

    def _ids(self) -> dict[str, str]:
        return {"entry_id": self.id, "patient_id": self.wish.patient_id, "service_code": self.wish.service_code}

    def matches(self, slot: FreedSlot, now: datetime) -> bool:
        w = self.wish
        if self.status is not Status.WAITING or slot.key in self.passed_over or slot.start <= now:
            return False
        if slot.service_code != w.service_code or (w.practitioner_id and slot.practitioner_id != w.practitioner_id):
            return False
        zone = ZoneInfo(slot.time_zone)
        local_start, local_end = slot.start.astimezone(zone), slot.end.astimezone(zone)
        if (w.earliest and local_start.date() < w.earliest) or (w.latest and local_start.date() > w.latest):
            return False
        return not w.preferred_times or any(p.fits(local_start, local_end) for p in w.preferred_times)

    def make_offer(self, offer_id: str, slot: FreedSlot, expires_at: datetime, now: datetime) -> bool:
        if self.offer is not None and self.offer.offer_id == offer_id:
            return False  # the same offer again
        if not self.matches(slot, now):
            raise Conflict(
                f"waitlist entry {self.id} is {self.status.value} or does not fit this slot",
                current=self.status.value,
                requested=Status.OFFERED.value,
            )
        self.status = Status.OFFERED
        self.offer = Offer(offer_id=offer_id, slot=slot, made_at=now, expires_at=expires_at)
        self.raise_event(
            WaitlistEntryOffered(
                offer_id=offer_id,
                practitioner_id=slot.practitioner_id,
                practitioner_name=slot.practitioner_name,
                start=slot.start,
                end=slot.end,
                expires_at=expires_at,
                **self._ids(),
            )
        )
        return True

    def open_offer(self, offer_id: str, verb: str) -> Offer:
        if self.status is not Status.OFFERED or self.offer is None or self.offer.offer_id != offer_id:
            raise Conflict(f"offer {offer_id} is not open: cannot {verb} it", current=self.status.value, requested=verb)
        return self.offer

    def accept(self, offer_id: str, appointment_id: str, now: datetime) -> bool:
        if self.status is Status.BOOKED and self.offer and self.offer.offer_id == offer_id:
            return False  # accepted already
        offer = self.open_offer(offer_id, "accept")
        if now > offer.expires_at:
            raise Conflict(
                f"offer {offer_id} expired at {offer.expires_at.isoformat()}", current="expired", requested="accept"
            )
        self.status, self.appointment_id = Status.BOOKED, appointment_id
        self.raise_event(WaitlistEntryAccepted(offer_id=offer_id, appointment_id=appointment_id, **self._ids()))
        return True

    def lapse(self, offer_id: str, reason: str, now: datetime) -> bool:
        """Declined, or expired (only once its time is up). The entry waits again."""
        if self.offer is None or self.offer.offer_id != offer_id or self.status is not Status.OFFERED:
            return False  # already lapsed, accepted or replaced
        if reason == "expired" and now <= self.offer.expires_at:
            return False
        self._let_go(reason)
        self.status = Status.WAITING
        return True

    def _let_go(self, reason: str) -> None:
        assert self.offer is not None
        self.passed_over = [*self.passed_over, self.offer.slot.key]
        self.past_offers = [*self.past_offers[-19:], self.offer]
        self.raise_event(WaitlistOfferLapsed(offer_id=self.offer.offer_id, reason=reason, **self._ids()))

    def holds_offer(self, offer_id: str, now: datetime) -> bool:
        """True while ``offer_id`` is this entry's open offer: its claims keep the slot for it."""
        return (
            self.status is Status.OFFERED
            and self.offer is not None
            and self.offer.offer_id == offer_id
            and self.offer.expires_at > now
        )

    def lapsed_offer(self, offer_id: str) -> Offer | None:
        return next((o for o in reversed(self.past_offers) if o.offer_id == offer_id), None)

    def remove(self, now: datetime) -> bool:
        if self.status is Status.REMOVED:
            return False
        if self.status is Status.BOOKED:
            raise Conflict(
                "a booked waitlist entry is done; cancel its appointment instead",
                current=self.status.value,
                requested=Status.REMOVED.value,
            )
        if self.status is Status.OFFERED:
            self._let_go("declined")  # the open offer passes on
        self.status = Status.REMOVED
        self.raise_event(WaitlistEntryRemoved(**self._ids()))
        return True


def best_match(entries: list[WaitlistEntry], slot: FreedSlot, now: datetime) -> WaitlistEntry | None:
    """Highest priority first, then who was added first; None if nobody fits."""
    fitting = [e for e in entries if e.matches(slot, now)]
    return min(fitting, key=lambda e: (-e.wish.priority, e.added_at, e.id), default=None)
