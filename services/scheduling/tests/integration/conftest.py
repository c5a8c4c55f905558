"""Scheduling in-process on the real broker and its own real store, and a clinic to book in."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from caremesh_scheduling.app import build
from caremesh_scheduling.settings import SchedulingSettings
from caremesh_testing import (  # noqa: F401 - for the tests
    STORE_COMMANDS,
    StoreCommands,
    envelope_for,
    running,
    service_settings,
    unindexed,
)

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# An hour: the background orphan sweeper runs once at start and not again during a test, so a test
# that leaves a crash's claims behind sweeps them itself, when it means to; and a request under
# load never comes near the half of it after which it gives up (503).
ORPHAN_CLAIM_SECONDS = 3600


def settings_for(namespace: str) -> SchedulingSettings:
    return service_settings(
        SchedulingSettings, namespace, orphan_claim_seconds=ORPHAN_CLAIM_SECONDS, calendar_refresh_seconds=1
    )


@pytest.fixture
def stale() -> datetime:
    """A time at which a booking attempt the sweeper takes for a crash's leftover was made."""
    return datetime.now(UTC) - timedelta(seconds=ORPHAN_CLAIM_SECONDS + 60)


@pytest.fixture
async def scheduling(namespace):
    async with running(build(settings_for(namespace))) as client:
        yield client


@dataclass
class Clinic:
    """A location, a service type, a practitioner and their template, made over HTTP."""

    client: httpx.AsyncClient
    location: dict
    service: dict
    practitioner: dict
    template: dict

    async def slots(self, **params) -> list[dict]:
        params = {
            "practitioner_id": self.practitioner["id"],
            "service_type_id": self.service["id"],
            "limit": 200,
        } | params
        r = await self.client.get("/availability", params=params)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    async def first_slot(self, after: datetime) -> dict:
        """The first free slot starting at or after ``after``."""
        day = (after - timedelta(days=1)).date()
        for _ in range(10):
            for s in await self.slots(**{"from": str(day), "to": str(day + timedelta(days=2))}):
                if datetime.fromisoformat(s["start"]) >= after:
                    return s
            day += timedelta(days=2)
        raise AssertionError(f"no slot after {after}")

    async def book(self, slot_id: str, patient: str = "p1") -> httpx.Response:
        return await self.client.post("/appointments", json={"patient_id": patient, "slot_id": slot_id})


async def make_clinic(
    client: httpx.AsyncClient,
    tz: str = "America/Chicago",
    rooms=("R1",),
    start: str = "00:00",
    end: str = "23:55",
    days=EVERY_DAY,
    duration: int = 30,
    code: str = "99213",
    name: str = "Dr. Ruth",
    location: dict | None = None,
    **template,
) -> Clinic:
    if location is None:
        r = await client.post(
            "/locations", json={"name": "Main St clinic", "time_zone": tz, "rooms": [{"id": room} for room in rooms]}
        )
        assert r.status_code == 201, r.text
        location = r.json()
    r = await client.post("/service-types", json={"code": code, "name": "Office visit", "duration_minutes": duration})
    assert r.status_code == 201, r.text
    service = r.json()
    practitioner = (await client.post("/practitioners", json={"name": name, "time_zone": tz})).json()
    body = {
        "service_type_ids": [service["id"]],
        "weekly": [{"day": d, "start": start, "end": end, "room": rooms[0]} for d in days],
    } | template
    r = await client.put(f"/practitioners/{practitioner['id']}/templates/{location['id']}", json=body)
    assert r.status_code == 201, r.text
    return Clinic(client, location, service, practitioner, r.json())


@pytest.fixture
def clinic():
    return make_clinic


@pytest.fixture
def store_commands() -> StoreCommands:
    return STORE_COMMANDS
