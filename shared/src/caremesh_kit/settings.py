"""Settings from the environment; each service subclasses with its own prefix."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "caremesh-dev-secret-change-me-0123456789"


class ServiceSettings(BaseSettings):
    """Fields every service reads, e.g. SCHEDULING_AMQP_URL for scheduling."""

    model_config = SettingsConfigDict(extra="ignore")

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    mongodb_url: str = "mongodb://127.0.0.1:27017/"
    mongodb_db: str = ""
    # Prefix of every exchange and queue name; lets test runs share one broker.
    bus_namespace: str = "caremesh"
    prefetch: int = Field(default=16, ge=1, le=1000)
    delivery_limit: int = Field(default=10, ge=1)
    retry_delay_seconds: float = Field(default=0.5, ge=0)
    max_retry_delay_seconds: float = Field(default=10, ge=0)
    event_log_max_age: str = "30D"
    event_log_max_bytes: int = 5 * 1024**3
    # Fresh commits are relayed at once; this scan picks up any left by a crash or another replica.
    outbox_scan_seconds: float = Field(default=2.0, gt=0)
    # Done commits are pruned after this long, so the commit log the relay reads stays small.
    commit_retention_seconds: float = Field(default=600.0, ge=10)
    # FerretDB on PostgreSQL only: where to keep the GIN indexes its filters need ("{service}" is
    # replaced by the service's name). Unreachable, or a MongoDB store, and nothing is done.
    ferretdb_postgres_url: str = "postgresql://caremesh:caremesh@127.0.0.1:5433/caremesh_{service}"
    index_reconcile_seconds: float = Field(default=15.0, gt=0)
    graceful_timeout_seconds: float = 15.0
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "caremesh"
    jwt_audience: str = "caremesh"
    log_level: str = "INFO"
    # Serve /docs and /openapi.json; off by default, as those are the only routes without a token.
    api_docs: bool = False
