from pydantic import Field
from pydantic_settings import SettingsConfigDict

from caremesh_kit.settings import ServiceSettings


class RecordsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RECORDS_", extra="ignore")

    # RabbitMQ connection, as the service's own user: it may publish only records.* events and reach only
    # its own queues (scripts/infra provisions it locally, with this development password).
    amqp_url: str = "amqp://caremesh-records:caremesh-records-dev@127.0.0.1:5672/"
    mongodb_url: str = "mongodb://127.0.0.1:27102/"
    mongodb_db: str = "caremesh_records"
    http_port: int = 8002
    # How often the sweeper looks for care-plan tasks past their due date (each is marked once).
    overdue_scan_seconds: float = Field(default=60, gt=0)
