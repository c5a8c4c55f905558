"""Settings from the environment; each service subclasses with its own prefix."""

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "caremesh-dev-secret-change-me-0123456789"


class ServiceSettings(BaseSettings):
    """Fields every service reads, e.g. SCHEDULING_AMQP_URL for scheduling."""

    # hide_input_in_errors: a refused value may be a secret.
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _from_files(cls, data: Any) -> Any:
        """``<NAME>_FILE`` names a file holding the value, as Kubernetes mounts a Secret."""
        if not isinstance(data, dict):
            return data
        prefix = str(cls.model_config.get("env_prefix", "")).upper()
        for name in cls.model_fields:
            path = os.environ.get(f"{prefix}{name.upper()}_FILE")
            if path and name not in data:
                data[name] = Path(path).read_text().strip()
        return data

    # RabbitMQ connection.
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # The service's own MongoDB (FerretDB locally).
    mongodb_url: str = "mongodb://127.0.0.1:27017/"
    # Database name; empty: caremesh_<service>.
    mongodb_db: str = ""
    # Prefix of every exchange and queue name; lets test runs share one broker.
    bus_namespace: str = "caremesh"
    # Unacknowledged messages per consumer channel.
    prefetch: int = Field(default=16, ge=1, le=1000)
    # Deliveries before a failing message is dead-lettered (the queue's x-delivery-limit).
    delivery_limit: int = Field(default=10, ge=1)
    # First retry delay of a failed message, doubled each attempt up to the maximum.
    retry_delay_seconds: float = Field(default=0.5, ge=0)
    max_retry_delay_seconds: float = Field(default=10, ge=0)
    # Retention of the event-log stream by age (RabbitMQ x-max-age: Y, M, D, h, m, s) and by size.
    event_log_max_age: str = "30D"
    event_log_max_bytes: int = 5 * 1024**3
    # Days a dead letter is kept before the broker drops it (message TTL on the dead-letter queues),
    # as it holds the whole body, contact details included. `caremesh-dlq retention` applies it to
    # dead-letter queues made before it existed.
    dead_letter_retention_days: float = Field(default=14, gt=0)
    # Fresh commits are relayed at once; this scan picks up any left by a crash or another replica.
    outbox_scan_seconds: float = Field(default=2.0, gt=0)
    # Done commits are pruned after this long, so the commit log the relay reads stays small.
    commit_retention_seconds: float = Field(default=600.0, ge=10)
    # How long a request under an Idempotency-Key holds its key: a retry meanwhile gets 409, one
    # after it (the first was killed or failed) runs it again, finding what the first made. Keep it
    # longer than the slowest request.
    idempotency_lease_seconds: float = Field(default=30.0, gt=0)
    # How long a stored response answers retries under its key (from the first request); a key
    # left pending is dropped this long after its lease ended.
    idempotency_retention_seconds: float = Field(default=86400.0, gt=0)
    # FerretDB on PostgreSQL only: where to keep the GIN indexes its filters need ("{service}" is
    # replaced by the service's name). Unreachable, or a MongoDB store, and nothing is done.
    ferretdb_postgres_url: str = "postgresql://caremesh:caremesh@127.0.0.1:5433/caremesh_{service}"
    # How often those GIN indexes are checked (a re-created collection gets them back).
    index_reconcile_seconds: float = Field(default=15.0, gt=0)
    # On shutdown, how long in-flight requests and messages may take.
    graceful_timeout_seconds: float = 15.0
    # Listen address (Compose and Kubernetes set 0.0.0.0).
    http_host: str = "127.0.0.1"
    # Listen port; each service has its own default.
    http_port: int = 8000
    # "development" or "production" (CAREMESH_ENV, one value for the whole deployment). Production
    # refuses to start on a development secret, a short key, API docs on or an over-long token
    # lifetime (see caremesh_kit.security).
    environment: Literal["development", "production"] = Field(
        default="development", validation_alias=AliasChoices("CAREMESH_ENV", "environment")
    )
    # Sign-in through the hospital's identity provider: its issuer URL (discovery at
    # <issuer>/.well-known/openid-configuration, keys from its JWKS). Empty: HS256 with jwt_secret,
    # for development only.
    oidc_issuer: str = ""
    # The JWKS URL when discovery is not served; empty: the one discovery names.
    oidc_jwks_url: str = ""
    # How long a fetched key set is trusted before it is fetched again (an unknown kid refetches at once).
    oidc_jwks_cache_seconds: float = Field(default=300, gt=0)
    # Asymmetric algorithms accepted from the identity provider.
    oidc_algorithms: list[str] = ["RS256", "ES256"]
    # Where the user's roles are in the token (dotted, e.g. realm_access.roles for Keycloak).
    jwt_roles_claim: str = "roles"
    # HS256 key that checks bearer tokens in development: the same for all services and the minter.
    jwt_secret: str = DEV_JWT_SECRET
    # Required iss (HS256 only; OIDC requires oidc_issuer) and aud claims.
    jwt_issuer: str = "caremesh"
    jwt_audience: str = "caremesh"
    # Longest accepted token lifetime (exp - iat; iat is then required), and production's ceiling.
    jwt_max_lifetime_seconds: int = Field(default=24 * 3600, gt=0)
    # Requests per caller and route, e.g. "600/minute;50/second" (the `limits` notation); empty: off.
    rate_limit: str = ""
    # Where the limiter keeps its counters: "memory://" per replica, or a shared "redis://..." one.
    rate_limit_storage: str = "memory://"
    # TLS to RabbitMQ and MongoDB: a CA bundle to trust, and a client certificate and key (PEM) when
    # the server asks for one. Setting any of them turns TLS on for that connection.
    amqp_tls_ca_file: str = ""
    amqp_tls_cert_file: str = ""
    amqp_tls_key_file: str = ""
    mongodb_tls_ca_file: str = ""
    mongodb_tls_cert_file: str = ""
    mongodb_tls_key_file: str = ""
    # Root log level.
    log_level: str = "INFO"
    # Serve /docs and /openapi.json; off by default, as those are the only routes without a token.
    api_docs: bool = False
