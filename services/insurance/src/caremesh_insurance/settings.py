from pydantic import Field
from pydantic_settings import SettingsConfigDict

from caremesh_kit.settings import ServiceSettings


class InsuranceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INSURANCE_", extra="ignore")

    # RabbitMQ connection, as the service's own user: it may publish only insurance.* events and reach only
    # its own queues (scripts/infra provisions it locally, with this development password).
    amqp_url: str = "amqp://caremesh-insurance:caremesh-insurance-dev@127.0.0.1:5672/"
    mongodb_url: str = "mongodb://127.0.0.1:27103/"
    mongodb_db: str = "caremesh_insurance"
    http_port: int = 8003
    # Eligibility is checked again this many days before the visit (once per appointment).
    recheck_days_before: int = Field(default=3, ge=0, le=365)
    # How often the re-check sweeper looks for visits entering that window (and plans to announce).
    recheck_sweep_seconds: float = Field(default=60.0, gt=0)
    # A replica that claimed a pre-visit re-check and died is taken over after this long.
    recheck_lease_seconds: float = Field(default=300.0, gt=0)
    # Who we are in X12 interchanges (ISA06/GS02, NM1*1P of loop 2100B or 2010B of a 278, TRN03).
    x12_sender_id: str = Field(default="CAREMESH", pattern=r"^[A-Za-z0-9]{2,15}$")
    x12_provider_name: str = "CAREMESH CLINIC"
    x12_provider_npi: str = Field(default="1234567893", pattern=r"^[0-9]{10}$")
    x12_trace_originator: str = Field(default="9000000000", pattern=r"^9[0-9]{9}$")
    x12_usage: str = Field(default="T", pattern=r"^[TP]$")
    # Timeout of a 270/271 exchange, or of sending a 278, with a payer.
    x12_timeout_seconds: float = Field(default=10.0, gt=0)
    # How often each replica looks for prior authorizations due for review: decisions past their
    # deadline (overdue, once), approvals ending or running low.
    authorization_sweep_seconds: float = Field(default=60.0, gt=0)
