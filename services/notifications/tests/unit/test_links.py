"""Signed links: a waitlist offer's accept and decline links (checked by scheduling) and survey links."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from caremesh_kit import links
from caremesh_kit.links import OfferAction
from caremesh_notifications.settings import NotificationsSettings

SECRET = "offer-link-secret-for-tests-0123456789abcdef"
EXPIRES = datetime(2030, 1, 13, 17, tzinfo=UTC)
BEFORE = EXPIRES - timedelta(hours=1)


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_the_links_point_to_scheduling_and_carry_a_token_per_action():
    urls = links.offer_links("https://scheduling.example.org/", SECRET, "offer-1", EXPIRES)
    accept, decline = urls[OfferAction.ACCEPT], urls[OfferAction.DECLINE]
    assert urlsplit(accept).path == "/waitlist/offers/offer-1/accept"
    assert urlsplit(decline).path == "/waitlist/offers/offer-1/decline"
    assert accept.startswith("https://scheduling.example.org/waitlist/")
    assert token_of(accept) != token_of(decline)
    assert token_of(accept).startswith(f"{int(EXPIRES.timestamp())}.")


def test_a_token_verifies_for_its_offer_and_action_until_it_expires():
    token = links.offer_token(SECRET, "offer-1", OfferAction.ACCEPT, EXPIRES)
    assert links.verify_offer(SECRET, "offer-1", "accept", token, BEFORE)
    assert links.verify_offer(SECRET, "offer-1", OfferAction.ACCEPT, token, BEFORE)
    assert not links.verify_offer(SECRET, "offer-1", "accept", token, EXPIRES)  # lapsed
    assert not links.verify_offer(SECRET, "offer-1", "decline", token, BEFORE)  # another action
    assert not links.verify_offer(SECRET, "offer-2", "accept", token, BEFORE)  # another offer
    assert not links.verify_offer("another-secret-0123456789abcdef0123", "offer-1", "accept", token, BEFORE)


def test_the_expiry_cannot_be_extended():
    token = links.offer_token(SECRET, "offer-1", OfferAction.ACCEPT, EXPIRES)
    expiry, mac = token.split(".")
    later = f"{int(expiry) + 86400}.{mac}"
    assert not links.verify_offer(SECRET, "offer-1", "accept", later, EXPIRES + timedelta(hours=1))


@pytest.mark.parametrize("bad", [None, "", "abc", "123", ".abc", "x.abc", "123.", "1894554000.AAAA"])
def test_malformed_tokens_are_refused(bad):
    assert not links.verify_offer(SECRET, "offer-1", "accept", bad, BEFORE)


def test_a_known_vector_so_scheduling_can_check_its_own_implementation():
    # Computed outside Python: printf 'offer|offer-1|accept|1894554000' | openssl dgst -sha256 -hmac "$SECRET"
    # -binary | base64 | tr '+/' '-_' | tr -d '='
    expected = "1894554000.WDxL6ffl2W0E-xtB4pp7vaLh1VQD7-DGsMthe1ibKIU"
    assert links.offer_token(SECRET, "offer-1", OfferAction.ACCEPT, EXPIRES) == expected


def test_survey_links_are_signed_for_their_survey():
    url = links.survey_link("https://notifications.example.org", SECRET, "s-1", EXPIRES)
    assert urlsplit(url).path == "/surveys/s-1"
    token = token_of(url)
    assert links.verify_survey(SECRET, "s-1", token, BEFORE)
    assert not links.verify_survey(SECRET, "s-2", token, BEFORE)
    assert not links.verify_survey(SECRET, "s-1", token, EXPIRES)
    # An offer token is no survey token, and the other way round.
    assert not links.verify_offer(SECRET, "s-1", "accept", token, BEFORE)


def test_link_secrets_must_be_long_and_urls_absolute():
    with pytest.raises(ValueError):
        NotificationsSettings(offer_link_secret="short")
    with pytest.raises(ValueError):
        NotificationsSettings(scheduling_public_url="scheduling.example.org")
    assert NotificationsSettings(public_url="https://n.example.org/").public_url == "https://n.example.org"


def test_a_bad_reminder_policy_stops_the_service_at_start():
    with pytest.raises(ValueError):
        NotificationsSettings(reminder_policy="default=2w")
    assert NotificationsSettings(reminder_policy="default=1d;97110=2h").reminders.offsets_for("97110") == (
        timedelta(hours=2),
    )
