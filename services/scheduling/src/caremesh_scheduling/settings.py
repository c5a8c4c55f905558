from caremesh_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class SchedulingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SCHEDULING_", extra="ignore")

    mongodb_url: str = "mongodb://127.0.0.1:27101/"
    mongodb_db: str = "caremesh_scheduling"
    http_port: int = 8001
    # A booking attempt left between its claims and its save by a crash is settled or freed after this.
    orphan_claim_seconds: float = Field(default=60, gt=0)
    # How long a booking waits for another request still claiming the same time before a 409.
    claim_wait_seconds: float = Field(default=5, gt=0)
    # The availability search's copy of the calendar is reloaded this often (see view.py).
    calendar_refresh_seconds: float = Field(default=5, gt=0)
