"""A compare-and-set change that tells whether it wrote (``Repository.mutate`` returns the
aggregate either way)."""

import inspect
from collections.abc import Callable
from typing import TypeVar

from caremesh_kit.aggregate import Aggregate
from caremesh_kit.store import Repository

A = TypeVar("A", bound=Aggregate)


async def write(
    repo: Repository[A], aggregate_id: str, change: Callable[[A], object], attempts: int = 5
) -> tuple[A, bool]:
    """``repo.mutate``, and whether ``change`` had something to do (did not return False), so was saved."""
    outcome: list[object] = []

    async def apply(aggregate: A) -> object:
        done = change(aggregate)
        if inspect.isawaitable(done):
            done = await done
        outcome[:] = [done]
        return done

    aggregate = await repo.mutate(aggregate_id, apply, attempts=attempts)
    return aggregate, bool(outcome) and outcome[-1] is not False
