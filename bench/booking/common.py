"""Addresses, settings shared with the services, and small helpers used by every phase."""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from pymongo import AsyncMongoClient

HOST = "127.0.0.1"
AMQP_URL = f"amqp://guest:guest@{HOST}:5672/"
MANAGEMENT_URL = f"http://{HOST}:15672"
MANAGEMENT_AUTH = ("guest", "guest")
MAILPIT_URL = f"http://{HOST}:8025"
MONGO_PORTS = {"scheduling": 27101, "records": 27102, "insurance": 27103, "notifications": 27104}
SMTP_PORT = 1025
PORT_OFFSET = 200
SERVICE_CODE = "99213"
SLOTS_PER_PRACTITIONER = 100
# The benchmark's templates run 00:00-23:55 UTC with 30-minute visits: 47 slots a day.
SLOTS_PER_DAY = 47
PREFETCH = 16  # the services' default (ServiceSettings.prefetch)
DELIVERY_LIMIT = 10  # the services' default (ServiceSettings.delivery_limit)

# The broker hops of the booking flow, in order: (consuming service, routing key consumed,
# routing key republished). Scheduling publishes the first event after POST /appointments.
HOPS: list[tuple[str, str, str | None]] = [
    ("insurance", "scheduling.appointment.requested", "insurance.eligibility.confirmed"),
    ("scheduling", "insurance.eligibility.confirmed", "scheduling.appointment.booked"),
    ("notifications", "scheduling.appointment.booked", None),
]


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def mongo_url(service: str) -> str:
    return f"mongodb://{HOST}:{MONGO_PORTS[service]}/"


def async_mongo(service: str, socket_timeout_ms: int) -> AsyncMongoClient:
    return AsyncMongoClient(
        mongo_url(service),
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=5000,
        socketTimeoutMS=socket_timeout_ms,
    )


async def amqp_connect() -> aio_pika.abc.AbstractConnection:
    return await asyncio.wait_for(aio_pika.connect(AMQP_URL, timeout=10), timeout=15)


async def closed_loop(items: list[Any], concurrency: int, one: Callable[[Any], Awaitable[None]]) -> None:
    """Run ``one`` over ``items`` with at most ``concurrency`` in flight, each worker starting its
    next item when the previous one has completed end to end."""
    it = iter(items)

    async def worker() -> None:
        for item in it:  # the shared iterator bounds the total count
            await one(item)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(items))))))


async def open_loop(
    items: list[Any], rate: float, one: Callable[[Any], Awaitable[None]], deadline_s: float
) -> dict[str, Any]:
    """Offer ``one(item)`` at a fixed ``rate`` per second, whether or not earlier ones have
    completed (an open loop), then wait at most ``deadline_s`` after the last offer. Offers are
    due at ``start + i / rate`` (absolute times, so a late offer does not shift the later ones);
    what has not finished by the deadline is cancelled. Returns how the offering went."""
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task] = []
    lags: list[float] = []
    start = loop.time()
    for i, item in enumerate(items):
        due = start + i / rate
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        lags.append(max(0.0, loop.time() - due))
        tasks.append(asyncio.create_task(one(item)))
    offered_s = loop.time() - start
    unfinished: set[asyncio.Task] = set()
    if tasks:
        _, unfinished = await asyncio.wait(tasks, timeout=deadline_s)
    for t in unfinished:
        t.cancel()
    if unfinished:  # cancelled tasks only run their clean-up (finally) blocks: bounded
        await asyncio.wait(unfinished, timeout=10)
    for t in tasks:
        if t.done() and not t.cancelled() and t.exception() is not None:
            say(f"open loop: an offer raised {type(t.exception()).__name__}: {t.exception()}")
    lags.sort()
    return {
        "offered": len(items),
        "rate_per_s": rate,
        "offering_s": offered_s,
        "deadline_s": deadline_s,
        "unfinished_at_deadline": len(unfinished),
        "offer_lag_p99_ms": lags[max(1, math.ceil(0.99 * len(lags))) - 1] * 1000 if lags else None,
        "offer_lag_max_ms": lags[-1] * 1000 if lags else None,
        "late_offers_over_10ms": sum(x > 0.010 for x in lags),
    }
