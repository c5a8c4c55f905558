"""A service subscribes once per event: a second handler would share the queue and get half the messages."""

import pytest

from caremesh_contracts import AppointmentBooked, AppointmentCancelled
from caremesh_kit.bus import Bus, DuplicateSubscription, Subscription
from caremesh_kit.settings import ServiceSettings


async def handler(event: object, env: object) -> None:
    return None


def test_a_second_subscription_to_one_event_is_refused_with_the_event_named():
    bus = Bus("tests", ServiceSettings())
    bus.subscribe([Subscription(AppointmentBooked, handler)])
    with pytest.raises(DuplicateSubscription, match=r"org\.caremesh\.scheduling\.appointment\.booked\.v1"):
        bus.subscribe([Subscription(AppointmentCancelled, handler), Subscription(AppointmentBooked, handler)])
    assert [s.event for s in bus._subscriptions] == [AppointmentBooked]  # nothing of the refused list kept


def test_one_list_naming_an_event_twice_is_refused():
    with pytest.raises(DuplicateSubscription):
        Bus("tests", ServiceSettings()).subscribe(
            [Subscription(AppointmentCancelled, handler), Subscription(AppointmentCancelled, handler)]
        )
