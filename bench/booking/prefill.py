"""Pre-filled stores (``--prefill N``): documents the services would hold after months of use, put
straight into each service's database before the services start, so that each pass measures the
booking flow against stores that are no longer empty.

What goes in, per service (N documents in each collection, the collections the measured flow
reads or writes):

- scheduling: ``appointments`` and ``appointments.commits``, ``audit`` (an entry per booking, as
  ``POST /appointments`` writes), and ``claims.<yyyymmdd>`` for each day the run books into
  (about N claims each: 18 per visit, as a 30-minute visit claims six 5-minute buckets each for
  the practitioner, the room and the patient);
- insurance: ``eligibility_checks`` and ``coverages``, each with its ``.commits``;
- records: ``timeline`` (the ``appointment.booked`` entry of each visit);
- notifications: ``appointments``, ``messages`` and ``contacts``, each with its ``.commits``.

The documents describe one consistent history: N patients (each with a contact and a coverage),
some practitioners of their own (each at a location of their own), and N visits. The visits on
the days the run books into are booked (that is where the claims come from); the others lie in
the past year and are fulfilled, cancelled or no-shows. Every service's documents about a visit
use its id (the eligibility check's id is the appointment's, as insurance keys it). Each current
state document has its latest commit (``<id>:<12-digit version>``, ``outbox: []``, ``pending:
False``); older versions are left out, so a commits collection holds N documents too.

Nothing in it can touch the measured bookings or wake a background job:

- all ids are fresh random UUIDs, the patients, practitioners, locations and rooms are not the
  run's, so no claim, message or check can collide with one of the run's;
- the emails are ``prefill.<run>.<i>@example.org`` (the run's Mailpit search looks for
  ``bench.<run>.``), and every message is already sent: the due sweep finds nothing queued;
- past visits have ended (no hold to expire, no booked visit to mark as a no-show); insurance's
  checks already had their pre-visit re-check; past days have no claims (scheduling drops
  those collections).

Every document is built as a dict and passed through the service's own model
(``from_document`` then ``to_document``, as the repositories store them), so the shapes follow
the services' code, defaults included. The commits' ``committed_at`` is the time of the visit's
last change; when the kit prunes done commits (``commit_retention_seconds`` in its settings), it
is the time of the prefill instead, so that the pruner does not delete them all in the middle of
the measurement (they still go once the retention has passed; the report says how many were
left at the end).
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from bson.codec_options import TypeEncoder, TypeRegistry
from pymongo import MongoClient
from pymongo.errors import BulkWriteError

from booking.common import SERVICE_CODE, SLOTS_PER_DAY, SLOTS_PER_PRACTITIONER, mongo_url, say

BATCH = 1000
CLAIMS_PER_VISIT = 18  # 30 minutes = 6 buckets, for the practitioner, the room and the patient
VISIT = timedelta(minutes=30)
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "America/Phoenix", "Australia/Sydney"]
GIVEN = ["Ana", "Ben", "Chen", "Dana", "Emil", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kemal", "Lea"]
CANCEL_REASONS = ["pat", "pat-fb", "pat-lt", "prov", "oth"]


class _DateEncoder(TypeEncoder):
    """As the kit's store does: a plain date is stored as midnight UTC."""

    python_type = date

    def transform_python(self, value: date) -> datetime:
        return datetime.combine(value, dtime())


def hot_days(total_bookings: int, today: date) -> list[date]:
    """The days the run books into: each of its practitioners takes their first free slots from
    tomorrow on (``SLOTS_PER_DAY`` a day, at most ``SLOTS_PER_PRACTITIONER`` each)."""
    days = max(1, math.ceil(min(total_bookings, SLOTS_PER_PRACTITIONER) / SLOTS_PER_DAY))
    return [today + timedelta(days=d) for d in range(1, days + 1)]


def kit_retention_seconds() -> float | None:
    """The kit's default retention of done commits, or None when this kit never prunes them."""
    try:
        from caremesh_kit.settings import ServiceSettings
    except ImportError:
        return None
    field = ServiceSettings.model_fields.get("commit_retention_seconds")
    return float(field.default) if field is not None and field.default is not None else None


@dataclass
class Visit:
    id: str
    patient: int
    practitioner: int
    start: datetime
    status: str  # booked (on a hot day), fulfilled, cancelled, no_show
    requested_at: datetime
    booked_at: datetime
    ended_at: datetime | None  # fulfilled, cancelled or marked as a no-show
    booked_event: str  # the id of its appointment.booked event (records keys its timeline by it)
    message_id: str
    correlation_id: str

    @property
    def end(self) -> datetime:
        return self.start + VISIT

    @property
    def last_change(self) -> datetime:
        return self.ended_at or self.booked_at


class Prefill:
    def __init__(self, n: int, short: str, db_suffix: str, total_bookings: int) -> None:
        self.n = n
        self.short = short
        self.db_suffix = db_suffix
        self.rng = random.Random(f"prefill-{short}")
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.today = self.now.date()
        self.days = hot_days(total_bookings, self.today)
        self.retention = kit_retention_seconds()
        self.commit_time: datetime | None = self.now if self.retention else None
        self._models = _models()

        uid = self.uid
        self.patients = [uid() for _ in range(n)]
        self.zones = [ZONES[i % len(ZONES)] for i in range(n)]
        self.coverages = [uid() for _ in range(n)]
        self.plans = [(uid(), f"Prefill Health {k}") for k in range(10)]
        per_day = math.ceil(n / CLAIMS_PER_VISIT)
        n_prac = max(2, math.ceil(per_day / 48), math.ceil(n / 500))
        self.practitioners = [(uid(), uid(), f"Dr. Prefill {short} {p}") for p in range(n_prac)]  # id, location, name
        self.service_type = uid()
        self.visits = self._visits(per_day)

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # -- the history ------------------------------------------------------------------------------
    def _visit(self, patient: int, practitioner: int, start: datetime, status: str) -> Visit:
        rng = self.rng
        requested = min(start - timedelta(hours=2), self.now) - timedelta(seconds=rng.randint(60, 30 * 86400))
        booked = requested + timedelta(milliseconds=rng.randint(150, 900))
        ended = None
        if status == "fulfilled":
            ended = start + VISIT + timedelta(minutes=rng.randint(0, 20))
        elif status == "no_show":
            ended = start + VISIT + timedelta(minutes=rng.randint(30, 120))
        elif status == "cancelled":
            ended = booked + (start - booked) * rng.random()
        return Visit(
            id=self.uid(),
            patient=patient,
            practitioner=practitioner,
            start=start,
            status=status,
            requested_at=requested,
            booked_at=booked,
            ended_at=ended,
            booked_event=self.uid(),
            message_id=self.uid(),
            correlation_id=self.uid(),
        )

    def _visits(self, per_day: int) -> list[Visit]:
        visits: list[Visit] = []
        n_prac = len(self.practitioners)
        for day in self.days:  # booked, and holding claims on the days the run books into
            midnight = datetime.combine(day, dtime(), tzinfo=UTC)
            for j in range(per_day):
                start = midnight + (j // n_prac) * VISIT
                visits.append(self._visit(len(visits) % self.n, j % n_prac, start, "booked"))
        while len(visits) < self.n:  # the past year
            day = self.today - timedelta(days=self.rng.randint(1, 365))
            start = datetime.combine(day, dtime(8), tzinfo=UTC) + self.rng.randint(0, 19) * VISIT
            r = self.rng.random()
            status = "fulfilled" if r < 0.8 else "cancelled" if r < 0.93 else "no_show"
            visits.append(self._visit(len(visits) % self.n, self.rng.randrange(n_prac), start, status))
        return visits

    # -- documents, as the services store them ----------------------------------------------------
    def _aggregate(self, model: type, doc: dict) -> dict:
        """The current-state document, through the service's model (``version`` kept)."""
        return model.from_document(doc).to_document() | {"version": doc["version"]}

    def _commit(self, state: dict, at: datetime) -> dict:
        v = state["version"]
        return {
            "_id": f"{state['_id']}:{v:012d}",
            "aggregate_id": state["_id"],
            "version": v,
            "state": state,
            "outbox": [],
            "pending": False,
            "committed_at": self.commit_time or at,
        }

    def _with_commits(
        self, name: str, model: type, docs: Iterable[tuple[dict, datetime]]
    ) -> dict[str, Callable[[], Iterator[dict]]]:
        """Generators for a repository's collection and its commits (built once, in step)."""
        built: list[tuple[dict, datetime]] = []

        def states() -> Iterator[dict]:
            for doc, at in docs:
                state = self._aggregate(model, doc)
                built.append((state, at))
                yield state

        def commits() -> Iterator[dict]:
            for state, at in built:
                yield self._commit(state, at)

        return {name: states, f"{name}.commits": commits}

    def scheduling(self) -> dict[str, Callable[[], Iterator[dict]]]:
        m = self._models["scheduling"]

        def appointments() -> Iterator[tuple[dict, datetime]]:
            for v in self.visits:
                prac, loc, _ = self.practitioners[v.practitioner]
                patient = self.patients[v.patient]
                version = {"booked": 2, "fulfilled": 4, "cancelled": 3, "no_show": 3}[v.status]
                cancellation = None
                if v.status == "cancelled":
                    assert v.ended_at is not None
                    cancellation = {
                        "reason_code": self.rng.choice(CANCEL_REASONS),
                        "by": patient,
                        "by_role": "patient",
                        "at": v.ended_at,
                        "late": v.ended_at >= v.start - timedelta(hours=24),
                        "note": None,
                    }
                yield (
                    {
                        "_id": v.id,
                        "patient_id": patient,
                        "practitioner_id": prac,
                        "slot_id": m["slot_id"](prac, loc, self.service_type, v.start),
                        "service_code": SERVICE_CODE,
                        "start": v.start,
                        "end": v.end,
                        "status": v.status,
                        "location_id": loc,
                        "room": "R1",
                        "service_type_id": self.service_type,
                        "buffer_before_minutes": 0,
                        "buffer_after_minutes": 0,
                        "decline_reason": None,
                        "cancellation": cancellation,
                        "arrived_at": v.start - timedelta(minutes=10) if v.status == "fulfilled" else None,
                        "completed_at": v.ended_at if v.status == "fulfilled" else None,
                        "requested_at": v.requested_at,
                        "updated_at": v.last_change,
                        "hold_expires_at": None,
                        "authorization_id": None,
                        "needs_action": None,
                        "payment": "insurance",
                        "insurance_at": None,
                        "no_show_automatic": v.status == "no_show",
                        "previous_starts": [],
                        "version": version,
                    },
                    v.last_change,
                )

        def audit() -> Iterator[dict]:
            for v in self.visits:
                entry = {
                    "id": self.uid(),
                    "at": v.requested_at,
                    "service": "scheduling",
                    "actor": f"prefill-coordinator-{v.practitioner}",
                    "roles": ["coordinator"],
                    "action": "create",
                    "resource_type": "Appointment",
                    "resource_id": v.id,
                    "patient_id": self.patients[v.patient],
                    "purpose": "TREAT",
                    "allowed": True,
                    "route": "POST /appointments",
                    "correlation_id": v.correlation_id,
                }
                yield m["AuditEntry"].model_validate(entry).model_dump(exclude={"id"}) | {"_id": entry["id"]}

        def claims(day: date) -> Callable[[], Iterator[dict]]:
            def gen() -> Iterator[dict]:
                for v in self.visits:
                    if v.status != "booked" or v.start.date() != day:
                        continue
                    prac, loc, _ = self.practitioners[v.practitioner]
                    for c in m["claims_for"](
                        prac, loc, "R1", self.patients[v.patient], v.start, v.end, timedelta(0), timedelta(0)
                    ):
                        yield {"_id": c.id, "appointment_id": v.id, "claimed_at": v.requested_at}

            return gen

        out = self._with_commits("appointments", m["Appointment"], appointments())
        out["audit"] = audit
        for day in self.days:
            out[f"claims.{day:%Y%m%d}"] = claims(day)
        return out

    def insurance(self) -> dict[str, Callable[[], Iterator[dict]]]:
        m = self._models["insurance"]

        def plan_of(i: int) -> tuple[str, str]:
            return self.plans[i % len(self.plans)]

        def result(i: int) -> dict:
            decision = {"outcome": "confirmed", "coverage_id": self.coverages[i], "reason": None}
            benefit = {
                "service_code": SERVICE_CODE,
                "service_type": None,
                "service_type_name": None,
                "covered": True,
                "in_network": None,
                "copay": None,
                "coinsurance_percent": None,
                "deductible": "0.00",
                "deductible_remaining": None,
                "visits_per_year": None,
                "visits_used": None,
                "visits_remaining": None,
                "prior_authorization_required": False,
            }
            return {
                "decision": decision,
                "adapter": "rules",
                "coverage_active": True,
                "payer": plan_of(i)[1],
                "benefits": [benefit],
                "rejections": [],
                "findings": [],
                "payer_error": None,
                "x12_request": None,
                "x12_response": None,
            }

        def checks() -> Iterator[tuple[dict, datetime]]:
            for v in self.visits:
                res = result(v.patient)
                checked = v.requested_at + (v.booked_at - v.requested_at) / 2
                pre_visit = min(v.start - timedelta(days=1), self.now - timedelta(minutes=5))
                pre_visit = max(pre_visit, checked + timedelta(seconds=1))
                runs = [
                    {"number": 1, "trigger": "appointment_requested", "checked_at": checked, "result": res},
                    {"number": 2, "trigger": "pre_visit", "checked_at": pre_visit, "result": res},
                ]
                status = {
                    "booked": "scheduled",
                    "fulfilled": "scheduled",
                    "cancelled": "cancelled",
                    "no_show": "no_show",
                }[v.status]
                version = 3 if status == "scheduled" else 4
                last = pre_visit if status == "scheduled" else max(pre_visit, v.ended_at or pre_visit)
                yield (
                    {
                        "_id": v.id,
                        "patient_id": self.patients[v.patient],
                        "service_code": SERVICE_CODE,
                        "service_date": v.start.date(),
                        "appointment_id": v.id,
                        "appointment_status": status,
                        "start": v.start,
                        "decision": res["decision"],
                        "checked_at": pre_visit,
                        "runs": runs,
                        "coverage_versions": {self.coverages[v.patient]: 1},
                        "pre_visit_claimed_at": pre_visit,
                        "pre_visit_done": True,
                        "authorization_id": None,
                        "awaiting_authorization": False,
                        "version": version,
                    },
                    last,
                )

        def coverages() -> Iterator[tuple[dict, datetime]]:
            for i, cov in enumerate(self.coverages):
                registered = self.now - timedelta(days=400, seconds=self.rng.randint(0, 300 * 86400))
                plan_id, payer = plan_of(i)
                terms = {
                    "patient_id": self.patients[i],
                    "plan_id": plan_id,
                    "member_id": f"P{self.short}{i}",
                    "group_id": None,
                    "order": "primary",
                    "period_start": registered.date(),
                    "period_end": None,
                    "relationship": "self",
                    "subscriber": None,
                    "dependent": None,
                }
                yield (
                    {
                        "_id": cov,
                        "terms": terms,
                        "status": "active",
                        "payer": payer,
                        "plan_version": 1,
                        "registered_at": registered,
                        "updated_at": registered,
                        "version": 1,
                    },
                    registered,
                )

        return self._with_commits("eligibility_checks", m["EligibilityCheck"], checks()) | self._with_commits(
            "coverages", m["Coverage"], coverages()
        )

    def records(self) -> dict[str, Callable[[], Iterator[dict]]]:
        m = self._models["records"]

        def timeline() -> Iterator[dict]:
            for v in self.visits:
                name = self.practitioners[v.practitioner][2]
                entry = {
                    "id": v.booked_event,
                    "patient_id": self.patients[v.patient],
                    "kind": "appointment.booked",
                    "occurred_at": v.start,
                    "recorded_at": v.booked_at + timedelta(milliseconds=400),
                    "appointment_id": v.id,
                    "care_plan_id": None,
                    "summary": f"Appointment booked with {name} ({SERVICE_CODE})",
                }
                yield m["TimelineEntry"].model_validate(entry).model_dump(exclude={"id"}) | {"_id": entry["id"]}

        return {"timeline": timeline}

    def notifications(self) -> dict[str, Callable[[], Iterator[dict]]]:
        m = self._models["notifications"]

        def email(i: int) -> str:
            return f"prefill.{self.short}.{i}@example.org"

        def given(i: int) -> str:
            return GIVEN[i % len(GIVEN)]

        def appointments() -> Iterator[tuple[dict, datetime]]:
            for v in self.visits:
                yield (
                    {
                        "_id": v.id,
                        "patient_id": self.patients[v.patient],
                        "service_code": SERVICE_CODE,
                        "practitioner_name": self.practitioners[v.practitioner][2],
                        "start": v.start,
                        "status": v.status,
                        "plan": 1,
                        "moved_at": None,
                        "moved_by": None,
                        "version": 1 if v.status == "booked" else 2,
                    },
                    v.last_change,
                )

        def messages() -> Iterator[tuple[dict, datetime]]:
            for k, v in enumerate(self.visits):
                zone = self.zones[v.patient]
                when = v.start.astimezone(ZoneInfo(zone)).strftime("%A %d %B %Y at %H:%M ") + zone
                name, prac = given(v.patient), self.practitioners[v.practitioner][2]
                reminder = v.status != "booked" and k % 4 == 3  # some of the past ones: the reminder
                if reminder:
                    template, category, subject, source = (
                        "appointment.reminder",
                        "reminders",
                        "Reminder: your upcoming appointment",
                        f"reminder:{v.id}:1:2h",
                    )
                    lines = [
                        f"This is a reminder of your appointment with {prac} on {when}.",
                        "If you cannot come, please contact your care coordinator so that someone else can "
                        "have the time.",
                    ]
                    created, not_before = v.booked_at + timedelta(seconds=1), v.start - timedelta(hours=2)
                    sent = not_before + timedelta(seconds=self.rng.uniform(0.5, 3))
                else:
                    template, category, subject, source = (
                        "appointment.booked",
                        "appointments",
                        "Your appointment is confirmed",
                        v.booked_event,
                    )
                    lines = [f"Your appointment with {prac} is confirmed for {when}."]
                    created, not_before = v.booked_at + timedelta(milliseconds=100), None
                    sent = created + timedelta(milliseconds=self.rng.randint(50, 400))
                text = f"Hello {name},\n\n" + "\n\n".join(lines) + f"\n\nReference: {v.id}\n"
                html = (
                    '<!doctype html>\n<html lang="en">\n<body>\n'
                    + f"<p>Hello {name},</p>\n"
                    + "".join(f"<p>{line}</p>\n" for line in lines).replace(when, f"<strong>{when}</strong>")
                    + f"<p>Reference: {v.id}</p>\n</body>\n</html>"
                )
                yield (
                    {
                        "_id": v.message_id,
                        "source": source,
                        "patient_id": self.patients[v.patient],
                        "recipient_id": None,
                        "appointment_id": v.id,
                        "channel": "email",
                        "to": email(v.patient),
                        "template": template,
                        "template_version": 1,
                        "language": "en",
                        "category": category,
                        "subject": subject,
                        "text": text,
                        "html": html,
                        "variables": {
                            "recipient_name": name,
                            "when": when,
                            "reference": v.id,
                            "practitioner_name": prac,
                        },
                        "fallbacks": [],
                        "replaces": None,
                        "sent_by": None,
                        "status": "sent",
                        "created_at": created,
                        "not_before": not_before,
                        "claimed_at": sent - timedelta(milliseconds=50),
                        "sent_at": sent,
                        "delivered_at": None,
                        "failed_at": None,
                        "provider_message_id": f"<{int(sent.timestamp() * 100)}.prefill.{v.message_id}@caremesh.local>",
                        "provider_status": None,
                        "attempts": 1,
                        "last_error": None,
                        "failure": None,
                        "version": 3,
                    },
                    sent,
                )

        def contacts() -> Iterator[tuple[dict, datetime]]:
            for i, pid in enumerate(self.patients):
                at = self.now - timedelta(days=400, seconds=self.rng.randint(0, 300 * 86400))
                yield (
                    {
                        "_id": pid,
                        "given_name": given(i),
                        "email": email(i),
                        "phone": None,
                        "time_zone": self.zones[i],
                        "merged_into": None,
                        "version": 1,
                    },
                    at,
                )

        return (
            self._with_commits("appointments", m["Appointment"], appointments())
            | self._with_commits("messages", m["Message"], messages())
            | self._with_commits("contacts", m["Contact"], contacts())
        )

    # -- into the databases -----------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Insert everything (before the services start); returns the counts by service and collection."""
        started = time.perf_counter()
        plan = {
            "scheduling": self.scheduling(),
            "insurance": self.insurance(),
            "records": self.records(),
            "notifications": self.notifications(),
        }
        inserted: dict[str, dict[str, int]] = {}
        for svc, collections in plan.items():
            inserted[svc] = {}
            with MongoClient(
                mongo_url(svc),
                serverSelectionTimeoutMS=5000,
                connectTimeoutMS=5000,
                socketTimeoutMS=120000,
                type_registry=TypeRegistry([_DateEncoder()]),
            ) as client:
                db = client[f"caremesh_{svc}{self.db_suffix}"]
                for name, docs in collections.items():  # a collection before its commits: they are built in step
                    inserted[svc][name] = _insert(db[name], docs())
        took = time.perf_counter() - started
        total = sum(sum(c.values()) for c in inserted.values())
        say(
            f"prefill: {total:,} documents in {sum(len(c) for c in inserted.values())} collections "
            f"({self.n:,} per collection) in {took:.1f}s"
        )
        return {
            "n": self.n,
            "at": self.now.timestamp(),
            "seconds": took,
            "documents": total,
            "inserted": inserted,
            "claim_days": [f"{d:%Y-%m-%d}" for d in self.days],
            "commit_retention_s": self.retention,
            "committed_at": "prefill time (the kit prunes done commits)"
            if self.retention
            else "each visit's last change",
        }


def _insert(collection: Any, docs: Iterator[dict]) -> int:
    count = 0
    batch: list[dict] = []

    def flush() -> int:
        try:
            return len(collection.insert_many(batch, ordered=False).inserted_ids)
        except BulkWriteError as exc:  # none expected (fresh ids); report and carry on
            say(
                f"prefill {collection.name}: {len(exc.details.get('writeErrors', []))} write error(s), "
                f"first: {(exc.details.get('writeErrors') or [{}])[0].get('errmsg')}"
            )
            return exc.details.get("nInserted", 0)

    for doc in docs:
        batch.append(doc)
        if len(batch) >= BATCH:
            count += flush()
            batch = []
    if batch:
        count += flush()
    return count


def prefilled_left(db_suffix: str, report: dict[str, Any]) -> dict[str, dict[str, int]]:
    """How many of the prefilled commits each commits collection still holds at the end of the
    pass (a kit that prunes done commits may have deleted some): those committed no later than
    the prefill, which the run's own commits never are."""
    out: dict[str, dict[str, int]] = {}
    cutoff = datetime.fromtimestamp(report["at"], UTC)
    for svc, collections in report["inserted"].items():
        names = [c for c in collections if c.endswith(".commits")]
        if not names:
            continue
        try:
            with MongoClient(
                mongo_url(svc), serverSelectionTimeoutMS=5000, connectTimeoutMS=5000, socketTimeoutMS=60000
            ) as client:
                db = client[f"caremesh_{svc}{db_suffix}"]
                out[svc] = {c: db[c].count_documents({"committed_at": {"$lte": cutoff}}) for c in names}
        except Exception as exc:  # noqa: BLE001 - informative only
            say(f"prefill: could not count {svc}'s commits: {type(exc).__name__}: {exc}")
    return out


def _models() -> dict[str, dict[str, Any]]:
    """The services' own models (and helpers), so the documents have the shapes they store."""
    from caremesh_insurance.domain import Coverage, EligibilityCheck
    from caremesh_kit.audit import AuditEntry
    from caremesh_notifications.domain import Appointment as NotifiedAppointment
    from caremesh_notifications.domain import Contact, Message
    from caremesh_records.domain import TimelineEntry
    from caremesh_scheduling.domain import Appointment
    from caremesh_scheduling.domain.slots import claims_for, slot_id

    return {
        "scheduling": {
            "Appointment": Appointment,
            "AuditEntry": AuditEntry,
            "slot_id": slot_id,
            "claims_for": claims_for,
        },
        "insurance": {"EligibilityCheck": EligibilityCheck, "Coverage": Coverage},
        "records": {"TimelineEntry": TimelineEntry},
        "notifications": {"Appointment": NotifiedAppointment, "Message": Message, "Contact": Contact},
    }
