"""The SMS and app channels against a real local HTTP server, their signatures, and the settings."""

import base64
import socket
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from caremesh_kit import webhooks
from caremesh_notifications.adapters import ChannelError
from caremesh_notifications.adapters.sms import TwilioSms, callback_url, signature, valid_signature
from caremesh_notifications.adapters.webhook import AppWebhook
from caremesh_notifications.domain import Channel, Contact, Content, Message, Route
from caremesh_notifications.settings import NotificationsSettings
from caremesh_testing.recording_server import Recorded, RecordingServer, Reply

SECRET = "s" * 40


def settings(url: str, **kw) -> NotificationsSettings:
    return NotificationsSettings(
        sms_provider_url=url,
        sms_account_sid="AC123",
        sms_auth_token="tok",
        sms_from="+15550001111",
        sms_status_callback_url="https://cm.example/callbacks/sms/status",
        webhook_url=f"{url}/push",
        webhook_secret=SECRET,
        sms_timeout_seconds=2,
        **kw,
    )


def message(channel: Channel = Channel.SMS, to: str = "+15555550100") -> Message:
    contact = Contact(id="pat-1", given_name="Amara", email="a@example.org", phone="+15555550100", time_zone="UTC")
    return Message.compose(
        "msg-1",
        contact,
        "appt-1",
        Content(template="appointment.booked", subject="Confirmed", text="Hi Amara, confirmed. Ref appt-1"),
        datetime(2026, 1, 1, tzinfo=UTC),
        route=Route(channel=channel, to=to),
    )


def twilio(request: Recorded) -> Reply:
    return Reply(201, {"sid": "SM" + "0" * 32, "status": "queued", "to": request.form().get("To")})


# -- SMS ---------------------------------------------------------------------------------------------


async def test_sms_posts_twilios_shape_and_reads_the_sid_and_status():
    with RecordingServer(twilio) as server:
        accepted = await TwilioSms(settings(server.url)).send(message())
        [req] = server.requests
    assert (accepted.provider_message_id, accepted.provider_status) == ("SM" + "0" * 32, "queued")
    assert (req.method, req.path) == ("POST", "/2010-04-01/Accounts/AC123/Messages.json")
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert req.headers["authorization"] == "Basic " + base64.b64encode(b"AC123:tok").decode()
    assert req.form() == {
        "To": "+15555550100",
        "From": "+15550001111",
        "Body": "Hi Amara, confirmed. Ref appt-1",
        "StatusCallback": "https://cm.example/callbacks/sms/status?message_id=msg-1",
    }


@pytest.mark.parametrize(
    "status,permanent", [(400, True), (401, True), (404, True), (429, False), (500, False), (503, False)]
)
async def test_sms_refusals_are_permanent_for_4xx_but_429(status, permanent):
    with RecordingServer(twilio) as server:
        server.fail(status, {"code": 21211, "message": "The 'To' number +15555550100 is not valid", "status": status})
        with pytest.raises(ChannelError) as err:
            await TwilioSms(settings(server.url)).send(message())
    assert err.value.permanent is permanent and err.value.maybe_sent is False
    assert err.value.reason == f"sms: http {status} code 21211"
    assert "+1555" not in err.value.reason  # the provider's text may quote the number: never kept


async def test_sms_that_cannot_connect_was_not_sent():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ChannelError) as err:
        await TwilioSms(settings(f"http://127.0.0.1:{port}")).send(message())
    assert (err.value.permanent, err.value.maybe_sent, err.value.reason) == (False, False, "sms: ConnectError")


async def test_an_answer_without_a_sid_may_have_been_sent():
    with RecordingServer(lambda r: Reply(201, {"status": "queued"})) as server, pytest.raises(ChannelError) as err:
        await TwilioSms(settings(server.url)).send(message())
    assert err.value.maybe_sent is True


def test_twilio_signature_matches_the_documented_example():
    form = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, form) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert valid_signature("12345", url, form, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid_signature("12345", url, form | {"Digits": "9"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid_signature("12345", url, form, None)


def test_callback_url_carries_the_message_id():
    assert callback_url("https://x/cb", "m 1") == "https://x/cb?message_id=m+1"
    assert callback_url("https://x/cb?tenant=a", "m1") == "https://x/cb?tenant=a&message_id=m1"


# -- the app webhook -----------------------------------------------------------------------------------


async def test_webhook_posts_signed_json_the_app_can_verify():
    with RecordingServer(lambda r: Reply(202, {"id": "push-7"})) as server:
        accepted = await AppWebhook(settings(server.url)).send(message(Channel.WEBHOOK, to="pat-1"))
        [req] = server.requests
    assert accepted.provider_message_id == "push-7"
    assert req.path == "/push" and req.headers["content-type"] == "application/json"
    assert req.headers["webhook-id"] == "msg-1"
    # Standard Webhooks, checked with the official library; SECRET is plain, so it gets the bytes.
    Webhook(SECRET.encode()).verify(req.body, req.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(b"another-secret-of-forty-characters-long!").verify(req.body, req.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET.encode()).verify(req.body.replace(b"Amara", b"Mallory"), req.headers)
    assert "x-caremesh-signature" not in req.headers and "x-caremesh-message-id" not in req.headers
    assert req.json() == {
        "message_id": "msg-1",
        "recipient_id": "pat-1",
        "patient_id": "pat-1",
        "kind": "appointment.booked",
        "title": "Confirmed",
        "body": "Hi Amara, confirmed. Ref appt-1",
        "appointment_id": "appt-1",
    }


async def test_webhook_signatures_carry_the_service_clocks_time():
    at = datetime(2030, 1, 15, 14, 30, tzinfo=UTC)
    with RecordingServer(lambda r: Reply(202, {})) as server:
        await AppWebhook(settings(server.url), clock=lambda: at).send(message(Channel.WEBHOOK, to="pat-1"))
        [req] = server.requests
    assert req.headers["webhook-timestamp"] == str(int(at.timestamp()))
    assert req.headers["webhook-signature"] == webhooks.signature(SECRET, "msg-1", int(at.timestamp()), req.body)


async def test_during_a_rotation_the_push_carries_both_signatures():
    current = webhooks.new_secret()
    with RecordingServer(lambda r: Reply(202, {})) as server:
        s = settings(server.url).model_copy(update={"webhook_secret": current, "webhook_previous_secret": SECRET})
        await AppWebhook(s).send(message(Channel.WEBHOOK, to="pat-1"))
        [req] = server.requests
    assert len(req.headers["webhook-signature"].split(" ")) == 2
    Webhook(current).verify(req.body, req.headers)
    Webhook(SECRET.encode()).verify(req.body, req.headers)


async def test_webhook_failures_are_classified():
    with RecordingServer() as server:
        server.fail(410)
        with pytest.raises(ChannelError) as err:
            await AppWebhook(settings(server.url)).send(message(Channel.WEBHOOK, to="pat-1"))
    assert err.value.permanent and err.value.reason == "webhook: http 410"


# -- settings ----------------------------------------------------------------------------------------


def test_sms_settings_must_be_complete():
    with pytest.raises(ValidationError, match="sms_account_sid"):
        NotificationsSettings(sms_provider_url="https://api.twilio.com", sms_account_sid="AC1")


def test_the_webhook_needs_a_long_secret():
    with pytest.raises(ValidationError, match="webhook_secret"):
        NotificationsSettings(webhook_url="https://app.example/push", webhook_secret="short")


def test_a_previous_webhook_secret_must_be_long_too_and_an_empty_one_is_none():
    with pytest.raises(ValidationError, match="webhook_previous_secret"):
        NotificationsSettings(webhook_url="https://a/push", webhook_secret=SECRET, webhook_previous_secret="short")
    s = NotificationsSettings(webhook_url="https://a/push", webhook_secret=SECRET, webhook_previous_secret="")
    assert s.webhook_secrets == [SECRET]


def test_channels_are_off_by_default_and_the_lease_covers_the_slowest():
    s = NotificationsSettings()
    assert (s.sms_provider_url, s.webhook_url) == ("", "")
    assert s.send_lease_seconds == 30
    assert NotificationsSettings(sms_timeout_seconds=20).send_lease_seconds == 60
