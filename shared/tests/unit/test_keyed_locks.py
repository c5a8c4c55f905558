"""Handlers of one aggregate's events run one at a time; different aggregates' in parallel."""

import asyncio

from caremesh_kit.bus import KeyedLocks


async def test_one_key_is_serialized_and_different_keys_run_in_parallel():
    locks = KeyedLocks()
    running: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}
    together: list[int] = []

    async def handle(key: str) -> None:
        async with locks.hold(key):
            running[key] += 1
            peak[key] = max(peak[key], running[key])
            together.append(sum(running.values()))
            await asyncio.sleep(0.01)
            running[key] -= 1

    await asyncio.gather(*(handle(k) for k in "abababab"))
    assert peak == {"a": 1, "b": 1}
    assert max(together) == 2
    assert locks._locks == {}  # no lock kept once nobody holds or waits for it


async def test_a_failing_holder_releases_the_key():
    locks = KeyedLocks()
    try:
        async with locks.hold("a"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with asyncio.timeout(1):
        async with locks.hold("a"):
            pass
    assert locks._locks == {}
