"""Reminder policy and planning. Pure Python: no I/O.

A policy gives, per service type, how long before a visit each reminder goes out (e.g. 72 h,
24 h and 2 h). Planning turns that into send times for one recipient: each moved out of the
recipient's quiet hours to the next allowed time, and dropped if that would be at or after the
visit's start, or already past. A reschedule plans again; a cancellation drops them all.
"""

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel

DEFAULT_OFFSETS = (timedelta(hours=72), timedelta(hours=24), timedelta(hours=2))
_DURATION = re.compile(r"^([0-9]+)(m|h|d)$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"not a duration like 90m, 24h or 3d: {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class ReminderPolicy(BaseModel):
    """Offsets before the start, per service code; ``default`` for the others."""

    default: tuple[timedelta, ...] = DEFAULT_OFFSETS
    by_service: Mapping[str, tuple[timedelta, ...]] = {}

    @classmethod
    def parse(cls, text: str) -> "ReminderPolicy":
        """From configuration: ``default=72h,24h,2h;97110=24h;G0438=7d,1d`` (an empty list: none)."""
        default: tuple[timedelta, ...] = DEFAULT_OFFSETS
        by_service: dict[str, tuple[timedelta, ...]] = {}
        for part in filter(None, (p.strip() for p in text.split(";"))):
            key, _, values = part.partition("=")
            if not _:
                raise ValueError(f"expected <service code or default>=<durations>: {part!r}")
            offsets = tuple(sorted({parse_duration(v) for v in values.split(",") if v.strip()}, reverse=True))
            if key.strip() == "default":
                default = offsets
            else:
                by_service[key.strip()] = offsets
        return cls(default=default, by_service=by_service)

    def offsets_for(self, service_code: str) -> tuple[timedelta, ...]:
        return self.by_service.get(service_code, self.default)


def offset_label(offset: timedelta) -> str:
    """A stable name for an offset, part of each reminder's id (so a replan finds the same ones)."""
    minutes = int(offset.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


class PlannedReminder(BaseModel):
    offset: str  # e.g. "24h": which reminder of the policy this is
    due_at: datetime  # what the policy asks for
    send_at: datetime  # after moving out of quiet hours


class Skipped(BaseModel):
    offset: str
    reason: str


def plan(
    start: datetime, offsets: tuple[timedelta, ...], now: datetime, next_allowed: Callable[[datetime], datetime]
) -> tuple[list[PlannedReminder], list[Skipped]]:
    """The reminders for a visit at ``start``. ``next_allowed(t)`` is the first time at or after
    ``t`` outside the recipient's quiet hours. Two reminders moved to the same time are one."""
    planned: list[PlannedReminder] = []
    skipped: list[Skipped] = []
    for offset in sorted(offsets, reverse=True):
        label, due = offset_label(offset), start - offset
        if due < now:
            skipped.append(Skipped(offset=label, reason="its time has passed"))
            continue
        send_at = next_allowed(due)
        if send_at >= start:
            skipped.append(Skipped(offset=label, reason="quiet hours last until the visit"))
        elif planned and planned[-1].send_at == send_at:
            skipped.append(Skipped(offset=label, reason=f"moved onto the {planned[-1].offset} reminder"))
        else:
            planned.append(PlannedReminder(offset=label, due_at=due, send_at=send_at))
    return planned, skipped


REMINDER, FAMILY_REMINDER = "appointment.reminder", "family.appointment.reminder"
REMINDER_KINDS = frozenset({REMINDER, FAMILY_REMINDER})


def reminder_source(appointment_id: str, plan_no: int, offset: str) -> str:
    """A reminder's key (with recipient and channel, its message id): the same plan maps to the same ids."""
    return f"reminder:{appointment_id}:{plan_no}:{offset}"


def parse_source(source: str) -> tuple[str, int] | None:
    """The appointment id and plan number of a reminder's key."""
    head, _, rest = source.partition(":")
    try:
        appointment_id, plan_no, _offset = rest.rsplit(":", 2)
        return (appointment_id, int(plan_no)) if head == "reminder" else None
    except ValueError:
        return None
