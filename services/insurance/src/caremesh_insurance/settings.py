from caremesh_kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class InsuranceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INSURANCE_", extra="ignore")

    mongodb_url: str = "mongodb://127.0.0.1:27103/"
    mongodb_db: str = "caremesh_insurance"
    http_port: int = 8003
