# Development keys, public in the source like the JWT one: set real ones in any deployment.
from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from caremesh_kit.links import DEV_OFFER_LINK_SECRET
from caremesh_kit.settings import ServiceSettings
from caremesh_kit.webhooks import secret_bytes
from caremesh_notifications.domain.reminders import ReminderPolicy

DEV_SURVEY_LINK_SECRET = "caremesh-dev-survey-links-change-me-0123456789"


def _key_length(secret: str) -> int:
    """The HMAC key's length of a webhook secret; 0 for an empty or malformed one."""
    try:
        return len(secret_bytes(secret))
    except ValueError:
        return 0


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    # RabbitMQ connection, as the service's own user: it may publish only notifications.* events and reach only
    # its own queues (scripts/infra provisions it locally, with this development password).
    amqp_url: str = "amqp://caremesh-notifications:caremesh-notifications-dev@127.0.0.1:5672/"
    mongodb_url: str = "mongodb://127.0.0.1:27104/"
    mongodb_db: str = "caremesh_notifications"
    http_port: int = 8004
    # The SMTP relay (Mailpit locally): host, port, login if it needs one, STARTTLS, sender, timeout.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "CareMesh <no-reply@caremesh.local>"
    smtp_timeout_seconds: float = 10
    # SMS through a Twilio-compatible HTTP API; off while sms_provider_url is empty.
    sms_provider_url: str = ""  # e.g. https://api.twilio.com
    sms_account_sid: str = ""
    sms_auth_token: str = ""  # also checks the provider's signature on status callbacks
    sms_from: str = ""  # E.164 sender number
    sms_status_callback_url: str = ""  # public URL of POST /callbacks/sms/status; empty: no delivery reports
    sms_timeout_seconds: float = Field(default=10, gt=0)
    # The patient app's endpoint for pushes (JSON, Standard Webhooks signed); off while webhook_url is empty.
    webhook_url: str = ""
    webhook_secret: str = ""  # whsec_<base64> (or a plain secret, keyed with its UTF-8 bytes)
    webhook_previous_secret: str | None = None  # while set, pushes carry its signature too (a rotation)
    webhook_timeout_seconds: float = Field(default=10, gt=0)
    # Attempts on one channel (transient failures) before falling back to the next.
    channel_attempts: int = Field(default=3, ge=1)
    # How often held messages (quiet hours) are looked for once due.
    due_scan_seconds: float = Field(default=15, gt=0)
    # Reminders before each visit, per service code: "default=72h,24h,2h;97110=24h" (checked at start).
    reminder_policy: str = "default=72h,24h,2h"
    # Waitlist offers link to scheduling, which checks the links' HMAC with the same secret.
    scheduling_public_url: str = "http://127.0.0.1:8001"
    offer_link_secret: str = Field(default=DEV_OFFER_LINK_SECRET, min_length=32)
    # Survey links point here (this service's public URL), signed with a key only this service holds.
    public_url: str = "http://127.0.0.1:8004"
    survey_link_secret: str = Field(default=DEV_SURVEY_LINK_SECRET, min_length=32)
    survey_days: int = Field(default=30, ge=1)  # how long a survey link stays open after the visit

    @field_validator("reminder_policy")
    @classmethod
    def _policy(cls, v: str) -> str:
        ReminderPolicy.parse(v)  # a bad policy stops the service at start, not at the first booking
        return v

    @field_validator("scheduling_public_url", "public_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v.rstrip("/")

    @property
    def reminders(self) -> ReminderPolicy:
        return ReminderPolicy.parse(self.reminder_policy)

    @model_validator(mode="after")
    def _channels_complete(self) -> "NotificationsSettings":
        if self.sms_provider_url and not (self.sms_account_sid and self.sms_auth_token and self.sms_from):
            raise ValueError("SMS needs sms_account_sid, sms_auth_token and sms_from with sms_provider_url")
        if self.webhook_url:
            for name, secret in zip(("webhook_secret", "webhook_previous_secret"), self.webhook_secrets, strict=False):
                if _key_length(secret) < 32:
                    raise ValueError(f"the webhook needs a {name} of at least 32 key bytes (whsec_ secrets: decoded)")
        return self

    @property
    def webhook_secrets(self) -> list[str]:
        """What pushes are signed with: the current secret, then the previous one during a rotation."""
        return [self.webhook_secret, *([self.webhook_previous_secret] if self.webhook_previous_secret else [])]

    @property
    def send_lease_seconds(self) -> float:
        """How long a claimed send may take before another consumer may retry it: the slowest
        channel's timeout, three times (the SMTP exchange is bounded at twice its timeout)."""
        return 3 * max(self.smtp_timeout_seconds, self.sms_timeout_seconds, self.webhook_timeout_seconds)
