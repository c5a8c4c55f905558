"""The waitlist: matching a freed slot and the offer lifecycle (pure)."""

from datetime import UTC, datetime, time, timedelta

import pytest

from caremesh_contracts.waitlist import (
    WaitlistEntryAccepted,
    WaitlistEntryOffered,
    WaitlistEntryRemoved,
    WaitlistOfferLapsed,
)
from caremesh_kit.errors import Conflict
from caremesh_scheduling.domain.waitlist import FreedSlot, Priority, Status, WaitlistEntry, Weekday, Wish, best_match

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday
HOLD = timedelta(minutes=30)


def slot(
    start=datetime(2026, 11, 4, 15, 0, tzinfo=UTC), practitioner="pr-1", code="99213", zone="America/New_York"
) -> FreedSlot:
    return FreedSlot(
        practitioner_id=practitioner,
        practitioner_name="Dr. Who",
        service_code=code,
        start=start,
        end=start + timedelta(minutes=30),
        time_zone=zone,
    )


def entry(eid="w-1", added=T0, **wish) -> WaitlistEntry:
    e = WaitlistEntry.add(eid, Wish.model_validate({"patient_id": f"p-{eid}", "service_code": "99213"} | wish), added)
    e.take_events()
    return e


def test_the_best_match_is_by_priority_then_waiting_time():
    early = entry("w-early", T0 - timedelta(days=9))
    later_urgent = entry("w-urgent", T0, priority=Priority.URGENT)
    other_service = entry("w-other", T0 - timedelta(days=30), service_code="99214")
    assert best_match([early, later_urgent, other_service], slot(), T0) is later_urgent
    assert best_match([early, other_service], slot(), T0) is early
    assert best_match([other_service], slot(), T0) is None


def test_practitioner_window_and_preferred_times_in_the_locations_zone():
    # 15:00 UTC on Wed 4 Nov is 10:00 in New York (EST).
    assert entry(practitioner_id="pr-1").matches(slot(), T0)
    assert not entry(practitioner_id="pr-2").matches(slot(), T0)
    assert not entry(earliest="2026-11-05").matches(slot(), T0)
    assert not entry(latest="2026-11-03").matches(slot(), T0)
    mornings = [{"days": [Weekday.WED], "start": time(9), "end": time(12)}]
    assert entry(preferred_times=mornings).matches(slot(), T0)
    assert not entry(preferred_times=mornings).matches(slot(zone="Europe/Berlin"), T0)  # 16:00 there
    assert not entry(preferred_times=[{"days": [Weekday.THU]}]).matches(slot(), T0)


def test_a_slot_already_started_is_not_offered():
    assert not entry().matches(slot(start=T0 - timedelta(minutes=1)), T0)


def test_offer_then_accept_books_it():
    e = entry()
    assert e.make_offer("o-1", slot(), T0 + HOLD, T0)
    [offered] = e.take_events()
    assert isinstance(offered, WaitlistEntryOffered) and offered.expires_at == T0 + HOLD
    assert not e.matches(slot(start=datetime(2026, 11, 5, 15, tzinfo=UTC)), T0)  # one offer at a time
    assert e.accept("o-1", "appt-9", T0 + timedelta(minutes=5))
    [accepted] = e.take_events()
    assert isinstance(accepted, WaitlistEntryAccepted) and accepted.appointment_id == "appt-9"
    assert e.status is Status.BOOKED
    assert not e.accept("o-1", "appt-9", T0 + timedelta(minutes=6))  # a repeat


def test_a_decline_passes_the_slot_on_and_it_is_not_offered_again():
    e = entry()
    e.make_offer("o-1", slot(), T0 + HOLD, T0)
    assert e.lapse("o-1", "declined", T0 + timedelta(minutes=1))
    assert isinstance(e.take_events()[-1], WaitlistOfferLapsed)
    assert e.status is Status.WAITING and not e.matches(slot(), T0)
    assert e.matches(slot(start=datetime(2026, 11, 5, 15, tzinfo=UTC)), T0)
    assert not e.lapse("o-1", "declined", T0 + timedelta(minutes=2))


def test_an_offer_expires_only_once_its_time_is_up_and_cannot_be_accepted_after():
    e = entry()
    e.make_offer("o-1", slot(), T0 + HOLD, T0)
    assert not e.lapse("o-1", "expired", T0 + HOLD)
    with pytest.raises(Conflict):
        e.accept("o-1", "appt-1", T0 + HOLD + timedelta(seconds=1))
    assert e.lapse("o-1", "expired", T0 + HOLD + timedelta(seconds=1))
    with pytest.raises(Conflict):
        e.accept("o-1", "appt-1", T0 + HOLD + timedelta(seconds=2))


def test_removing_a_booked_entry_is_refused():
    e = entry()
    e.make_offer("o-1", slot(), T0 + HOLD, T0)
    e.accept("o-1", "appt-1", T0)
    with pytest.raises(Conflict):
        e.remove(T0)
    waiting = entry("w-2")
    assert waiting.remove(T0) and not waiting.matches(slot(), T0)


def test_removing_an_entry_with_an_open_offer_lapses_the_offer_first():
    e = entry()
    e.make_offer("o-1", slot(), T0 + HOLD, T0)
    e.take_events()
    assert e.remove(T0 + timedelta(minutes=1))
    lapsed, removed = e.take_events()
    assert isinstance(lapsed, WaitlistOfferLapsed) and (lapsed.offer_id, lapsed.reason) == ("o-1", "declined")
    assert isinstance(removed, WaitlistEntryRemoved) and e.status is Status.REMOVED
    assert e.lapsed_offer("o-1").slot == slot() and e.lapsed_offer("o-2") is None
