"""The one rule of every explicit state machine here: a repeated move changes nothing, and a
move the transition table does not allow is a 409 naming both states. Pure Python."""

from collections.abc import Collection, Mapping
from enum import StrEnum

from caremesh_kit.errors import Conflict


def guard(current: str, target: StrEnum, transitions: Mapping[str, Collection[str]], what: str) -> bool:
    """True if the move from ``current`` to ``target`` is due; False if already there (a repeat,
    e.g. a redelivered event); else Conflict. ``what`` names the thing, e.g. "a referral"."""
    if current == target:
        return False
    if target not in transitions[current]:
        raise Conflict(f"{what} that is {current} cannot become {target}", current=str(current), requested=str(target))
    return True
