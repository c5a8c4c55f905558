from caremesh_kit.settings import ServiceSettings
from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    mongodb_url: str = "mongodb://127.0.0.1:27104/"
    mongodb_db: str = "caremesh_notifications"
    http_port: int = 8004
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
    # The patient app's endpoint for pushes (JSON, HMAC-SHA256 signed); off while webhook_url is empty.
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_timeout_seconds: float = Field(default=10, gt=0)
    # Attempts on one channel (transient failures) before falling back to the next.
    channel_attempts: int = Field(default=3, ge=1)
    # How often held messages (quiet hours) are looked for once due.
    due_scan_seconds: float = Field(default=15, gt=0)

    @model_validator(mode="after")
    def _channels_complete(self) -> "NotificationsSettings":
        if self.sms_provider_url and not (self.sms_account_sid and self.sms_auth_token and self.sms_from):
            raise ValueError("SMS needs sms_account_sid, sms_auth_token and sms_from with sms_provider_url")
        if self.webhook_url and len(self.webhook_secret) < 32:
            raise ValueError("the webhook needs a webhook_secret of at least 32 characters")
        return self

    @property
    def send_lease_seconds(self) -> float:
        """How long a claimed send may take before another consumer may retry it: the slowest
        channel's timeout, three times (the SMTP exchange is bounded at twice its timeout)."""
        return 3 * max(self.smtp_timeout_seconds, self.sms_timeout_seconds, self.webhook_timeout_seconds)
