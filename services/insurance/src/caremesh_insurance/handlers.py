"""The events insurance subscribes to."""

from caremesh_contracts import AppointmentRequested
from caremesh_kit.bus import Subscription

from caremesh_insurance.usecases import Insurance


def subscriptions(insurance: Insurance) -> list[Subscription]:
    return [
        Subscription(AppointmentRequested, insurance.on_appointment_requested),
    ]
