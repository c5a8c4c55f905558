"""Insurance in-process on the real broker and its own real store, with helpers to set up payers,
plans and coverages over HTTP."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from caremesh_contracts import AppointmentRequested
from caremesh_insurance.app import build
from caremesh_insurance.settings import InsuranceSettings
from caremesh_testing import (  # noqa: F401 - for the tests
    STORE_COMMANDS,
    StoreCommands,
    envelope_for,
    running,
    service_settings,
    unindexed,
)


@dataclass
class Setup:
    client: httpx.AsyncClient

    async def payer(self, **over) -> dict:
        r = await self.client.post("/payers", json={"name": "Acme Health"} | over)
        assert r.status_code == 201, r.text
        return r.json()

    async def plan(self, payer_id: str, services: list[dict] | None = None, **over) -> dict:
        body = {
            "payer_id": payer_id,
            "name": "Gold",
            "deductible": "500",
            "cost_share": {"copay": "25"},
            "services": services or [{"code": "99213"}],
        } | over
        r = await self.client.post("/plans", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    async def coverage(self, patient_id: str, plan_id: str, **over) -> dict:
        body = {
            "patient_id": patient_id,
            "plan_id": plan_id,
            "member_id": "M-1",
            "period_start": str(date.today() - timedelta(days=30)),
            "subscriber": {"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1984-03-09"},
        } | over
        r = await self.client.post("/coverages", json=body)
        assert r.status_code == 201, r.text
        return r.json()


def requested(patient_id: str, appointment_id: str, code: str = "99213", days: int = 2) -> AppointmentRequested:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    return AppointmentRequested(
        appointment_id=appointment_id,
        patient_id=patient_id,
        practitioner_id="pr",
        slot_id="s",
        service_code=code,
        start=start,
        end=start + timedelta(minutes=20),
        service_date=start.date(),
    )


@pytest.fixture
def settings(namespace) -> InsuranceSettings:
    return service_settings(InsuranceSettings, namespace, recheck_sweep_seconds=0.2, authorization_sweep_seconds=0.2)


@pytest.fixture
async def insurance(settings):
    async with running(build(settings)) as client:
        yield client


@pytest.fixture
def setup(insurance) -> Setup:
    return Setup(insurance)


@pytest.fixture
def appointment():
    return requested


@pytest.fixture
def store_commands() -> StoreCommands:
    return STORE_COMMANDS
