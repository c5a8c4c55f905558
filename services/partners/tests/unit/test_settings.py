"""The gateway refuses production with the development management password."""

from caremesh_kit.security import production_problems
from caremesh_partners.settings import PartnersSettings


def test_production_refuses_the_development_management_password_and_takes_a_real_one():
    dev = production_problems(PartnersSettings(environment="production"))
    assert any("PARTNERS_BROKER_MANAGEMENT_PASSWORD" in p for p in dev)
    real = production_problems(
        PartnersSettings(environment="production", broker_management_password="a-real-one-from-a-secret")
    )
    assert not any("MANAGEMENT_PASSWORD" in p for p in real)
