from caremesh_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class SchedulingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SCHEDULING_", extra="ignore")

    mongodb_url: str = "mongodb://127.0.0.1:27101/"
    mongodb_db: str = "caremesh_scheduling"
    http_port: int = 8001
    # A slot claim with no appointment behind it (a crash between the two writes) is freed after this.
    orphan_claim_seconds: float = Field(default=60, gt=0)
