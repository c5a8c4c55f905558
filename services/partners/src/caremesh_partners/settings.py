"""The gateway's settings (PARTNERS_*)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from caremesh_kit.settings import ServiceSettings
from caremesh_partners.domain import DEFAULT_SCHEDULE


class PartnersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PARTNERS_", extra="ignore")

    # RabbitMQ connection, as the gateway's own user: it reads the event log and publishes only
    # partners.* events (scripts/infra provisions it locally, with this development password).
    amqp_url: str = "amqp://caremesh-partners:caremesh-partners-dev@127.0.0.1:5672/"
    mongodb_url: str = "mongodb://127.0.0.1:27105/"
    mongodb_db: str = "caremesh_partners"
    http_port: int = 8005
    # Seconds after a failed attempt before the next one; its length is the number of attempts.
    retry_schedule_seconds: tuple[float, ...] = Field(default=DEFAULT_SCHEDULE, min_length=1)
    # An endpoint failing for this long (every attempt, nothing delivered) is turned off.
    disable_after_seconds: float = Field(default=5 * 24 * 3600, gt=0)
    # How long a replaced signing secret keeps signing beside the new one.
    secret_overlap_seconds: float = Field(default=24 * 3600, ge=0)
    # One attempt's time limit; an endpoint that takes longer has failed that attempt.
    delivery_timeout_seconds: float = Field(default=10, gt=0)
    # Attempts in flight at once, over all endpoints.
    delivery_concurrency: int = Field(default=32, ge=1, le=1000)
    # How often due deliveries are looked for (fresh ones are sent at once).
    dispatch_scan_seconds: float = Field(default=1.0, gt=0)
    # An attempt claimed longer ago than this died with its process: it is made again.
    delivery_lease_seconds: float = Field(default=60, gt=0)
    # The RabbitMQ management API, through which the gateway provisions each AMQP partner's user,
    # exchange and queue (an administrator of the vhost; the local broker's guest in development).
    broker_management_url: str = "http://127.0.0.1:15672"
    broker_management_username: str = "guest"
    broker_management_password: str = "guest"
    # What AMQP partners are told to connect to (their credentials come from the gateway).
    partner_amqp_url: str = "amqps://127.0.0.1:5671/"
