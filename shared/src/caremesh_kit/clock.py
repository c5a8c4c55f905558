"""The one clock: services take ``Clock`` from their composition root, so a test can set the time.

Domain code never reads a clock; use cases get ``now`` from the injected one and pass it in.
"""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Aware UTC, to the millisecond: what MongoDB stores, so a value read back compares equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
