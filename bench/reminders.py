"""Benchmark: the notification service's reminder scheduler, in due reminders per second.

Run with ``uv run python bench/reminders.py [--n 200] [--json]``; see bench/README.md. It starts
notifications alone as its own process (namespace ``bench-rem-<uuid>``, port 8234) with a one-minute
reminder policy and a fast due sweep, registers ``n`` patients and books ``n`` appointments for them
by publishing records' and scheduling's events, all timed so that every reminder falls due at the
same moment, and measures from that moment until the last reminder has been sent (over SMTP, to
Mailpit). It removes everything it created afterwards.

- **Due reminders/s**: ``n`` divided by the time from the due moment to the last reminder's
  ``sent_at`` (the service's own timestamp). It includes the wait for the first sweep after the
  due moment (at most ``--sweep`` seconds).
- **Sending rate**: ``n - 1`` over the time from the first reminder's ``sent_at`` to the last's,
  the sweep's pace once it has started.
- **Lag**: per reminder, ``sent_at`` minus its due time (``not_before``), p50/p99/max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from booking.cleanup import kill_leftovers, sweep_broker
from booking.common import AMQP_URL, HOST, MAILPIT_URL, SMTP_PORT, async_mongo, mongo_url, say
from booking.report import percentile
from pymongo import MongoClient

from caremesh_contracts import AppointmentBooked, PatientRegistered
from caremesh_kit.auth import mint
from caremesh_kit.devcluster import Cluster
from caremesh_testing import event_headers, publish_many

PORT_OFFSET = 230  # notifications on 8234: clear of the other benches (8201-8204, 8212, 8221) and e2e (8301-8304)
PORT = 8004 + PORT_OFFSET
OFFSET = timedelta(minutes=1)  # the reminder policy: one reminder, a minute before each visit
REMINDER, CONFIRMATION = "appointment.reminder", "appointment.booked"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="patients, appointments and so reminders; default 200")
    p.add_argument(
        "--sweep",
        type=float,
        default=1.0,
        help="the service's due-sweep interval (NOTIFICATIONS_DUE_SCAN_SECONDS); default 1 s",
    )
    p.add_argument(
        "--lead",
        type=float,
        default=None,
        help="seconds from publishing the bookings to the due moment; default 30 + n (the set-up "
        "handles about 1-2 bookings/s on a shared 2-core machine). "
        "Every reminder must be stored (and every confirmation sent) before it",
    )
    p.add_argument(
        "--poll-interval",
        type=float,
        default=1.0,
        help="completion poll interval; default 1 s (each poll is a count that scans the messages "
        "collection on FerretDB, ~65 ms at 400 messages; the figures come from sent_at, not the poll)",
    )
    p.add_argument("--timeout", type=float, default=600, help="seconds the reminders may take once due")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    p.add_argument("--keep-logs", action="store_true", help="keep the service's log folder")
    a = p.parse_args()
    if not (1 <= a.n <= 5000 and 0.05 <= a.sweep <= 60 and 0.01 <= a.poll_interval <= 5):
        p.error("need 1 <= n <= 5000, 0.05 <= sweep <= 60 and 0.01 <= poll-interval <= 5")
    if a.lead is None:
        a.lead = 30.0 + a.n
    return a


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


async def _count(coll: Any, query: dict[str, Any]) -> int:
    return await coll.count_documents(query)


async def _wait(what: str, probe: Any, deadline: float, interval: float) -> None:
    while not await probe():
        if time.monotonic() > deadline:
            hint = " (a larger --lead gives the set-up more time)" if "due moment" in what else ""
            raise TimeoutError(f"timed out waiting for {what}{hint}")
        await asyncio.sleep(interval)


async def run(a: argparse.Namespace, short: str, namespace: str, db: str, token: str) -> dict[str, Any]:
    patients = [f"bench-rem-{short}-{i}" for i in range(a.n)]
    mongo = async_mongo("notifications", 30000)
    try:
        store = mongo[db]
        contacts, messages = store["contacts"], store["messages"]

        # 1. Contacts (not measured): records' registration events.
        say(f"registering {a.n} patients (records.patient.registered)")
        regs = [
            PatientRegistered(patient_id=p, given_name="Bench", email=f"bench.{short}.{i}@example.org", time_zone="UTC")
            for i, p in enumerate(patients)
        ]
        await publish_many(
            AMQP_URL, namespace, [(e.routing_key, e.model_dump_json().encode(), event_headers(e)) for e in regs]
        )
        await _wait(f"{a.n} contacts", lambda: _enough(contacts, {}, a.n), time.monotonic() + 120, 0.25)

        # 2. Bookings (not measured): one reminder each, all due at the same moment.
        due = (datetime.now(UTC) + timedelta(seconds=a.lead)).replace(microsecond=0) + timedelta(seconds=1)
        start = due + OFFSET
        say(
            f"booking {a.n} appointments at {_iso(start)}: reminders due at {_iso(due)} "
            f"(in {(due - datetime.now(UTC)).total_seconds():.0f} s)"
        )
        booked = [
            AppointmentBooked(
                appointment_id=f"{p}-appt",
                patient_id=p,
                practitioner_id=f"bench-rem-{short}-dr",
                practitioner_name="Dr Bench",
                service_code="99213",
                start=start,
                end=start + timedelta(minutes=30),
            )
            for p in patients
        ]
        await publish_many(
            AMQP_URL, namespace, [(e.routing_key, e.model_dump_json().encode(), event_headers(e)) for e in booked]
        )
        set_up = time.monotonic() + max(0.0, (due - datetime.now(UTC)).total_seconds())
        await _wait(
            f"{a.n} held reminders and {a.n} sent confirmations before the due moment",
            lambda: _ready(messages, a.n),
            set_up,
            2.0,
        )
        stored_by = datetime.now(UTC)
        say(
            f"all {a.n} reminders held and confirmations sent, {(due - stored_by).total_seconds():.1f} s "
            "before the due moment"
        )

        # 3. The measured part: from the due moment until every reminder is sent.
        sent_q = {"template": REMINDER, "status": "sent"}
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
        deadline = time.monotonic() + a.timeout
        while (done := await _count(messages, sent_q)) < a.n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {done} of {a.n} reminders sent after {a.timeout} s")
            await asyncio.sleep(a.poll_interval)
        say(f"all {a.n} reminders sent, {(datetime.now(UTC) - due).total_seconds():.2f} s after the due moment")

        # 4. Per-reminder times, as the service's message API reports them.
        reminders = await _from_api(patients, token)
    finally:
        await mongo.close()

    sent = [r for r in reminders if r["status"] == "sent" and r["sent_at"] and r["not_before"]]
    sent_at = sorted(datetime.fromisoformat(r["sent_at"]) for r in sent)
    lags = [
        (datetime.fromisoformat(r["sent_at"]) - datetime.fromisoformat(r["not_before"])).total_seconds() * 1000
        for r in sent
    ]
    wrong_due = sum(datetime.fromisoformat(r["not_before"]) != due for r in sent)
    total = (sent_at[-1] - due).total_seconds() if sent_at else None
    spread = (sent_at[-1] - sent_at[0]).total_seconds() if len(sent_at) > 1 else None
    return {
        "n": a.n,
        "sweep_s": a.sweep,
        "lead_s": a.lead,
        "due_at": _iso(due),
        "stored_before_due_s": round((due - stored_by).total_seconds(), 2),
        "sent": len(sent),
        "missing": a.n - len(sent),
        "due_time_mismatch": wrong_due,
        "first_sent_after_due_s": (sent_at[0] - due).total_seconds() if sent_at else None,
        "last_sent_after_due_s": total,
        "due_reminders_per_s": len(sent) / total if total else None,
        "sending_rate_per_s": (len(sent) - 1) / spread if spread else None,
        "lag_ms": {"p50": percentile(lags, 50), "p99": percentile(lags, 99), "max": max(lags, default=None)},
    }


async def _enough(coll: Any, query: dict[str, Any], n: int) -> bool:
    return await _count(coll, query) >= n


_progress = {"at": 0.0}


async def _ready(messages: Any, n: int) -> bool:
    held = await _count(messages, {"template": REMINDER, "status": "queued"})
    confirmed = await _count(messages, {"template": CONFIRMATION, "status": "sent"})
    if time.monotonic() - _progress["at"] > 15:
        _progress["at"] = time.monotonic()
        say(f"set-up: {held} reminders held, {confirmed} confirmations sent")
    return held >= n and confirmed >= n


async def _from_api(patients: list[str], token: str) -> list[dict[str, Any]]:
    """Each patient's reminder from ``GET /messages?patient_id=`` (a coordinator's token)."""
    out: list[dict[str, Any]] = []
    it = iter(patients)
    async with httpx.AsyncClient(
        base_url=f"http://{HOST}:{PORT}", timeout=15, headers={"Authorization": f"Bearer {token}"}
    ) as client:

        async def worker() -> None:
            for p in it:
                r = await client.get("/messages", params={"patient_id": p})
                r.raise_for_status()
                out.extend(m for m in r.json() if m["template"] == REMINDER)

        await asyncio.gather(*(worker() for _ in range(8)))
    return out


async def mailpit_delete(short: str) -> dict[str, int]:
    """Delete exactly this run's emails (confirmations and reminders), found by their unique addresses."""
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=MAILPIT_URL, timeout=10) as client:
        start = 0
        for _ in range(100):  # bounded paging
            r = await client.get("/api/v1/search", params={"query": f"to:bench.{short}.", "start": start, "limit": 250})
            r.raise_for_status()
            data = r.json()
            msgs = data.get("messages") or []
            ids += [
                m["ID"]
                for m in msgs
                if any((t.get("Address") or "").lower().startswith(f"bench.{short}.") for t in m.get("To") or [])
            ]
            start += len(msgs)
            if not msgs or start >= data.get("messages_count", 0):
                break
        deleted = 0
        for i in range(0, len(ids), 200):
            d = await client.request("DELETE", "/api/v1/messages", json={"IDs": ids[i : i + 200]})
            deleted += len(ids[i : i + 200]) if d.status_code == 200 else 0
    return {"found": len(ids), "deleted": deleted}


def fmt(x: float | None, nd: int = 1) -> str:
    return "-" if x is None else f"{x:,.{nd}f}"


def report(r: dict[str, Any]) -> str:
    lag = r["lag_ms"]
    return "\n".join(
        [
            "",
            f"Reminder scheduler benchmark: {r['n']} reminders due at {r['due_at']}, due sweep every {r['sweep_s']} s",
            "",
            f"  DUE REMINDERS/S (due moment -> last sent)  {fmt(r['due_reminders_per_s'])}   "
            f"({r['sent']} sent in {fmt(r['last_sent_after_due_s'], 2)} s from the due moment)",
            f"  sending rate (first sent -> last sent)     {fmt(r['sending_rate_per_s'])} /s",
            f"  first sent / last sent after due           {fmt(r['first_sent_after_due_s'], 2)} s / "
            f"{fmt(r['last_sent_after_due_s'], 2)} s",
            f"  lag (sent_at - due)  p50 / p99 / max       {fmt(lag['p50'], 0)} / {fmt(lag['p99'], 0)} / "
            f"{fmt(lag['max'], 0)} ms",
            f"  sent {r['sent']}, missing {r['missing']}; all stored {r['stored_before_due_s']} s before due",
            f"  Mailpit: {r['mailpit']['found']} emails of the run (confirmations and reminders), "
            f"{r['mailpit']['deleted']} deleted",
            "",
        ]
    )


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # cleaned up as on Ctrl-C


def main() -> int:
    a = parse_args()
    signal.signal(signal.SIGTERM, _sigterm)
    run_id = uuid.uuid4().hex
    short = run_id[:8]
    namespace, db_suffix = f"bench-rem-{run_id}", f"_benchrem_{short}"
    db = f"caremesh_notifications{db_suffix}"
    secret = f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    log_dir = Path(tempfile.mkdtemp(prefix=f"caremesh-bench-rem-{short}-"))
    env = {
        "NOTIFICATIONS_JWT_SECRET": secret,
        "NOTIFICATIONS_AMQP_URL": AMQP_URL,
        "NOTIFICATIONS_MONGODB_URL": mongo_url("notifications"),
        "NOTIFICATIONS_HTTP_HOST": HOST,
        "NOTIFICATIONS_SMTP_HOST": HOST,
        "NOTIFICATIONS_SMTP_PORT": str(SMTP_PORT),
        "NOTIFICATIONS_REMINDER_POLICY": "default=1m",
        "NOTIFICATIONS_DUE_SCAN_SECONDS": str(a.sweep),
    }
    token = mint("bench", ["coordinator"], secret)
    result: dict[str, Any] = {}
    mail: dict[str, int] = {"found": 0, "deleted": 0}
    left: list[str] = []
    failure: BaseException | None = None
    cluster = Cluster(namespace=namespace, db_suffix=db_suffix, port_offset=PORT_OFFSET, log_dir=log_dir, extra_env=env)
    try:
        with socket.socket() as probe:
            if probe.connect_ex((HOST, PORT)) == 0:
                raise RuntimeError(f"port {PORT} is already in use")
        cluster.start("notifications")
        cluster.wait_ready("notifications")
        say(f"notifications ready at {cluster.url('notifications')} (namespace {namespace}, database {db})")
        result = asyncio.run(run(a, short, namespace, db, token))
    except BaseException as exc:  # noqa: BLE001 - reported after cleanup (incl. Ctrl-C)
        failure = exc
    finally:
        cluster.down()
        kill_leftovers(cluster)
        broker = sweep_broker(namespace)
        left += broker["left"]
        try:
            with MongoClient(mongo_url("notifications"), serverSelectionTimeoutMS=5000) as mongo:
                mongo.drop_database(db)
                if db in mongo.list_database_names():
                    left.append(db)
        except Exception as exc:  # noqa: BLE001 - reported
            say(f"could not drop {db}: {type(exc).__name__}: {exc}")
            left.append(db)
        try:
            mail = asyncio.run(mailpit_delete(short))
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            say(f"mailpit: {type(exc).__name__}: {exc}")
        if mail["deleted"] < mail["found"]:
            left.append(f"{mail['found'] - mail['deleted']} Mailpit message(s)")
        say(
            f"cleanup: {broker['queues_deleted']} queue(s), {broker['exchanges_deleted']} exchange(s) deleted, "
            f"database {db} dropped, {mail['deleted']} email(s) deleted; left: {left or 'nothing'}"
        )
        if failure is None and not a.keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            say(f"service log kept in {log_dir}")
    if failure is not None:
        if isinstance(failure, KeyboardInterrupt):
            return 130
        say(f"FAILED: {type(failure).__name__}: {failure}")
        return 1
    result |= {"mailpit": mail, "left": left}
    print(json.dumps(result, indent=2) if a.json else report(result))
    return 2 if result["missing"] or result["due_time_mismatch"] or left else 0


if __name__ == "__main__":
    sys.exit(main())
