"""The events records subscribes to."""

from caremesh_contracts import AppointmentBooked, AppointmentDeclined
from caremesh_kit.bus import Subscription

from caremesh_records.usecases import Records


def subscriptions(records: Records) -> list[Subscription]:
    return [
        Subscription(AppointmentBooked, records.on_appointment_booked),
        Subscription(AppointmentDeclined, records.on_appointment_declined),
    ]
