"""The appointment lifecycle. Pure Python: no I/O."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field

from caremesh_contracts import (
    AppointmentArrived,
    AppointmentAwaitingAuthorization,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentHoldExpired,
    AppointmentNoShowRecorded,
    AppointmentRequested,
    AppointmentRescheduled,
)
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict, Invalid
from caremesh_kit.lifecycle import guard
from caremesh_scheduling.domain.appointments.states import (
    DEFAULT_HOLD,
    HOLDS_SLOT,
    LATE_CANCEL_WINDOW,
    MOVABLE,
    ON_HOLD,
    TRANSITIONS,
    Action,
    Cancellation,
    CancelReason,
    NeedsAction,
    Payment,
    Status,
)
from caremesh_scheduling.domain.slots import Claim, Slot, claims_for


class Appointment(Aggregate):
    patient_id: str
    practitioner_id: str
    slot_id: str
    service_code: str
    start: datetime
    end: datetime
    status: Status
    # Where and what; empty on appointments made before slots were derived from templates.
    location_id: str = ""
    room: str | None = None
    service_type_id: str = ""
    # The practitioner's and the room's time around the visit, as the template had it when booked.
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    decline_reason: str | None = None
    cancellation: Cancellation | None = None
    arrived_at: datetime | None = None
    completed_at: datetime | None = None
    requested_at: datetime
    updated_at: datetime
    hold_expires_at: datetime | None = None
    authorization_id: str | None = None
    needs_action: NeedsAction | None = None
    payment: Payment = Payment.INSURANCE
    # The time of the latest insurance event that set or cleared ``needs_action``: an older one
    # delivered late changes nothing.
    insurance_at: datetime | None = None
    no_show_automatic: bool = False
    previous_starts: list[datetime] = Field(default_factory=list)

    @classmethod
    def request(
        cls, appointment_id: str, patient_id: str, slot: Slot, now: datetime, hold: timedelta = DEFAULT_HOLD
    ) -> "Appointment":
        if slot.start <= now:
            raise Invalid("the slot has already started", field="start")
        appt = cls(
            id=appointment_id,
            patient_id=patient_id,
            practitioner_id=slot.practitioner_id,
            slot_id=slot.id,
            service_code=slot.service_code,
            start=slot.start,
            end=slot.end,
            status=Status.REQUESTED,
            requested_at=now,
            updated_at=now,
            **_where(slot),
        )
        # The checks start at once, so the request is stored already on hold.
        appt._guard(Status.PENDING)
        appt.status, appt.hold_expires_at = Status.PENDING, min(now + hold, slot.start)
        # The visit's date where it takes place: the location's zone.
        local_day = slot.start.astimezone(ZoneInfo(slot.time_zone)).date()
        appt.raise_event(
            AppointmentRequested(
                appointment_id=appointment_id,
                patient_id=patient_id,
                practitioner_id=slot.practitioner_id,
                slot_id=slot.id,
                service_code=slot.service_code,
                start=slot.start,
                end=slot.end,
                service_date=local_day,
            )
        )
        return appt

    @property
    def footprint(self) -> tuple[datetime, datetime]:
        """The practitioner's and the room's time: the visit and its buffers."""
        return (
            self.start - timedelta(minutes=self.buffer_before_minutes),
            self.end + timedelta(minutes=self.buffer_after_minutes),
        )

    def claims(self) -> list[Claim]:
        return claims_for(
            self.practitioner_id,
            self.location_id,
            self.room,
            self.patient_id,
            self.start,
            self.end,
            timedelta(minutes=self.buffer_before_minutes),
            timedelta(minutes=self.buffer_after_minutes),
        )

    def _guard(self, target: Status) -> bool:
        """True if the move to ``target`` is due; False if already there (a repeat); else 409."""
        return guard(self.status, target, TRANSITIONS, "an appointment")

    def book(self, practitioner_name: str, now: datetime) -> bool:
        """Eligibility confirmed or authorization approved. False when already booked (a redelivery)."""
        if not self._guard(Status.BOOKED):
            return False
        event = AppointmentBooked(
            appointment_id=self.id,
            patient_id=self.patient_id,
            practitioner_id=self.practitioner_id,
            practitioner_name=practitioner_name,
            service_code=self.service_code,
            start=self.start,
            end=self.end,
        )
        self.status, self.hold_expires_at, self.updated_at = Status.BOOKED, None, now
        self.raise_event(event)
        return True

    def decline(self, reason_code: str, now: datetime) -> bool:
        """Eligibility denied. Returns False when already declined (a redelivery)."""
        if not self._guard(Status.DECLINED):
            return False
        # The event first: if it is invalid, the appointment is left unchanged.
        event = AppointmentDeclined(
            appointment_id=self.id,
            patient_id=self.patient_id,
            service_code=self.service_code,
            start=self.start,
            reason_code=reason_code,
        )
        self.status, self.decline_reason, self.updated_at = Status.DECLINED, reason_code, now
        self.hold_expires_at = None
        self.raise_event(event)
        return True

    def wait_on_authorization(self, authorization_id: str, now: datetime, hold: timedelta) -> bool:
        """The plan needs a prior authorization: hold the time longer while the payer decides."""
        if self.status is Status.WAITING_ON_AUTHORIZATION:
            if self.authorization_id == authorization_id:
                return False
            self.authorization_id, self.updated_at = authorization_id, now  # a new request replaces it
            return True
        if not self._guard(Status.WAITING_ON_AUTHORIZATION):
            return False
        until = min(now + hold, self.start)
        event = AppointmentAwaitingAuthorization(
            appointment_id=self.id,
            patient_id=self.patient_id,
            authorization_id=authorization_id,
            service_code=self.service_code,
            start=self.start,
            hold_expires_at=until,
        )
        self.status, self.authorization_id = Status.WAITING_ON_AUTHORIZATION, authorization_id
        self.hold_expires_at, self.updated_at = until, now
        self.raise_event(event)
        return True

    def hold_due(self, now: datetime) -> bool:
        return self.status in ON_HOLD and self.hold_expires_at is not None and self.hold_expires_at <= now

    def expire_hold(self, now: datetime) -> bool:
        """The hold ran out: the time goes free. False when already expired."""
        if not self._guard(Status.EXPIRED):
            return False
        if not self.hold_due(now):
            raise Invalid("the hold has not run out yet", field="status")
        event = AppointmentHoldExpired(
            appointment_id=self.id,
            patient_id=self.patient_id,
            service_code=self.service_code,
            start=self.start,
            held_as=self.status.value,
            expired_at=now,
        )
        self.status, self.updated_at = Status.EXPIRED, now
        self.raise_event(event)
        return True

    def cancel(self, reason: CancelReason, by: str, by_role: str, now: datetime, note: str | None = None) -> bool:
        if not self._guard(Status.CANCELLED):
            return False
        late = now >= self.start - LATE_CANCEL_WINDOW
        event = AppointmentCancelled(
            appointment_id=self.id,
            patient_id=self.patient_id,
            service_code=self.service_code,
            start=self.start,
            reason_code=reason.value,
            cancelled_by_role=by_role,
            late=late,
        )
        self.cancellation = Cancellation(reason_code=reason, by=by, by_role=by_role, at=now, late=late, note=note)
        self.status, self.hold_expires_at, self.needs_action, self.updated_at = Status.CANCELLED, None, None, now
        self.raise_event(event)
        return True

    def check_in(self, now: datetime) -> bool:
        if not self._guard(Status.ARRIVED):
            return False
        if now < self.start - timedelta(hours=2):
            raise Invalid("check-in opens two hours before the start", field="status")
        self.status, self.arrived_at, self.updated_at = Status.ARRIVED, now, now
        self.raise_event(AppointmentArrived(appointment_id=self.id, patient_id=self.patient_id, arrived_at=now))
        return True

    def complete(self, practitioner_name: str, now: datetime) -> bool:
        if not self._guard(Status.FULFILLED):
            return False
        event = AppointmentFulfilled(
            appointment_id=self.id,
            patient_id=self.patient_id,
            practitioner_id=self.practitioner_id,
            practitioner_name=practitioner_name,
            service_code=self.service_code,
            start=self.start,
            end=self.end,
            completed_at=now,
        )
        self.status, self.completed_at, self.updated_at = Status.FULFILLED, now, now
        self.raise_event(event)
        return True

    def mark_no_show(self, now: datetime, automatic: bool = False) -> bool:
        if not self._guard(Status.NO_SHOW):
            return False
        if now < self.start:
            raise Invalid("an appointment can be a no-show only after it starts", field="status")
        self.status, self.no_show_automatic, self.updated_at = Status.NO_SHOW, automatic, now
        self.raise_event(
            AppointmentNoShowRecorded(
                appointment_id=self.id, patient_id=self.patient_id, service_code=self.service_code, start=self.start
            )
        )
        return True

    def no_show_due(self, now: datetime, grace: timedelta) -> bool:
        """Booked, nobody checked in, and ``grace`` has passed since the end."""
        return self.status is Status.BOOKED and now >= self.end + grace

    def reschedule(self, slot: Slot, practitioner_name: str, now: datetime) -> bool:
        """Move to another slot of the same service, keeping the status. False if already there."""
        if self.status not in MOVABLE:
            raise Conflict(
                f"cannot reschedule an appointment that is {self.status.value}",
                current=self.status.value,
                requested="rescheduled",
            )
        if slot.id == self.slot_id:
            return False
        if self.service_type_id and slot.service_type_id != self.service_type_id:
            raise Invalid("a reschedule keeps the service type; book the other service instead", field="slot_id")
        if slot.start <= now:
            raise Invalid("the slot has already started", field="slot_id")
        event = AppointmentRescheduled(
            appointment_id=self.id,
            patient_id=self.patient_id,
            practitioner_id=slot.practitioner_id,
            practitioner_name=practitioner_name,
            service_code=self.service_code,
            previous_start=self.start,
            start=slot.start,
            end=slot.end,
            status=self.status.value,
        )
        self.previous_starts = [*self.previous_starts, self.start]
        for k, v in _where(slot).items():
            setattr(self, k, v)
        self.practitioner_id, self.slot_id, self.start, self.end = slot.practitioner_id, slot.id, slot.start, slot.end
        if self.hold_expires_at is not None:
            self.hold_expires_at = min(self.hold_expires_at, slot.start)
        self.updated_at = now
        self.raise_event(event)
        return True

    # -- insurance's word, and the coordinator's answer to it ---------------------------------------
    def _fresh(self, at: datetime) -> bool:
        return self.insurance_at is None or at >= self.insurance_at

    def flag(self, reason: Action, at: datetime, reason_code: str | None = None) -> bool:
        """Insurance will not pay as things stand: a coordinator must act. Only while the visit is
        to come and billed to insurance; an older event than the last one applied changes nothing."""
        if self.status not in MOVABLE or self.payment is Payment.SELF_PAY or not self._fresh(at):
            return False
        if self.needs_action is not None and self.needs_action.reason is reason:
            return False
        self.needs_action = NeedsAction(reason=reason, reason_code=reason_code, since=at)
        self.insurance_at = at
        return True

    def clear_flag(self, at: datetime, *reasons: Action) -> bool:
        if self.needs_action is None or self.needs_action.reason not in reasons or not self._fresh(at):
            return False
        self.needs_action, self.insurance_at = None, at
        return True

    def self_pay(self, practitioner_name: str, now: datetime) -> bool:
        """The patient pays: booked whatever insurance says. False when already self-pay and booked."""
        if self.status not in MOVABLE:
            raise Conflict(
                f"cannot book as self-pay an appointment that is {self.status.value}",
                current=self.status.value,
                requested=Status.BOOKED.value,
            )
        if self.payment is Payment.SELF_PAY and self.status is Status.BOOKED:
            return False
        self.payment, self.needs_action, self.updated_at = Payment.SELF_PAY, None, now
        self.book(practitioner_name, now)
        return True

    @property
    def holds_slot(self) -> bool:
        return self.status in HOLDS_SLOT


def _where(slot: Slot) -> dict[str, Any]:
    return {
        "location_id": slot.location_id,
        "room": slot.room,
        "service_type_id": slot.service_type_id,
        "buffer_before_minutes": slot.buffer_before // timedelta(minutes=1),
        "buffer_after_minutes": slot.buffer_after // timedelta(minutes=1),
    }
