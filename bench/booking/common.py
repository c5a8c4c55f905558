"""Addresses, settings shared with the services, and small helpers used by every phase."""

from __future__ import annotations

import asyncio
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
    return AsyncMongoClient(mongo_url(service), tz_aware=True, serverSelectionTimeoutMS=5000,
                            connectTimeoutMS=5000, socketTimeoutMS=socket_timeout_ms)


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
