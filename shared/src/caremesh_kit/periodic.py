"""A background sweep: the shape every service's timed job shares."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from caremesh_kit import logs

log = logs.get("caremesh.periodic")


async def every(seconds: float, job: Callable[[], Awaitable[int | None]], did: str) -> None:
    """Run ``job`` every ``seconds`` until cancelled. A count it returns is logged as ``did``; a
    failure is logged (by type, no payload) and the next round tries again."""
    while True:
        try:
            if count := await job():
                logs.info(log, did, count=count)
        except Exception:
            logging.getLogger(log.name).exception("sweep failed: %s", did)
        await asyncio.sleep(seconds)
