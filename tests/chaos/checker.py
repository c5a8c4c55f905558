"""After a scenario: count, from the stores and Mailpit, what became of every request.

lost        the client got a 2xx for the booking, or the appointment exists, and a downstream effect
            never happened: not booked, no eligibility check, no timeline entry, no sent message,
            no email
duplicated  one request with two effects of one kind: patients, coverages, appointments, timeline
            entries, messages, emails (emails told apart by notifications' message id, so a
            redelivery of one message is not a duplicate)
stuck       an appointment still pending after the settle time; an idempotency key still pending
            after its lease (or, for keys without one, 60 s after it was taken)
recovered   requests that met the fault (a failed attempt) and still completed
failed      requests the client gave up on (reported, not asserted: availability, not safety)
"""

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from caremesh_testing import MAILPIT, wait_settled

from .faults import STORES
from .load import Load

CONFIRMED = "Your appointment is confirmed"
UNLEASED_KEY_SECONDS = 60  # a pending key without a lease counts as stuck after this


@dataclass
class Row:
    scenario: str
    requests: int
    lost: int = 0
    duplicated: int = 0
    stuck: int = 0
    recovered: int = 0
    failed: int = 0
    waiting: int = 0  # appointments still pending: not settled yet
    leased: int = 0  # pending idempotency keys whose lease still runs
    details: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.lost == self.duplicated == self.stuck == 0


HEADERS = ("scenario", "requests", "lost", "duplicated", "stuck", "recovered", "failed")


def table(rows: list[Row]) -> str:
    cells = [HEADERS] + [
        (r.scenario, *(str(v) for v in (r.requests, r.lost, r.duplicated, r.stuck, r.recovered, r.failed)))
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
    lines = [
        "  ".join(c[i].ljust(widths[i]) if i == 0 else c[i].rjust(widths[i]) for i in range(len(c))) for c in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _db(load: Load, service: str) -> Any:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(f"mongodb://127.0.0.1:{STORES[service]}/")
    return client, client[f"caremesh_{service}{load.cluster.db_suffix}"]


async def _emails(tag: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=MAILPIT, timeout=30) as client:
        while True:
            r = await client.get(
                "/api/v1/search", params={"query": f'to:"chaos-{tag}-"', "start": len(out), "limit": 500}
            )
            r.raise_for_status()
            page = r.json()["messages"]
            out += page
            if not page or len(out) >= r.json()["messages_count"]:
                return out


def _notification_id(mail: dict[str, Any]) -> str:
    """Notifications' message id, which the Message-ID carries (``time.pid.random.id@domain``)."""
    local = mail["MessageID"].split("@")[0].split(".", 3)
    return local[3] if len(local) == 4 else mail["MessageID"]


async def check(scenario: str, load: Load, since: datetime) -> Row:
    row = Row(scenario, len(load.requests))
    reqs = [r for r in load.requests if r.patient_id]
    pids = [r.patient_id for r in reqs]
    clients = []
    try:
        found: dict[str, Any] = {}
        for service in STORES:
            client, found[service] = _db(load, service)
            clients.append(client)
        sched, rec, ins, notif = (found[s] for s in STORES)
        appts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        async for a in sched["appointments"].find({"patient_id": {"$in": pids}}, {"patient_id": 1, "status": 1}):
            appts[a["patient_id"]].append(a)
        patients = Counter(
            [
                p["demographics"]["email"]
                async for p in rec["patients"].find(
                    {"demographics.email": {"$in": [r.email for r in load.requests]}}, {"demographics.email": 1}
                )
            ]
        )
        coverages = Counter(
            [
                c["terms"]["patient_id"]
                async for c in ins["coverages"].find({"terms.patient_id": {"$in": pids}}, {"terms.patient_id": 1})
            ]
        )
        timeline = Counter(
            [
                e["appointment_id"]
                async for e in rec["timeline"].find({"patient_id": {"$in": pids}, "kind": "appointment.booked"})
            ]
        )
        messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        async for m in notif["messages"].find({"patient_id": {"$in": pids}}):
            if m.get("recipient_id") is None and m["template"].endswith("appointment.booked"):
                messages[m["appointment_id"]].append(m)
        now = datetime.now(UTC).replace(tzinfo=None)  # the stores hand back naive UTC
        for service, db in found.items():
            async for k in db["idempotency_keys"].find({"state": "pending", "created_at": {"$gte": since}}):
                lease = k.get("lease_until")
                expired = lease < now if lease else k["created_at"] < now - timedelta(seconds=UNLEASED_KEY_SECONDS)
                if expired:
                    row.stuck += 1
                    row.details.append(f"stuck: {service} idempotency key taken {k['created_at']:%H:%M:%S} pending")
                else:
                    row.leased += 1
    finally:
        for client in clients:
            await client.close()
    mails: dict[str, set[str]] = defaultdict(set)
    for mail in await _emails(load.tag):
        if mail["Subject"] == CONFIRMED:
            for to in mail["To"]:
                mails[to["Address"]].add(_notification_id(mail))
    checks = httpx.AsyncClient(base_url=load.cluster.url("insurance"), headers=load.clients["insurance"].headers)
    try:
        for r in load.requests:
            dups = [
                what
                for what, count in (
                    ("patients", patients[r.email]),
                    ("coverages", coverages[r.patient_id]),
                    ("appointments", len(appts[r.patient_id or ""])),
                )
                if count > 1
            ]
            mine = appts[r.patient_id or ""]
            aid = r.appointment_id or (mine[0]["_id"] if mine else None)
            if aid:
                dups += [
                    what
                    for what, count in (
                        ("timeline entries", timeline[aid]),
                        ("messages", len(messages[aid])),
                        ("emails", len(mails[r.email])),
                    )
                    if count > 1
                ]
            if dups:
                row.duplicated += 1
                row.details.append(f"duplicated: {r.email}: {', '.join(dups)}")
            if not (r.booked or mine):
                if r.failed:
                    row.failed += 1
                    row.details.append(f"failed: {r.email}: {r.failed}")
                continue
            missing = await _missing(r.patient_id or "", aid, mine, timeline, messages, mails[r.email], checks)
            if missing == ["pending"]:
                row.waiting += 1
            elif missing:
                row.lost += 1
                row.details.append(f"lost: {r.email} appointment {aid}: {', '.join(missing)}")
            elif r.faults and not dups:
                row.recovered += 1
    finally:
        await checks.aclose()
    return row


async def _missing(
    patient_id: str,
    aid: str | None,
    mine: list[dict[str, Any]],
    timeline: Counter[str],
    messages: dict[str, list[dict[str, Any]]],
    mails: set[str],
    checks: httpx.AsyncClient,
) -> list[str]:
    if not aid or not mine:
        return ["no appointment in the store"]
    status = next((a["status"] for a in mine if a["_id"] == aid), None)
    if status == "pending":
        return ["pending"]
    missing = [] if status == "booked" else [f"status {status}"]
    r = await checks.get(f"/eligibility-checks/{aid}")
    if r.status_code != 200 or r.json()["decision"]["outcome"] != "confirmed":
        missing.append(f"eligibility check {r.status_code}")
    if not timeline[aid]:
        missing.append("timeline entry")
    if not any(m["status"] == "sent" for m in messages[aid]):
        missing.append(f"sent message ({[m['status'] for m in messages[aid]]})")
    if not mails:
        missing.append("email")
    return missing


async def settle(scenario: str, load: Load, since: datetime, seconds: float) -> Row:
    """Check until nothing is still on its way (or the time is up), then once more after the
    queues have been quiet, so late duplicates are counted too."""
    deadline = time.monotonic() + seconds
    while True:
        row = await check(scenario, load, since)
        if (row.clean and not row.waiting and not row.leased) or time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    try:
        await wait_settled(load.cluster.namespace, timeout=max(10.0, deadline - time.monotonic()), quiet=3)
    except AssertionError as exc:
        row.details.append(str(exc))
    final = await check(scenario, load, since)
    # Still pending after the settle time: stuck.
    final.stuck += final.waiting
    if final.waiting:
        final.details.append(f"stuck: {final.waiting} appointment(s) still pending after {seconds:.0f}s")
    if final.leased:
        final.details.append(f"{final.leased} idempotency key(s) pending within their lease")
    return final
