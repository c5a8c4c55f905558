"""Care plans over HTTP against the real store and broker: goals, tasks, observations and progress,
overdue tasks (once, even with two replicas and a restart), the worklist, the audit trail, the
timeline and FHIR CarePlan and Goal."""

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan as FhirCarePlan
from fhir.resources.R4B.goal import Goal as FhirGoal

from caremesh_contracts import CarePlanChanged, CareTaskOverdue
from caremesh_records.app import build
from caremesh_records.domain.careplan import ImportedGoal, ImportedTask, NewCarePlan, Target
from caremesh_records.settings import RecordsSettings
from caremesh_records.usecases.fhir_import.patient import derived_id
from caremesh_testing import (
    EventCapture,
    bearer,
    eventually,
    publish_raw,
    running,
    service_settings,
    wait_settled,
)

TZ = "Europe/London"
PATIENT = {
    "given_name": "Ada",
    "family_name": "Plan",
    "birth_date": "1961-04-02",
    "email": "ada.plan@example.org",
    "time_zone": TZ,
}
HBA1C = {"system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c"}
T2D = {"system": "http://snomed.info/sct", "code": "44054006", "display": "Diabetes mellitus type 2"}
GOAL = {"description": "HbA1c under 7%", "target": {"measure": HBA1C, "comparator": "<", "value": 7, "unit": "%"}}
NURSE = {"id": "nurse-1", "role": "nurse"}
ADMIN = bearer("admin", subject="privacy-officer")


def today(days: int = 0) -> str:
    return (datetime.now(ZoneInfo(TZ)).date() + timedelta(days=days)).isoformat()


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def settings(namespace: str, scan: float = 0.2) -> RecordsSettings:
    return service_settings(RecordsSettings, namespace, overdue_scan_seconds=scan)


@pytest.fixture
async def app(namespace):
    return build(settings(namespace))


@pytest.fixture
async def records(app):
    async with running(app) as client:
        yield client


async def new_patient(client) -> str:
    return (await client.post("/patients", json=PATIENT)).json()["id"]


async def new_plan(client, pid: str, **fields) -> dict:
    r = await client.post(
        f"/patients/{pid}/care-plans", json={"title": "Diabetes", "status": "active", "addresses": [T2D]} | fields
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_goals_tasks_and_observations_with_progress_and_refused_moves(records):
    pid = await new_patient(records)
    plan = await new_plan(records, pid, period_start=today())
    assert (plan["status"], plan["created_by"], plan["version"]) == ("active", "test-user", 1)
    base = f"/patients/{pid}/care-plans/{plan['id']}"

    typo = GOAL | {"target": GOAL["target"] | {"measure": HBA1C | {"code": "4548-5"}}}
    r = await records.post(f"{base}/goals", json=typo)
    assert r.status_code == 422 and r.json()["field"] == "target.measure.code"
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await records.post(f"{base}/goals", json={"description": "x", "target": {"measure": HBA1C, "value": 7}})
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"target.unit"}
    goal = (await records.post(f"{base}/goals", json=GOAL)).json()
    assert goal["progress"]["state"] == "on-track" and goal["care_plan_version"] == 2

    task = (
        await records.post(
            f"{base}/tasks",
            json={"description": "Review diet", "assignee": NURSE, "due_date": today(7), "goal_id": goal["id"]},
        )
    ).json()
    assert (task["status"], task["overdue"], task["assignee"]) == ("requested", False, NURSE)
    r = await records.post(
        f"{base}/goals/{goal['id']}/observations", json={"value": 6.6, "unit": "%", "effective_at": ago(1)}
    )
    assert r.status_code == 201 and r.json()["progress"]["state"] == "met"
    r = await records.post(
        f"{base}/goals/{goal['id']}/observations", json={"value": 50, "unit": "mmol/mol", "effective_at": ago(1)}
    )
    assert r.status_code == 422 and r.json()["field"] == "unit"

    for status in ("in-progress", "completed"):
        r = await records.post(
            f"{base}/tasks/{task['id']}/status",
            json={"status": status},
            headers=bearer("clinician", subject="dr-house"),
        )
        assert r.status_code == 200 and r.json()["status"] == status
    r = await records.post(f"{base}/tasks/{task['id']}/status", json={"status": "in-progress"})
    assert r.status_code == 409 and (r.json()["current"], r.json()["requested"]) == ("completed", "in-progress")
    r = await records.post(f"{base}/status", json={"status": "on-hold", "version": 1})
    assert r.status_code == 409 and r.json()["current_version"] == 6

    r = await records.post(f"{base}/status", json={"status": "completed", "reason": "target met", "version": 6})
    assert r.status_code == 200 and [s["status"] for s in r.json()["status_history"]] == ["active", "completed"]
    r = await records.post(f"{base}/goals", json=GOAL)
    assert r.status_code == 409 and r.json()["current"] == "completed"

    got = (await records.get(base)).json()
    assert got["goals"][0]["progress"]["state"] == "met" and got["tasks"][0]["status"] == "completed"
    assert [t["by"] for t in got["tasks"][0]["status_history"]] == ["test-user", "dr-house", "dr-house"]
    listed = (await records.get(f"/patients/{pid}/care-plans", params={"status": "completed"})).json()
    assert [p["id"] for p in listed] == [plan["id"]]
    other = await new_patient(records)
    assert (await records.get(f"/patients/{other}/care-plans/{plan['id']}")).status_code == 404
    assert (await records.get(base, headers=bearer("patient", "ada", patient_id=pid))).status_code == 200
    assert (await records.get(base, headers=bearer("patient", "eve", patient_id=other))).status_code == 403
    assert (
        await records.post(f"{base}/goals", json=GOAL, headers=bearer("patient", "ada", patient_id=pid))
    ).status_code == 403


async def test_an_overdue_task_is_announced_once_by_two_replicas_and_after_a_restart(namespace, amqp_url):
    # Long scans first, so the two sweeps below are the ones that race; short scans after the restart.
    slow = settings(namespace, scan=3600)
    first, second = build(slow), build(slow)
    async with EventCapture(amqp_url, namespace, "records.care_plan.task_overdue") as cap:
        async with first.router.lifespan_context(first), second.router.lifespan_context(second):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=first), base_url="http://one", headers=bearer()
            ) as client:
                pid = await new_patient(client)
                plan = await new_plan(client, pid)
                r = await client.post(
                    f"/patients/{pid}/care-plans/{plan['id']}/tasks",
                    json={"description": "Call about results", "assignee": NURSE, "due_date": today(-2)},
                )
                task = r.json()
                assert task["overdue"] is True and task["overdue_at"] is None
            sweeps = [a.state.usecases.care_plans.flag_overdue_tasks() for a in (first, second) for _ in range(3)]
            assert sum(await asyncio.gather(*sweeps)) == 1
            [event] = await cap.wait_for(CareTaskOverdue)
        assert event == CareTaskOverdue(
            care_plan_id=plan["id"],
            task_id=task["id"],
            patient_id=pid,
            due_date=today(-2),
            assignee_id="nurse-1",
            assignee_role="nurse",
        )
        # Restarted, sweeping every 0.2 s: the task is marked, so nothing more is announced.
        restarted = build(settings(namespace))
        async with running(restarted) as client:
            assert await restarted.state.usecases.care_plans.flag_overdue_tasks() == 0
            await wait_settled(namespace)
            got = (await client.get(f"/patients/{pid}/care-plans/{plan['id']}")).json()
            assert got["tasks"][0]["overdue_at"] is not None
        assert len(cap.ids_of(CareTaskOverdue)) == 1


async def test_the_worklist_shows_overdue_tasks_and_goals_at_risk(records):
    pid, other = await new_patient(records), await new_patient(records)
    plan = await new_plan(records, pid)
    base = f"/patients/{pid}/care-plans/{plan['id']}"
    goal = (await records.post(f"{base}/goals", json=GOAL)).json()
    for value, days in ((7.4, 30), (7.9, 1)):  # moving away from the target
        await records.post(
            f"{base}/goals/{goal['id']}/observations", json={"value": value, "unit": "%", "effective_at": ago(days)}
        )
    late = (
        await records.post(
            f"{base}/tasks",
            json={"description": "Call", "assignee": NURSE, "due_date": today(-3), "goal_id": goal["id"]},
        )
    ).json()
    await records.post(
        f"{base}/tasks",
        json={"description": "Later", "assignee": {"id": "rd-1", "role": "dietitian"}, "due_date": today(30)},
    )
    calm = await new_plan(records, other)  # nothing late: not listed
    await records.post(f"/patients/{other}/care-plans/{calm['id']}/goals", json=GOAL)
    draft = await new_plan(records, other, status="draft")  # not in force: not listed
    await records.post(
        f"/patients/{other}/care-plans/{draft['id']}/tasks",
        json={"description": "x", "assignee": NURSE, "due_date": today(-3)},
    )

    async def worklist(**params):
        r = await records.get("/worklists/care-plans", params=params)
        assert r.status_code == 200, r.text
        return [(i["kind"], i["item_id"]) for i in r.json()]

    assert await worklist() == [("task", late["id"]), ("goal", goal["id"])]
    item = (await records.get("/worklists/care-plans", params={"kind": "goal"})).json()[0]
    assert (item["progress"]["state"], item["progress"]["reason"]) == ("at-risk", "moving-away")
    assert item["patient_id"] == pid
    assert await worklist(assignee="nurse-1") == [("task", late["id"]), ("goal", goal["id"])]
    assert await worklist(assignee="rd-1") == [] and await worklist(patient_id=other) == []
    assert await worklist(kind="task", patient_id=pid) == [("task", late["id"])]
    assert await worklist(limit=1, offset=1) == [("goal", goal["id"])]
    for role in ("clinician", "patient"):
        assert (await records.get("/worklists/care-plans", headers=bearer(role, patient_id=pid))).status_code == 403


async def test_reads_and_writes_of_care_plans_are_audited(records):
    pid = await new_patient(records)
    carol = bearer("coordinator", subject="carol")
    plan = await new_plan(records, pid)
    await records.get(f"/patients/{pid}/care-plans/{plan['id']}", headers=carol | {"X-Purpose-Of-Use": "CAREMGT"})
    await records.get(f"/patients/{pid}/care-plans", headers=bearer("clinician", subject="dr-who"))
    await records.get("/worklists/care-plans", params={"patient_id": pid}, headers=carol)
    await records.get(f"/patients/{pid}/care-plans", headers=bearer("patient", subject="eve", patient_id="other"))
    trail = (await records.get("/audit", params={"patient_id": pid}, headers=ADMIN)).json()
    got = [
        (e["actor"], e["action"], e["resource_type"], e["resource_id"], e["purpose"], e["allowed"])
        for e in reversed(trail)
        if e["resource_type"] == "CarePlan"
    ]
    assert got == [
        ("test-user", "create", "CarePlan", plan["id"], "TREAT", True),
        ("carol", "read", "CarePlan", plan["id"], "CAREMGT", True),
        ("dr-who", "read", "CarePlan", "*", "TREAT", True),
        ("carol", "read", "CarePlan", "*", "TREAT", True),
        ("eve", "read", "CarePlan", "*", "PATRQT", False),
    ]


async def test_care_plan_changes_and_overdue_tasks_land_on_the_timeline_once(records, namespace, amqp_url):
    pid = await new_patient(records)
    async with EventCapture(amqp_url, namespace, "records.care_plan.#") as cap:
        plan = await new_plan(records, pid, title="Heart failure")
        base = f"/patients/{pid}/care-plans/{plan['id']}"
        await records.post(f"{base}/goals", json=GOAL)
        await records.post(
            f"{base}/tasks", json={"description": "Weigh daily", "assignee": NURSE, "due_date": today(-1)}
        )
        changes = await cap.wait_for(CarePlanChanged, count=3)
        await cap.wait_for(CareTaskOverdue)  # the sweeper, every 0.2 s

    async def entries(count: int):
        got = [e for e in (await records.get(f"/patients/{pid}/timeline")).json() if e["care_plan_id"]]
        return got if len(got) >= count else None

    got = await eventually(lambda: entries(4), what="care-plan timeline entries")
    assert [c.change for c in changes] == ["created", "goal_added", "task_added"]
    summaries = {e["kind"]: e["summary"] for e in got}
    assert summaries["care_plan.task_overdue"] == f"Task Weigh daily is overdue (due {today(-1)})"
    assert "Care plan “Heart failure” created (active)" in [e["summary"] for e in got]
    # A redelivered or replayed event adds nothing: entries are keyed on the event id.
    for m in cap.messages:
        await publish_raw(amqp_url, namespace, m.routing_key, m.body, dict(m.headers))
    await wait_settled(namespace)
    assert len(await entries(0)) == 4


async def test_care_plans_and_goals_are_served_as_fhir_r4b(records):
    pid = await new_patient(records)
    plan = await new_plan(
        records,
        pid,
        category={"system": "http://snomed.info/sct", "code": "698360004", "display": "Diabetes self management plan"},
    )
    base = f"/patients/{pid}/care-plans/{plan['id']}"
    due = GOAL | {"target": GOAL["target"] | {"due_date": today(90)}}
    goal = (await records.post(f"{base}/goals", json=due)).json()
    await records.post(
        f"{base}/goals/{goal['id']}/observations", json={"value": 6.4, "unit": "%", "effective_at": ago(2)}
    )
    task = (
        await records.post(
            f"{base}/tasks",
            json={"description": "Diabetes education", "assignee": NURSE, "due_date": today(10), "goal_id": goal["id"]},
        )
    ).json()

    r = await records.get(f"/fhir/CarePlan/{plan['id']}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    cp = FhirCarePlan.model_validate(r.json())
    assert (cp.status, cp.intent, cp.title, cp.subject.reference) == ("active", "plan", "Diabetes", f"Patient/{pid}")
    assert cp.contained[0].code.coding[0].code == "44054006" and cp.addresses[0].reference == "#addresses-0"
    [activity] = cp.activity
    assert (activity.detail.kind, activity.detail.status, activity.detail.description) == (
        "Task",
        "not-started",
        "Diabetes education",
    )
    assert activity.detail.goal[0].reference == f"Goal/{goal['id']}"
    assert str(activity.detail.scheduledPeriod.end) == today(10)
    assert activity.detail.performer[0].identifier.value == "nurse-1" and task["id"]

    g = FhirGoal.model_validate((await records.get(f"/fhir/Goal/{goal['id']}")).json())
    assert (g.lifecycleStatus, g.achievementStatus.coding[0].code, g.description.text) == (
        "active",
        "achieved",
        "HbA1c under 7%",
    )
    [t] = g.target
    assert (
        t.measure.coding[0].code,
        t.detailQuantity.comparator,
        float(t.detailQuantity.value),
        t.detailQuantity.code,
        str(t.dueDate),
    ) == ("4548-4", "<", 7.0, "%", today(90))

    for resource_type, rid in (("CarePlan", plan["id"]), ("Goal", goal["id"])):
        bundle = Bundle.model_validate((await records.get(f"/fhir/{resource_type}", params={"patient": pid})).json())
        assert [e.resource.id for e in bundle.entry] == [rid]
    everything = Bundle.model_validate((await records.get(f"/fhir/Patient/{pid}/$everything")).json())
    types = [e.resource.get_resource_type() for e in everything.entry]
    assert types == ["Patient", "CarePlan", "Goal"]
    assert (await records.get("/fhir/Goal/nope")).status_code == 404
    other = await new_patient(records)
    assert (
        await records.get(f"/fhir/CarePlan/{plan['id']}", headers=bearer("patient", "eve", patient_id=other))
    ).status_code == 403


async def test_an_import_creates_the_plan_once(records, app):
    pid = await new_patient(records)
    plans = app.state.usecases.care_plans
    plan_id, goal_id = derived_id(pid, "CarePlan/cp"), derived_id(pid, "Goal/g")
    goals = [
        ImportedGoal(
            id=goal_id, description="HbA1c under 7%", target=Target(measure=HBA1C, comparator="<", value=7, unit="%")
        )
    ]
    tasks = [ImportedTask(id=derived_id(pid, "CarePlan/cp/task/0"), description="Diet", status="in-progress")]
    new = NewCarePlan(title="Self care", status="active", period_start=today(-400))
    made, created = await plans.import_plan(plan_id, pid, new, goals, tasks, by="importer", reference="bundle-7")
    again, created_again = await plans.import_plan(plan_id, pid, new, goals, tasks, by="importer", reference="bundle-7")
    assert (created, created_again) == (True, False) and again.id == made.id and again.version == 1
    listed = (await records.get(f"/patients/{pid}/care-plans")).json()
    assert [(p["id"], p["source"]["type"], p["tasks"][0]["status"]) for p in listed] == [
        (plan_id, "imported", "in-progress")
    ]
    assert FhirGoal.model_validate((await records.get(f"/fhir/Goal/{goal_id}")).json()).id == goal_id
