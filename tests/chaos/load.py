"""The booking load: each request registers a patient, their coverage and books a slot, over the
public HTTP APIs, the way a real client would (one Idempotency-Key per call, kept across retries)."""

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx

from caremesh_kit.devcluster import SERVICES, Cluster
from caremesh_testing import bearer

# A real client gives up at some point; long enough to outlast a 30-second store outage.
CLIENT_DEADLINE = 120.0
CALL_TIMEOUT = 10.0


@dataclass
class Request:
    """One client request (three calls) and what the client saw."""

    email: str
    slot_id: str
    patient_id: str | None = None
    appointment_id: str | None = None
    booked: bool = False  # the booking call got a 2xx
    failed: str | None = None  # why the client gave up
    faults: int = 0  # attempts that met the fault: a connection error, a 5xx, a timeout, "in progress"


@dataclass
class Load:
    cluster: Cluster
    tag: str  # in every email address, so Mailpit can be searched per scenario
    requests: list[Request] = field(default_factory=list)
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    async def __aenter__(self) -> "Load":
        self.clients = {
            s: httpx.AsyncClient(base_url=self.cluster.url(s), headers=bearer(), timeout=CALL_TIMEOUT) for s in SERVICES
        }
        return self

    async def __aexit__(self, *exc: object) -> None:
        for c in self.clients.values():
            await c.aclose()

    async def slots(self, n: int) -> list[str]:
        """``n`` free slots that do not overlap: a practitioner per search page, on the 30-minute grid."""
        sched = self.clients["scheduling"]
        st = await sched.post("/service-types", json={"code": "99213", "name": "Office visit", "duration_minutes": 30})
        assert st.status_code == 201, st.text
        found: list[str] = []
        while len(found) < n:
            loc = await sched.post(
                "/locations", json={"name": "Chaos clinic", "time_zone": "Europe/Amsterdam", "rooms": [{"id": "R1"}]}
            )
            pr = await sched.post("/practitioners", json={"name": "Dr. Chaos", "time_zone": "Europe/Amsterdam"})
            template = {
                "service_type_ids": [st.json()["id"]],
                "weekly": [
                    {"day": d, "start": "00:00", "end": "23:55", "room": "R1"}
                    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                ],
            }
            r = await sched.put(f"/practitioners/{pr.json()['id']}/templates/{loc.json()['id']}", json=template)
            assert r.status_code == 201, r.text
            day = date.today() + timedelta(days=3)
            r = await sched.get(
                "/availability",
                params={
                    "practitioner_id": pr.json()["id"],
                    "from": str(day),
                    "to": str(day + timedelta(days=3)),
                    "limit": 200,
                },
            )
            assert r.status_code == 200, r.text
            found += [s["slot_id"] for s in r.json()["items"]]
        return found[:n]

    async def call(self, req: Request, service: str, path: str, body: dict, key: str) -> httpx.Response | None:
        """POST until a definite answer: retried on connection errors, timeouts, 5xx and "still in
        progress" (409 from the idempotency layer), always with the same key."""
        deadline = time.monotonic() + CLIENT_DEADLINE
        pause = 0.2
        while True:
            try:
                r = await self.clients[service].post(path, json=body, headers={"Idempotency-Key": key})
                if r.status_code < 500 and not (r.status_code == 409 and "in progress" in r.text):
                    return r
                reason = f"{r.status_code} {r.text[:120]}"
            except httpx.TransportError as exc:
                reason = type(exc).__name__
            req.faults += 1
            if time.monotonic() + pause > deadline:
                req.failed = f"{service} {path}: gave up after {CLIENT_DEADLINE:.0f}s ({reason})"
                return None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    async def one(self, req: Request) -> None:
        key = uuid.uuid4().hex
        r = await self.call(
            req,
            "records",
            "/patients",
            {
                "given_name": "Chaos",
                "family_name": "Monkey",
                "birth_date": "1990-06-01",
                "email": req.email,
                "time_zone": "Europe/Amsterdam",
            },
            key + "-patient",
        )
        if r is None:
            return
        if r.status_code != 201:
            req.failed = f"records /patients: {r.status_code} {r.text[:200]}"
            return
        req.patient_id = r.json()["id"]
        coverage = {
            "patient_id": req.patient_id,
            "payer": "Acme Health",
            "plan": "PPO",
            "member_id": "M-42",
            "period_start": str(datetime.now(UTC).date() - timedelta(days=1)),
            "service_codes": ["99213"],
        }
        r = await self.call(req, "insurance", "/coverages", coverage, key + "-coverage")
        if r is None:
            return
        if r.status_code != 201:
            req.failed = f"insurance /coverages: {r.status_code} {r.text[:200]}"
            return
        booking = {"patient_id": req.patient_id, "slot_id": req.slot_id}
        r = await self.call(req, "scheduling", "/appointments", booking, key + "-appointment")
        if r is None:
            return
        if r.status_code != 201:
            req.failed = f"scheduling /appointments: {r.status_code} {r.text[:200]}"
            return
        req.appointment_id = r.json()["id"]
        req.booked = True

    async def prepare(self, n: int) -> None:
        slots = await self.slots(n)
        self.requests = [Request(f"chaos-{self.tag}-{i}@example.org", slot) for i, slot in enumerate(slots)]

    async def run(self, seconds: float) -> None:
        """The prepared requests started evenly over ``seconds``, each running to its end."""
        n = len(self.requests)
        tasks = []
        for i, req in enumerate(self.requests):
            tasks.append(asyncio.create_task(self.one(req)))
            if i < n - 1:
                await asyncio.sleep(seconds / n)
        await asyncio.gather(*tasks)
