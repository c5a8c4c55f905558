"""Progress of a goal towards its target: on track, at risk, or met. Pure Python: no I/O.

The rules, applied to the goal's observations ordered by effective time:

1. **Met** when the latest observation meets the target (strict comparators are strict: 7.0 does
   not meet ``< 7``; range ends are included). Nothing else is considered: a goal that is met
   stays met until a newer observation misses.
2. Otherwise **at risk** as soon as any of these holds, named by ``reason`` in this order:
   - ``moving-away``: the latest value is further from the target than the one before it;
   - ``overdue``: the target's due date has passed (in the patient's time zone);
   - ``due-soon``: the due date is ``NEAR_DUE`` (14 days) away or less;
   - ``no-recent-observation``: the latest observation is ``STALE`` (90 days) old or more, or
     there is none and the goal was set that long ago (``no-observation``).
3. Otherwise **on track**: ``improving`` (closer than the value before), ``in-progress`` (an
   observation misses, with time left) or ``awaiting-observation`` (none yet).

Every at-risk rule holds from some instant on until a new observation arrives, so
``at_risk_from`` gives that instant. The store keeps it, which lets the worklist find the goals at
risk without computing every goal.
"""

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from caremesh_records.domain.careplan.targets import Target

NEAR_DUE = timedelta(days=14)
STALE = timedelta(days=90)


class ProgressState(StrEnum):
    ON_TRACK = "on-track"
    AT_RISK = "at-risk"
    MET = "met"


class Reading(BaseModel):
    """One observation as progress sees it."""

    value: float
    effective_at: datetime
    recorded_at: datetime


class Progress(BaseModel):
    state: ProgressState
    reason: str
    detail: str
    since: datetime | None = None  # at risk since
    latest_value: float | None = None
    latest_at: datetime | None = None


def start_of(day: date, time_zone: str) -> datetime:
    """The instant ``day`` begins where the patient lives, in UTC."""
    return datetime.combine(day, time(), ZoneInfo(time_zone)).astimezone(UTC)


def _risks(
    target: Target, readings: list[Reading], set_at: datetime, time_zone: str
) -> list[tuple[datetime, str, str]]:
    """Each rule that makes the goal at risk: (from when, reason, detail), in the order of priority."""
    latest = readings[-1] if readings else None
    if latest is not None and target.meets(latest.value):
        return []
    risks = []
    if latest is not None and len(readings) > 1 and target.distance(latest.value) > target.distance(readings[-2].value):
        risks.append((latest.recorded_at, "moving-away", "the latest value moved away from the target"))
    if target.due_date is not None:
        risks.append(
            (
                start_of(target.due_date + timedelta(days=1), time_zone),
                "overdue",
                f"the due date {target.due_date} passed before the target was met",
            )
        )
        risks.append(
            (
                start_of(target.due_date - NEAR_DUE, time_zone),
                "due-soon",
                f"the target is not met and is due on {target.due_date}",
            )
        )
    if latest is None:
        risks.append(
            (set_at + STALE, "no-observation", f"no observation in the {STALE.days} days since the goal was set")
        )
    else:
        risks.append(
            (latest.effective_at + STALE, "no-recent-observation", f"no observation in the last {STALE.days} days")
        )
    return risks


def at_risk_from(target: Target | None, readings: list[Reading], set_at: datetime, time_zone: str) -> datetime | None:
    """From when the goal is at risk if nothing new is observed; None if met or not measurable."""
    if target is None:
        return None
    return min((at for at, _, _ in _risks(target, readings, set_at, time_zone)), default=None)


def assess(
    target: Target | None, readings: list[Reading], set_at: datetime, time_zone: str, now: datetime
) -> Progress | None:
    """The goal's progress at ``now`` (rules in the module docstring); None without a target."""
    if target is None:
        return None
    latest = readings[-1] if readings else None
    seen = {"latest_value": latest.value, "latest_at": latest.effective_at} if latest else {}
    if latest is not None and target.meets(latest.value):
        return Progress(state=ProgressState.MET, reason="target-met", detail=f"{target.text()}: met", **seen)
    active = [r for r in _risks(target, readings, set_at, time_zone) if r[0] <= now]
    if active:
        _, reason, detail = active[0]
        return Progress(
            state=ProgressState.AT_RISK, reason=reason, detail=detail, since=min(at for at, _, _ in active), **seen
        )
    if latest is None:
        return Progress(state=ProgressState.ON_TRACK, reason="awaiting-observation", detail="no observation yet")
    if len(readings) > 1 and target.distance(latest.value) < target.distance(readings[-2].value):
        return Progress(
            state=ProgressState.ON_TRACK, reason="improving", detail="the latest value moved towards the target", **seen
        )
    return Progress(state=ProgressState.ON_TRACK, reason="in-progress", detail="not met yet, with time left", **seen)
