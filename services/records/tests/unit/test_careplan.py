"""Care plans: goal progress (on track, at risk, met), targets, and the moves of plans and tasks."""

from datetime import UTC, date, datetime, timedelta

import pytest

from caremesh_contracts import CarePlanChanged, CareTaskOverdue
from caremesh_kit.errors import Conflict, Invalid, NotFound
from caremesh_records.domain import Demographics, Patient, TimelineKind
from caremesh_records.domain.careplan import (
    LOINC,
    NEAR_DUE,
    STALE,
    CarePlan,
    Comparator,
    ImportedGoal,
    ImportedTask,
    NewCarePlan,
    NewGoal,
    NewObservation,
    NewTask,
    PlanStatus,
    ProgressState,
    Target,
    TaskStatus,
    assess,
    at_risk_from,
    entry_for_change,
    loinc_problem,
)
from caremesh_records.domain.careplan.progress import Reading

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
TZ = "America/New_York"  # UTC-4 in May: a day there ends at 04:00 UTC
HBA1C = {"system": LOINC, "code": "4548-4", "display": "Hemoglobin A1c"}
SBP = {"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}
NURSE = {"id": "nurse-1", "role": "nurse"}


def target(comparator: str | None = "<", value: float | None = 7, **kw) -> Target:
    return Target(measure=HBA1C, comparator=comparator, value=value, unit="%", **kw)


def readings(*points: tuple[float, int]) -> list[Reading]:
    """(value, days before NOW) pairs, oldest first."""
    return [
        Reading(value=v, effective_at=NOW - timedelta(days=d), recorded_at=NOW - timedelta(days=d)) for v, d in points
    ]


def state(t: Target | None, rs: list[Reading], set_at: datetime = NOW - timedelta(days=30), now: datetime = NOW):
    p = assess(t, rs, set_at, TZ, now)
    return (p.state, p.reason) if p else None


def patient() -> Patient:
    return Patient.register(
        "pat-1",
        Demographics(
            given_name="Ada", family_name="Plan", birth_date=date(1960, 1, 1), email="ada@example.org", time_zone=TZ
        ),
        NOW,
        "123",
    )


def plan(status: str = "active") -> CarePlan:
    p = CarePlan.create("cp-1", patient(), NewCarePlan(title="Diabetes", status=status), "dr-1", NOW)
    p.take_events()
    return p


# -- progress ---------------------------------------------------------------------------------------


def test_without_a_target_progress_is_not_computed():
    assert state(None, readings((8, 1))) is None


def test_no_observation_is_on_track_until_it_has_been_too_long():
    assert state(target(), []) == (ProgressState.ON_TRACK, "awaiting-observation")
    set_at = NOW - STALE
    assert state(target(), [], set_at=set_at) == (ProgressState.AT_RISK, "no-observation")
    assert state(target(), [], set_at=set_at + timedelta(seconds=1)) == (ProgressState.ON_TRACK, "awaiting-observation")


@pytest.mark.parametrize(
    ("comparator", "value", "met"),
    [
        ("<", 6.9, True),
        ("<", 7.0, False),
        ("<=", 7.0, True),
        ("<=", 7.01, False),
        (">", 7.0, False),
        (">", 7.01, True),
        (">=", 7.0, True),
        (">=", 6.99, False),
    ],
)
def test_met_follows_the_comparator_at_its_boundary(comparator, value, met):
    got = state(target(comparator), readings((value, 1)))
    assert (got == (ProgressState.MET, "target-met")) is met
    assert Target(measure=HBA1C, comparator=Comparator(comparator), value=7, unit="%").meets(value) is met


@pytest.mark.parametrize(("value", "met"), [(90, True), (130, True), (110, True), (89.9, False), (130.1, False)])
def test_a_range_includes_both_ends(value, met):
    t = Target(measure=SBP, low=90, high=130, unit="mm[Hg]")
    assert (state(t, readings((value, 1)))[0] is ProgressState.MET) is met


def test_the_latest_observation_decides_met_even_after_the_due_date():
    t = target(due_date=date(2026, 1, 1))
    assert state(t, readings((8.0, 10), (6.5, 1))) == (ProgressState.MET, "target-met")
    assert state(t, readings((6.5, 10), (7.5, 1)))[0] is ProgressState.AT_RISK


def test_moving_away_from_the_target_is_at_risk_and_moving_towards_it_on_track():
    assert state(target(), readings((7.5, 20), (7.9, 1))) == (ProgressState.AT_RISK, "moving-away")
    assert state(target(), readings((7.9, 20), (7.5, 1))) == (ProgressState.ON_TRACK, "improving")
    assert state(target(), readings((7.5, 20), (7.5, 1))) == (ProgressState.ON_TRACK, "in-progress")
    # Slipping out of a met target counts as moving away.
    assert state(target(), readings((6.8, 20), (7.1, 1))) == (ProgressState.AT_RISK, "moving-away")
    rng = Target(measure=SBP, low=90, high=130, unit="mm[Hg]")
    assert state(rng, readings((80, 20), (85, 1))) == (ProgressState.ON_TRACK, "improving")
    assert state(rng, readings((140, 20), (85, 1))) == (ProgressState.ON_TRACK, "improving")
    assert state(rng, readings((135, 20), (80, 1))) == (ProgressState.AT_RISK, "moving-away")


def test_a_missed_target_is_at_risk_from_14_days_before_its_due_date_in_the_patients_zone():
    due = date(2026, 5, 15)
    watch = datetime(2026, 5, 1, 4, tzinfo=UTC)  # 1 May 00:00 in New York
    assert watch.date() == due - NEAR_DUE
    rs = readings((7.6, 5), (7.4, 1))
    assert state(target(due_date=due), rs, now=watch - timedelta(seconds=1)) == (ProgressState.ON_TRACK, "improving")
    assert state(target(due_date=due), rs, now=watch) == (ProgressState.AT_RISK, "due-soon")
    day_after = datetime(2026, 5, 16, 4, tzinfo=UTC)
    assert state(target(due_date=due), rs, now=day_after - timedelta(seconds=1))[1] == "due-soon"
    assert state(target(due_date=due), rs, now=day_after) == (ProgressState.AT_RISK, "overdue")


def test_a_stale_observation_is_at_risk():
    p = assess(target(), readings((7.4, 90)), NOW - timedelta(days=200), TZ, NOW)
    assert (p.state, p.reason, p.since) == (ProgressState.AT_RISK, "no-recent-observation", NOW)
    assert state(target(), readings((7.4, 89))) == (ProgressState.ON_TRACK, "in-progress")


def test_at_risk_from_is_where_assess_turns_at_risk():
    cases = [
        (target(due_date=date(2026, 8, 1)), readings((7.4, 10))),
        (target(), readings((7.4, 10))),
        (target(), []),
        (target(), readings((7.5, 20), (7.9, 1))),
    ]
    for t, rs in cases:
        at = at_risk_from(t, rs, NOW - timedelta(days=30), TZ)
        assert assess(t, rs, NOW - timedelta(days=30), TZ, at).state is ProgressState.AT_RISK
        before = assess(t, rs, NOW - timedelta(days=30), TZ, at - timedelta(seconds=1))
        assert before.state is ProgressState.ON_TRACK or at <= NOW - timedelta(days=1)
    assert at_risk_from(target(), readings((6.0, 1)), NOW, TZ) is None
    assert at_risk_from(None, [], NOW, TZ) is None


# -- targets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"comparator": "<"}, "target.value"),
        ({"value": 7}, "target.comparator"),
        ({"low": 5}, "target.high"),
        ({"low": 9, "high": 5}, "target.low"),
        ({"comparator": "<", "value": 7, "low": 1, "high": 2}, "target.low"),
        ({"comparator": "<", "value": 7, "measure": {**HBA1C, "code": "4548-5"}}, "target.measure.code"),
        (
            {"comparator": "<", "value": 7, "measure": {**HBA1C, "system": "http://example.org"}},
            "target.measure.system",
        ),
    ],
)
def test_a_target_must_be_one_clear_shape_with_a_valid_measure(fields, field):
    t = Target(**({"measure": HBA1C, "unit": "%"} | fields))
    with pytest.raises(Invalid) as exc:
        t.check("target")
    assert exc.value.extra["field"] == field


def test_loinc_codes_carry_a_mod_10_check_digit():
    assert [loinc_problem(c) for c in ("4548-4", "2339-0", "8480-6", "39156-5")] == [None] * 4
    assert "check digit" in loinc_problem("4548-3")
    assert loinc_problem("4548") is not None


# -- plans and tasks --------------------------------------------------------------------------------


def test_a_new_plan_is_draft_or_active_and_says_so_in_its_event():
    p = CarePlan.create("cp-1", patient(), NewCarePlan(title="Diabetes"), "dr-1", NOW)
    assert p.status is PlanStatus.DRAFT and p.time_zone == TZ
    [e] = p.take_events()
    assert e == CarePlanChanged(
        care_plan_id="cp-1", patient_id="pat-1", change="created", status="draft", changed_at=NOW
    )
    with pytest.raises(Invalid) as exc:
        CarePlan.create("cp-2", patient(), NewCarePlan(title="x", status="completed"), "dr-1", NOW)
    assert exc.value.extra["field"] == "status"
    with pytest.raises(Invalid) as exc:
        CarePlan.create("cp-2", patient(), NewCarePlan(title="x", addresses=[{**HBA1C}]), "dr-1", NOW)
    assert exc.value.extra["field"] == "addresses.0.system"


def test_plan_moves_follow_the_lifecycle_and_closing_cancels_open_tasks():
    p = plan("draft")
    with pytest.raises(Conflict) as exc:
        p.change_status(PlanStatus.COMPLETED, "dr-1", NOW)
    assert exc.value.extra == {"current": "draft", "requested": "completed"}
    assert p.change_status(PlanStatus.ACTIVE, "dr-1", NOW) is True
    assert p.change_status(PlanStatus.ACTIVE, "dr-1", NOW) is False
    p.add_task("t-1", NewTask(description="Call", assignee=NURSE), "dr-1", NOW)
    p.add_task("t-2", NewTask(description="Teach", assignee=NURSE), "dr-1", NOW)
    p.change_task_status("t-2", TaskStatus.COMPLETED, "nurse-1", NOW)
    assert p.change_status(PlanStatus.COMPLETED, "dr-1", NOW + timedelta(days=1), "goals met")
    assert [t.status for t in p.tasks] == [TaskStatus.CANCELLED, TaskStatus.COMPLETED]
    assert p.tasks[0].status_history[-1].reason == "care plan completed"
    assert [(s.status, s.by) for s in p.status_history] == [
        ("draft", "dr-1"),
        ("active", "dr-1"),
        ("completed", "dr-1"),
    ]
    with pytest.raises(Conflict) as exc:
        p.change_status(PlanStatus.ACTIVE, "dr-1", NOW)
    assert exc.value.extra == {"current": "completed", "requested": "active"}
    with pytest.raises(Conflict) as exc:
        p.add_goal("g-1", NewGoal(description="x"), "dr-1", NOW)
    assert exc.value.extra == {"current": "completed"}


def test_task_moves_follow_the_task_lifecycle_with_who_and_when():
    p = plan()
    p.add_task("t-1", NewTask(description="Call", assignee=NURSE, due_date=date(2026, 5, 3)), "dr-1", NOW)
    p.take_events()
    later = NOW + timedelta(hours=1)
    assert p.change_task_status("t-1", TaskStatus.IN_PROGRESS, "nurse-1", later) is True
    assert p.change_task_status("t-1", TaskStatus.IN_PROGRESS, "nurse-1", later) is False
    assert p.change_task_status("t-1", TaskStatus.COMPLETED, "nurse-1", later, "done") is True
    assert [(s.status, s.by) for s in p.tasks[0].status_history] == [
        ("requested", "dr-1"),
        ("in-progress", "nurse-1"),
        ("completed", "nurse-1"),
    ]
    for target_status in (TaskStatus.IN_PROGRESS, TaskStatus.CANCELLED, TaskStatus.REQUESTED):
        with pytest.raises(Conflict) as exc:
            p.change_task_status("t-1", target_status, "nurse-1", later)
        assert exc.value.extra == {"current": "completed", "requested": target_status.value}
    assert [(e.change, e.status) for e in p.take_events()] == [
        ("task_status_changed", "in-progress"),
        ("task_status_changed", "completed"),
    ]
    with pytest.raises(NotFound):
        p.change_task_status("nope", TaskStatus.COMPLETED, "nurse-1", later)
    with pytest.raises(Invalid) as exc:
        p.add_task("t-2", NewTask(description="x", assignee=NURSE, goal_id="nope"), "dr-1", NOW)
    assert exc.value.extra["field"] == "goal_id"


def test_an_open_task_is_marked_overdue_once_when_its_due_date_ends_where_the_patient_lives():
    p = plan()
    p.add_task("t-1", NewTask(description="Call", assignee=NURSE, due_date=date(2026, 5, 1)), "dr-1", NOW)
    p.add_task("t-2", NewTask(description="Done", assignee=NURSE, due_date=date(2026, 4, 1)), "dr-1", NOW)
    p.change_task_status("t-2", TaskStatus.COMPLETED, "nurse-1", NOW)
    p.take_events()
    end_of_day = datetime(2026, 5, 2, 4, tzinfo=UTC)  # 2 May 00:00 in New York
    assert p.next_overdue_at == end_of_day
    assert p.flag_overdue(end_of_day - timedelta(seconds=1)) == 0
    assert p.flag_overdue(end_of_day) == 1
    assert p.take_events() == [
        CareTaskOverdue(
            care_plan_id="cp-1",
            task_id="t-1",
            patient_id="pat-1",
            due_date=date(2026, 5, 1),
            assignee_id="nurse-1",
            assignee_role="nurse",
        )
    ]
    assert p.tasks[0].overdue_at == end_of_day and p.next_overdue_at is None
    assert p.flag_overdue(end_of_day + timedelta(days=3)) == 0 and p.take_events() == []


def test_only_an_active_plans_tasks_become_overdue():
    for status in (PlanStatus.DRAFT, PlanStatus.ON_HOLD):
        p = plan("draft")
        if status is PlanStatus.ON_HOLD:
            p.change_status(PlanStatus.ACTIVE, "dr-1", NOW)
            p.change_status(PlanStatus.ON_HOLD, "dr-1", NOW)
        p.add_task("t-1", NewTask(description="Call", assignee=NURSE, due_date=date(2026, 4, 1)), "dr-1", NOW)
        assert p.flag_overdue(NOW) == 0 and p.worklist(NOW) == []


def test_observations_use_the_targets_unit_are_not_in_the_future_and_are_kept_in_time_order():
    p = plan()
    p.add_goal("g-1", NewGoal(description="HbA1c under 7%", target=target()), "dr-1", NOW)
    with pytest.raises(Invalid) as exc:
        p.record_observation("g-1", "o-1", NewObservation(value=53, unit="mmol/mol", effective_at=NOW), "dr-1", NOW)
    assert exc.value.extra["field"] == "unit"
    with pytest.raises(Invalid) as exc:
        p.record_observation(
            "g-1", "o-1", NewObservation(value=7, unit="%", effective_at=NOW + timedelta(hours=1)), "dr-1", NOW
        )
    assert exc.value.extra["field"] == "effective_at"
    p.record_observation("g-1", "o-new", NewObservation(value=6.8, unit="%", effective_at=NOW), "nurse-1", NOW)
    p.record_observation(
        "g-1", "o-old", NewObservation(value=8.1, unit="%", effective_at=NOW - timedelta(days=60)), "nurse-1", NOW
    )
    g = p.goal("g-1")
    assert [o.id for o in g.observations] == ["o-old", "o-new"]
    assert p.progress(g, NOW).state is ProgressState.MET  # the latest measured, not the latest recorded


def test_the_worklist_shows_overdue_tasks_and_goals_at_risk_by_assignee():
    p = plan()
    p.add_goal("g-1", NewGoal(description="HbA1c under 7%", target=target()), "dr-1", NOW - timedelta(days=40))
    p.add_goal("g-2", NewGoal(description="Weight", target=None), "dr-1", NOW)
    for value, days in ((7.4, 30), (7.9, 2)):
        p.record_observation(
            "g-1",
            f"o-{days}",
            NewObservation(value=value, unit="%", effective_at=NOW - timedelta(days=days)),
            "dr-1",
            NOW,
        )
    p.add_task(
        "t-1", NewTask(description="Call", assignee=NURSE, due_date=date(2026, 4, 20), goal_id="g-1"), "dr-1", NOW
    )
    p.add_task(
        "t-2",
        NewTask(description="Later", assignee={"id": "dietitian-1", "role": "dietitian"}, due_date=date(2026, 6, 1)),
        "dr-1",
        NOW,
    )
    assert [(i.kind, i.item_id) for i in p.worklist(NOW)] == [("task", "t-1"), ("goal", "g-1")]
    assert [(i.kind, i.item_id) for i in p.worklist(NOW, "nurse-1")] == [("task", "t-1"), ("goal", "g-1")]
    assert p.worklist(NOW, "dietitian-1") == []
    assert p.attention_from <= NOW and p.assignee_ids == ["dietitian-1", "nurse-1"]


def test_an_import_keeps_the_given_ids_and_statuses_and_validates_like_the_api():
    goals = [
        ImportedGoal(
            id="g-a",
            description="HbA1c under 7%",
            target=target(),
            observations=[NewObservation(value=7.2, unit="%", effective_at=NOW - timedelta(days=3))],
        ),
        ImportedGoal(id="g-b", description="improved systolic function"),
    ]
    tasks = [
        ImportedTask(
            id="t-a",
            description="Diet education",
            status=TaskStatus.COMPLETED,
            code={"system": "http://snomed.info/sct", "code": "409002", "display": "Food allergy diet"},
        )
    ]
    p = CarePlan.imported(
        "plan-from-src-1",
        patient(),
        NewCarePlan(title="Self care", status="completed"),
        goals,
        tasks,
        "importer",
        NOW,
        "bundle-1",
    )
    assert p.id == "plan-from-src-1" and p.status is PlanStatus.COMPLETED
    assert p.goal_ids == ["g-a", "g-b"] and p.tasks[0].assignee is None and p.tasks[0].status is TaskStatus.COMPLETED
    assert p.source.reference == "bundle-1" and len(p.goal("g-a").observations) == 1
    assert [e.change for e in p.take_events()] == ["imported"]
    with pytest.raises(Invalid) as exc:
        CarePlan.imported("cp-x", patient(), NewCarePlan(title="x"), [goals[1], goals[1]], [], "importer", NOW)
    assert exc.value.extra["field"] == "goals.1.id"


def test_the_stored_document_round_trips_and_carries_its_lookup_fields():
    p = plan()
    p.add_goal("g-1", NewGoal(description="HbA1c", target=target()), "dr-1", NOW)
    doc = p.to_document()
    assert doc["goal_ids"] == ["g-1"] and "attention_from" in doc and "next_overdue_at" in doc
    back = CarePlan.from_document(doc)
    assert back.model_dump() == p.model_dump()


def test_a_timeline_entry_is_keyed_on_its_event_and_names_what_changed():
    p = plan()
    p.add_goal("g-1", NewGoal(description="HbA1c under 7%"), "dr-1", NOW)
    [e] = p.take_events()
    entry = entry_for_change("event-1", e, p, recorded_at=NOW)
    assert (entry.id, entry.kind, entry.care_plan_id) == ("event-1", TimelineKind.CARE_PLAN_CHANGED, "cp-1")
    assert entry.summary == "Goal added to care plan “Diabetes”: HbA1c under 7%"
