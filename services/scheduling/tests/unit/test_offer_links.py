"""Scheduling checks the offer links notifications signs, with the shared secret."""

from datetime import UTC, datetime, timedelta

from caremesh_kit.links import OfferAction, offer_token
from caremesh_scheduling.api.waitlist import verify_offer
from caremesh_scheduling.settings import DEV_OFFER_LINK_SECRET

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SECRET = DEV_OFFER_LINK_SECRET


def test_a_token_notifications_signed_is_accepted_for_its_offer_and_action_only():
    token = offer_token(SECRET, "offer-1", OfferAction.ACCEPT, NOW + timedelta(hours=2))
    assert verify_offer(SECRET, "offer-1", "accept", token, NOW)
    assert not verify_offer(SECRET, "offer-1", "decline", token, NOW)
    assert not verify_offer(SECRET, "offer-2", "accept", token, NOW)
    assert not verify_offer("another-secret-of-at-least-32-characters", "offer-1", "accept", token, NOW)


def test_an_expired_or_altered_token_is_refused():
    token = offer_token(SECRET, "offer-1", OfferAction.DECLINE, NOW + timedelta(minutes=1))
    assert not verify_offer(SECRET, "offer-1", "decline", token, NOW + timedelta(minutes=2))
    expiry, mac = token.split(".")
    longer = f"{int(expiry) + 3600}.{mac}"  # the expiry is signed: it cannot be extended
    assert not verify_offer(SECRET, "offer-1", "decline", longer, NOW + timedelta(minutes=2))
    for bad in (None, "", "abc", f"{expiry}.", f".{mac}"):
        assert not verify_offer(SECRET, "offer-1", "decline", bad, NOW)
