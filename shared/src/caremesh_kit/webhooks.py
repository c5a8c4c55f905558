"""Signing outbound webhooks the Standard Webhooks 1.0 way (https://www.standardwebhooks.com/).

Every push carries three headers:

- ``webhook-id``: the message id, the same on every retry, so the receiver de-duplicates on it;
- ``webhook-timestamp``: the attempt's time in unix seconds, so the receiver can refuse replays;
- ``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256>`` over ``"<id>.<timestamp>.<body>"``,
  one per secret: two while a rotation overlaps (the new one first), so either secret verifies.

Secrets are ``whsec_<base64 of 24 to 64 random bytes>``; the key is the decoded bytes. A secret
without the prefix (a plain shared secret from before) is keyed with its UTF-8 bytes, so existing
receivers keep working: they pass those bytes to the verifier (``Webhook(secret.encode())`` in the
``standardwebhooks`` library), not the string, which it would read as base64.

Receivers verify with the official ``standardwebhooks`` library (any language), and so do our
tests; there is deliberately no verifier here.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from secrets import token_bytes

SECRET_PREFIX = "whsec_"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
NEW_SECRET_BYTES = 32  # within the spec's 24-64, and the 32 an HMAC-SHA256 key should have


def new_secret() -> str:
    """A fresh ``whsec_`` secret of 32 random bytes, to give one endpoint."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(NEW_SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of ``secret``: the base64-decoded part of a ``whsec_`` secret (padding optional,
    as the reference libraries accept), or the UTF-8 bytes of a plain secret without the prefix.
    Raises ``ValueError`` for an empty key or a ``whsec_`` secret that is not base64."""
    if secret.startswith(SECRET_PREFIX):
        encoded = secret.removeprefix(SECRET_PREFIX)
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error as exc:
            raise ValueError(f"a {SECRET_PREFIX} secret must be base64 after its prefix") from exc
    else:
        key = secret.encode()
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` over ``"<msg_id>.<timestamp>.<body>"``, the body as sent."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery attempt of a JSON ``body``: id, timestamp, and one signature per
    secret, in the order given (current first, then the previous one during a rotation)."""
    if isinstance(secrets, str):  # a lone str is a Sequence too: signing with each character is a bug
        raise TypeError("secrets must be a sequence of secrets, not one str")
    if not secrets:
        raise ValueError("a webhook needs at least one secret")
    if not msg_id:
        raise ValueError("a webhook needs a message id")
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(signature(s, msg_id, timestamp, body) for s in secrets),
        "content-type": "application/json",
    }
