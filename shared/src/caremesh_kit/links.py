"""Signed links: waitlist offer links (signed by notifications, checked by scheduling) and survey links.

A token is ``<expiry in unix seconds>.<signature>``, where the signature is the unpadded base64url
HMAC-SHA256, keyed with the link's secret, over the purpose's fields and the expiry joined by ``|``:

- offers: ``offer|<offer_id>|<action>|<expiry>``, ``action`` being ``accept`` or ``decline``, keyed
  with ``offer_link_secret`` (scheduling holds the same key);
- surveys: ``survey|<survey_id>|<expiry>``, keyed with ``survey_link_secret``.

The expiry is in the token so that it cannot be extended: changing it breaks the signature.
"""

import base64
import hashlib
import hmac
from datetime import datetime
from enum import StrEnum
from urllib.parse import quote

# For development only; deployments set both services' OFFER_LINK_SECRET to one real secret.
DEV_OFFER_LINK_SECRET = "caremesh-dev-offer-links-change-me-0123456789"


class OfferAction(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"


def _mac(secret: str, fields: tuple[str, ...], expiry: int) -> str:
    message = "|".join((*fields, str(expiry))).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(secret: str, fields: tuple[str, ...], expires_at: datetime) -> str:
    expiry = int(expires_at.timestamp())
    return f"{expiry}.{_mac(secret, fields, expiry)}"


def verify(secret: str, fields: tuple[str, ...], token: str | None, now: datetime) -> bool:
    """True when ``token`` was signed for these fields with this secret and has not expired."""
    expiry, _, mac = (token or "").partition(".")
    if not expiry.isdigit() or not mac:
        return False
    if not hmac.compare_digest(mac, _mac(secret, fields, int(expiry))):
        return False
    return now.timestamp() < int(expiry)


def offer_token(secret: str, offer_id: str, action: OfferAction, expires_at: datetime) -> str:
    return sign(secret, ("offer", offer_id, action.value), expires_at)


def verify_offer(secret: str, offer_id: str, action: OfferAction | str, token: str | None, now: datetime) -> bool:
    """What scheduling runs on ``GET|POST /waitlist/offers/{offer_id}/{action}?token=``."""
    return verify(secret, ("offer", offer_id, str(action)), token, now)


def offer_links(base_url: str, secret: str, offer_id: str, expires_at: datetime) -> dict[OfferAction, str]:
    """The accept and decline links of one offer, valid until the offer lapses."""
    path = f"{base_url.rstrip('/')}/waitlist/offers/{quote(offer_id, safe='')}"
    return {a: f"{path}/{a.value}?token={offer_token(secret, offer_id, a, expires_at)}" for a in OfferAction}


def survey_token(secret: str, survey_id: str, expires_at: datetime) -> str:
    return sign(secret, ("survey", survey_id), expires_at)


def verify_survey(secret: str, survey_id: str, token: str | None, now: datetime) -> bool:
    return verify(secret, ("survey", survey_id), token, now)


def survey_link(base_url: str, secret: str, survey_id: str, expires_at: datetime) -> str:
    token = survey_token(secret, survey_id, expires_at)
    return f"{base_url.rstrip('/')}/surveys/{quote(survey_id, safe='')}?token={token}"
