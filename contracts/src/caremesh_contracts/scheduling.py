from datetime import date, datetime

from pydantic import Field

from caremesh_contracts.base import Event


class AppointmentRequested(Event):
    routing_key = "scheduling.appointment.requested"

    appointment_id: str
    patient_id: str
    practitioner_id: str
    slot_id: str
    service_code: str
    start: datetime
    end: datetime
    service_date: date = Field(description="the visit's calendar date where it takes place")


class AppointmentBooked(Event):
    routing_key = "scheduling.appointment.booked"

    appointment_id: str
    patient_id: str
    practitioner_id: str
    practitioner_name: str
    service_code: str
    start: datetime
    end: datetime


class AppointmentDeclined(Event):
    routing_key = "scheduling.appointment.declined"

    appointment_id: str
    patient_id: str
    service_code: str
    start: datetime
    reason_code: str = Field(min_length=1)


class AppointmentCancelled(Event):
    """late is True when cancelled within 24 hours of the start."""

    routing_key = "scheduling.appointment.cancelled"

    appointment_id: str
    patient_id: str
    service_code: str
    start: datetime
    reason_code: str
    cancelled_by_role: str
    late: bool


class AppointmentArrived(Event):
    routing_key = "scheduling.appointment.arrived"

    appointment_id: str
    patient_id: str
    arrived_at: datetime


class AppointmentFulfilled(Event):
    """The visit took place; consumers build encounters and count authorized units from it."""

    routing_key = "scheduling.appointment.fulfilled"

    appointment_id: str
    patient_id: str
    practitioner_id: str
    practitioner_name: str
    service_code: str
    start: datetime
    end: datetime
    completed_at: datetime


class AppointmentNoShowRecorded(Event):
    routing_key = "scheduling.appointment.no_show_recorded"

    appointment_id: str
    patient_id: str
    service_code: str
    start: datetime


class AppointmentRescheduled(Event):
    """Moved to another time (and maybe practitioner) in one step: the old time is free, the new
    one held. The appointment keeps its id and its status."""

    routing_key = "scheduling.appointment.rescheduled"

    appointment_id: str
    patient_id: str
    practitioner_id: str
    practitioner_name: str
    service_code: str
    previous_start: datetime
    start: datetime
    end: datetime
    status: str = Field(description="the appointment's status, unchanged by the move (e.g. booked)")


class AppointmentAwaitingAuthorization(Event):
    """Insurance asked for a prior authorization: the appointment keeps its time on hold until
    ``hold_expires_at`` while the payer decides."""

    routing_key = "scheduling.appointment.authorization_awaited"

    appointment_id: str
    patient_id: str
    authorization_id: str
    service_code: str
    start: datetime
    hold_expires_at: datetime


class AppointmentHoldExpired(Event):
    """A hold (pending insurance, or waiting on authorization) ran out before the appointment was
    booked: its time is free again and the appointment is ``expired``."""

    routing_key = "scheduling.appointment.hold_expired"

    appointment_id: str
    patient_id: str
    service_code: str
    start: datetime
    held_as: str = Field(description="the status the hold had: pending or waiting_on_authorization")
    expired_at: datetime
