"""Standard Webhooks signing, checked with the official ``standardwebhooks`` verifier and the spec's vector."""

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from caremesh_kit import webhooks

BODY = b'{"type":"scheduling.referral.closed","data":{"referral_id":"ref-1"}}'
MSG_ID = "msg_2Q5Yq0cVnM3Xr1"


def signed(secrets: list[str], msg_id: str = MSG_ID, body: bytes = BODY) -> dict[str, str]:
    return webhooks.headers(secrets, msg_id, int(time.time()), body)


def test_the_spec_test_vector_matches_byte_for_byte():
    # From standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py (test_sign_function).
    key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, timestamp, payload = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert webhooks.signature(key, msg_id, timestamp, payload) == expected
    assert Webhook(key).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), payload) == expected
    assert webhooks.headers([key], msg_id, timestamp, payload) == {
        "webhook-id": msg_id,
        "webhook-timestamp": "1614265330",
        "webhook-signature": expected,
        "content-type": "application/json",
    }


def test_a_new_secret_is_32_random_bytes_the_library_reads_the_same_way():
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_") and secret != webhooks.new_secret()
    key = webhooks.secret_bytes(secret)
    assert len(key) == 32 and key == base64.b64decode(secret.removeprefix("whsec_"))
    h = signed([secret])
    # The receiver may give the verifier the whsec string or its bytes.
    assert Webhook(secret).verify(BODY, h) == Webhook(key).verify(BODY, h)


def test_one_secret_verifies_and_a_wrong_one_does_not():
    secret = webhooks.new_secret()
    h = signed([secret])
    assert Webhook(secret).verify(BODY, h)["data"] == {"referral_id": "ref-1"}
    assert len(h["webhook-signature"].split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(BODY, h)


def test_during_a_rotation_each_secret_alone_verifies():
    current, previous = webhooks.new_secret(), webhooks.new_secret()
    h = signed([current, previous])
    first, second = h["webhook-signature"].split(" ")
    assert first == webhooks.signature(current, MSG_ID, int(h["webhook-timestamp"]), BODY)  # current first
    assert second == webhooks.signature(previous, MSG_ID, int(h["webhook-timestamp"]), BODY)
    Webhook(current).verify(BODY, h)
    Webhook(previous).verify(BODY, h)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(BODY, h)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b.replace(b"ref-1", b"ref-2")), id="body"),
        pytest.param(lambda h, b: (h | {"webhook-id": "msg_other"}, b), id="id"),
        pytest.param(lambda h, b: (h | {"webhook-timestamp": str(int(h["webhook-timestamp"]) - 1)}, b), id="timestamp"),
        pytest.param(lambda h, b: (h | {"webhook-signature": "v1," + "A" * 44}, b), id="signature"),
    ],
)
def test_anything_tampered_fails(tamper):
    secret = webhooks.new_secret()
    h, body = tamper(signed([secret]), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, h)


def test_an_old_timestamp_is_refused_as_a_replay():
    secret = webhooks.new_secret()
    h = webhooks.headers([secret], MSG_ID, int(time.time()) - 600, BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, h)


def test_a_plain_secret_is_keyed_with_its_utf8_bytes():
    plain = "webhook-secret-for-tests-0123456789abcdef"  # not base64: the library must get the bytes
    assert webhooks.secret_bytes(plain) == plain.encode()
    h = signed([plain])
    Webhook(plain.encode()).verify(BODY, h)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(BODY, h)


def test_unpadded_whsec_secrets_are_read_like_the_library_reads_them():
    padded = "whsec_" + base64.b64encode(b"k" * 25).decode()
    assert padded.endswith("=")
    unpadded = padded.rstrip("=")
    assert webhooks.secret_bytes(unpadded) == webhooks.secret_bytes(padded) == b"k" * 25
    Webhook(unpadded).verify(BODY, signed([padded]))


@pytest.mark.parametrize("bad", ["whsec_not base64!", "whsec_", ""])
def test_malformed_or_empty_secrets_are_refused(bad):
    with pytest.raises(ValueError):
        webhooks.secret_bytes(bad)


def test_headers_need_a_secret_list_and_an_id():
    with pytest.raises(ValueError):
        webhooks.headers([], MSG_ID, 0, BODY)
    with pytest.raises(ValueError):
        webhooks.headers([webhooks.new_secret()], "", 0, BODY)
    with pytest.raises(TypeError):
        webhooks.headers(webhooks.new_secret(), MSG_ID, 0, BODY)
