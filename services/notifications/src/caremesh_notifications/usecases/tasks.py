"""Running a handler's independent store calls at once."""

import asyncio
from collections.abc import Awaitable
from typing import Any


async def concurrently(*calls: Awaitable[Any]) -> list[Any]:
    """Await every call at once; their results in order. If any failed, the first failure is raised,
    but only once all have finished, so no write is left running behind the caller."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


async def settled(call: Awaitable[Any]) -> Any:
    """The call's result, or the exception it raised (for a result needed only on some paths)."""
    try:
        return await call
    except Exception as exc:  # noqa: BLE001 - handed back, raised where the result is used
        return exc
