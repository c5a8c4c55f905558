"""The four services and the partner gateway as separate processes on the real broker, stores and SMTP server."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient

from caremesh_kit.devcluster import PORTS, SERVICES, Cluster
from caremesh_testing import bearer, delete_namespace, eventually, mailbox_with

ROOT = Path(__file__).resolve().parents[2]
STORES = {"scheduling": 27101, "records": 27102, "insurance": 27103, "notifications": 27104, "partners": 27105}


@dataclass
class Flow:
    """One booking driven through the suite, kept to re-check after redeliveries."""

    patient_id: str
    email: str
    appointment_id: str
    slot_id: str
    expected: str  # the appointment's final status


@dataclass
class Suite:
    cluster: Cluster
    clients: dict[str, httpx.AsyncClient]
    flows: list[Flow] = field(default_factory=list)
    service_type_id: str | None = None

    @property
    def namespace(self) -> str:
        return self.cluster.namespace

    def __getattr__(self, service: str) -> httpx.AsyncClient:
        if service in PORTS:
            return self.clients[service]
        raise AttributeError(service)

    def db(self, service: str):
        return AsyncMongoClient(f"mongodb://127.0.0.1:{STORES[service]}/")[
            f"caremesh_{service}{self.cluster.db_suffix}"
        ]

    async def new_patient(self, given_name: str = "Eve") -> tuple[str, str]:
        email = f"e2e-{uuid.uuid4().hex[:10]}@example.org"
        r = await self.records.post(
            "/patients",
            json={
                "given_name": given_name,
                "family_name": "Endtoend",
                "birth_date": "1990-06-01",
                "email": email,
                "time_zone": "Europe/Amsterdam",
            },
        )
        assert r.status_code == 201, r.text
        return r.json()["id"], email

    async def cover(self, patient_id: str, codes: list[str]) -> None:
        r = await self.insurance.post(
            "/coverages",
            json={
                "patient_id": patient_id,
                "payer": "Acme Health",
                "plan": "PPO",
                "member_id": "M-42",
                "period_start": str(date.today() - timedelta(days=1)),
                "service_codes": codes,
            },
        )
        assert r.status_code == 201, r.text

    async def cover_plan(self, patient_id: str, services: list[dict]) -> None:
        """A coverage on a plan of its own, e.g. with services that need prior authorization."""
        payer = await self.insurance.post("/payers", json={"name": f"Payer {uuid.uuid4().hex[:6]}"})
        assert payer.status_code == 201, payer.text
        plan = await self.insurance.post(
            "/plans", json={"payer_id": payer.json()["id"], "name": "PA plan", "services": services}
        )
        assert plan.status_code == 201, plan.text
        r = await self.insurance.post(
            "/coverages",
            json={
                "patient_id": patient_id,
                "plan_id": plan.json()["id"],
                "member_id": "M-77",
                "period_start": str(date.today() - timedelta(days=1)),
            },
        )
        assert r.status_code == 201, r.text

    async def mailbox(self, address: str, count: int, timeout: float = 60) -> list[dict]:
        return await eventually(lambda: mailbox_with(address, count), timeout=timeout, what=f"{count} email(s)")

    async def slots(self, n: int, starts_in: timedelta | None = None, interval: int | None = None) -> list[str]:
        """The first ``n`` free slots of a new practitioner (own location, 30-minute visits every day,
        on a 30-minute grid or every ``interval`` minutes) from ``starts_in`` on."""
        after = datetime.now(UTC) + (starts_in or timedelta(days=2, minutes=uuid.uuid4().int % 600))
        if self.service_type_id is None:
            r = await self.scheduling.post(
                "/service-types", json={"code": "99213", "name": "Office visit", "duration_minutes": 30}
            )
            assert r.status_code == 201, r.text
            self.service_type_id = r.json()["id"]
        loc = await self.scheduling.post(
            "/locations", json={"name": "Canal clinic", "time_zone": "Europe/Amsterdam", "rooms": [{"id": "R1"}]}
        )
        pr = await self.scheduling.post("/practitioners", json={"name": "Dr. Ada", "time_zone": "Europe/Amsterdam"})
        template = {
            "service_type_ids": [self.service_type_id],
            "slot_interval_minutes": interval,
            "weekly": [
                {"day": d, "start": "00:00", "end": "23:55", "room": "R1"}
                for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            ],
        }
        r = await self.scheduling.put(f"/practitioners/{pr.json()['id']}/templates/{loc.json()['id']}", json=template)
        assert r.status_code == 201, r.text
        r = await self.scheduling.get(
            "/availability",
            params={
                "practitioner_id": pr.json()["id"],
                "from": str(after.date() - timedelta(days=1)),
                "to": str(after.date() + timedelta(days=1)),
                "limit": 200,
            },
        )
        assert r.status_code == 200, r.text
        found = [s["slot_id"] for s in r.json()["items"] if datetime.fromisoformat(s["start"]) >= after][:n]
        assert len(found) == n, r.text
        return found

    async def request(self, patient_id: str, slot_id: str) -> httpx.Response:
        return await self.scheduling.post("/appointments", json={"patient_id": patient_id, "slot_id": slot_id})

    async def status(self, appointment_id: str) -> str:
        return (await self.scheduling.get(f"/appointments/{appointment_id}")).json()["status"]

    async def settled_status(self, appointment_id: str, timeout: float = 60) -> str:
        async def decided():
            s = await self.status(appointment_id)
            return s if s != "pending" else None

        return await eventually(decided, timeout=timeout, what=f"decision on {appointment_id}")

    async def emails(self, flow: Flow, count: int = 1, timeout: float = 60) -> list[dict]:
        """Wait for the emails in Mailpit and for notifications to have recorded them as sent."""
        mails = await eventually(
            lambda: mailbox_with(flow.email, count), timeout=timeout, what=f"{count} email(s) to {flow.email}"
        )

        async def recorded():
            r = await self.notifications.get("/messages", params={"patient_id": flow.patient_id})
            return sum(m["status"] == "sent" for m in r.json()) >= count

        await eventually(recorded, timeout=timeout, what=f"messages to {flow.email} recorded as sent")
        return mails


@pytest.fixture(scope="session")
async def suite():
    key = uuid.uuid4().hex[:8]
    cluster = Cluster(
        namespace=f"e2e-{key}",
        db_suffix=f"_e2e_{key}",
        port_offset=300,
        log_dir=ROOT / ".local" / "e2e-logs" / key,
        extra_env={f"{s.upper()}_DELIVERY_LIMIT": "20" for s in SERVICES}
        # The gateway retries within seconds here, not Svix's minutes and hours.
        | {"PARTNERS_RETRY_SCHEDULE_SECONDS": "[0, 0.5, 1, 2, 3, 5, 8, 13]", "PARTNERS_DISPATCH_SCAN_SECONDS": "0.2"},
    )
    cluster.up(gateway=True)
    clients = {s: httpx.AsyncClient(base_url=cluster.url(s), headers=bearer(), timeout=30) for s in SERVICES}
    # Partners are an administrator's to register.
    clients["partners"] = httpx.AsyncClient(
        base_url=cluster.url("partners"), headers=bearer("admin", subject="platform-admin"), timeout=30
    )
    suite = Suite(cluster, clients)
    try:
        yield suite
    finally:
        for c in clients.values():
            await c.aclose()
        cluster.down()
        await delete_namespace(cluster.namespace)
        for s, port in STORES.items():
            client = AsyncMongoClient(f"mongodb://127.0.0.1:{port}/")
            await client.drop_database(f"caremesh_{s}{cluster.db_suffix}")
            await client.close()
