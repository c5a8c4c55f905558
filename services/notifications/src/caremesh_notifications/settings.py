from caremesh_kit.settings import ServiceSettings
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
