"""Local stand-ins for the SMS provider and the patient app, and the service wired to them."""

import uuid
from datetime import datetime

import pytest

from caremesh_kit.clock import system_clock
from caremesh_notifications.app import build
from caremesh_notifications.settings import NotificationsSettings
from caremesh_testing import running, service_settings
from caremesh_testing.recording_server import Recorded, RecordingServer, Reply

SMS_SID, SMS_TOKEN, SMS_FROM = "AC" + "1" * 32, "test-auth-token", "+15550001111"
CALLBACK_BASE = "https://notifications.test/callbacks/sms/status"
WEBHOOK_SECRET = "webhook-secret-for-tests-0123456789abcdef"


def twilio_messages(request: Recorded) -> Reply:
    """What Twilio answers to a Messages.json POST: 201 with the new message's sid and status."""
    form = request.form()
    return Reply(
        201,
        {
            "sid": "SM" + uuid.uuid4().hex,
            "status": "queued",
            "to": form.get("To"),
            "from": form.get("From"),
            "account_sid": SMS_SID,
        },
    )


class SettableClock:
    """The service's one clock (``build(clock=...)``): the system's until a test sets ``at``."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at or system_clock()


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def sms_provider():
    with RecordingServer(twilio_messages) as server:
        yield server


@pytest.fixture
def patient_app():
    with RecordingServer(lambda request: Reply(202, {"id": "push-" + uuid.uuid4().hex[:8]})) as server:
        yield server


NO_REMINDERS = "default="  # for tests about other messages: a booking then stores no held reminders


def channel_settings(namespace: str, sms_url: str, app_url: str, **overrides) -> NotificationsSettings:
    return service_settings(
        NotificationsSettings,
        namespace,
        sms_provider_url=sms_url,
        sms_account_sid=SMS_SID,
        sms_auth_token=SMS_TOKEN,
        sms_from=SMS_FROM,
        sms_status_callback_url=CALLBACK_BASE,
        webhook_url=f"{app_url}/push",
        webhook_secret=WEBHOOK_SECRET,
        channel_attempts=2,
        due_scan_seconds=3600,
        **{"reminder_policy": NO_REMINDERS} | overrides,
    )


@pytest.fixture
async def channels_service(namespace, sms_provider, patient_app, clock):
    """Notifications with SMS and the app webhook switched on, against the local servers."""
    async with running(build(channel_settings(namespace, sms_provider.url, patient_app.url), clock=clock)) as client:
        yield client
