"""``caremesh-events tail``: the event log as JSON lines (CloudEvents attributes and data).

Examples::

    caremesh-events tail --from-offset first --type 'org.caremesh.scheduling.*'
    caremesh-events tail --since 2026-12-01T00:00Z --routing-key 'insurance.#' --limit 50
    caremesh-events tail --follow                  # from the next event on, until Ctrl-C
"""

import argparse
import asyncio
import contextlib
import fnmatch
import json
import sys
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from caremesh_kit.bus import Names
from caremesh_kit.tools.connection import add_connection_flags, settings_from
from caremesh_kit.tools.dead_letters import text

PREFETCH = 500  # streams need a prefetch; the ack only moves the credit window
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Filter:
    type: str | None = None  # a glob on the CloudEvents type
    routing_key: str | None = None  # a glob on the routing key; "#" also matches any rest
    since: datetime | None = None

    def __call__(self, message: AbstractIncomingMessage) -> bool:
        headers = message.headers or {}
        if self.type and not fnmatch.fnmatchcase(text(headers.get("ce-type")), self.type):
            return False
        if self.routing_key and not fnmatch.fnmatchcase(message.routing_key or "", self.routing_key.replace("#", "*")):
            return False
        # The stream starts at the chunk holding the timestamp, so earlier events can come first.
        return self.since is None or event_time(message) >= self.since


def event_time(message: AbstractIncomingMessage) -> datetime:
    raw = text((message.headers or {}).get("ce-time"))
    try:
        t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def as_cloudevent(message: AbstractIncomingMessage) -> dict[str, Any]:
    headers = message.headers or {}
    event: dict[str, Any] = {k.removeprefix("ce-"): text(v) for k, v in headers.items() if k.startswith("ce-")}
    event["datacontenttype"] = message.content_type or "application/json"
    event["routingkey"] = message.routing_key
    event["offset"] = headers.get("x-stream-offset")
    try:
        event["data"] = json.loads(message.body)
    except ValueError:
        event["data"] = message.body.decode("utf-8", "replace")
    return event


def parse_offset(value: str) -> str | int:
    if value in ("first", "last", "next"):
        return value
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("an offset is first, last, next or a number") from None
    if number < 0:
        raise argparse.ArgumentTypeError("an offset is not negative")
    return number


def parse_time(value: str) -> datetime:
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError("a time is ISO 8601, e.g. 2026-12-01T00:00Z") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


async def tail(
    amqp_url: str, namespace: str, offset: str | int | datetime, *, follow: bool, idle_seconds: float = 1.0
) -> AsyncGenerator[AbstractIncomingMessage, None]:
    """Read the event log from ``offset``; without ``follow``, stop once ``idle_seconds`` pass
    without an event (the end of the log)."""
    connection = await aio_pika.connect(amqp_url)
    arrived: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

    async def take(message: AbstractIncomingMessage) -> None:
        await message.ack()
        arrived.put_nowait(message)

    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=PREFETCH)
        queue = await channel.get_queue(Names(namespace).event_log, ensure=False)
        # A callback consumer: closing an iterator would nack what it buffered, which streams refuse.
        await queue.consume(take, arguments={"x-stream-offset": offset})
        while True:
            try:
                yield await (arrived.get() if follow else asyncio.wait_for(arrived.get(), timeout=idle_seconds))
            except TimeoutError:
                return
    finally:
        with contextlib.suppress(Exception):
            await connection.close()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="caremesh-events", description="The event log of one bus namespace.")
    add_connection_flags(p)
    commands = p.add_subparsers(dest="command", required=True)
    t = commands.add_parser("tail", help="print events as JSON lines")
    start = t.add_mutually_exclusive_group()
    start.add_argument(
        "--from-offset",
        type=parse_offset,
        help="first, last, next or a stream offset (default: first, or next with --follow)",
    )
    start.add_argument(
        "--since", type=parse_time, help="events from this time on (their ce-time), e.g. 2026-12-01T00:00Z"
    )
    t.add_argument("--type", help="a glob on the CloudEvents type, e.g. 'org.caremesh.scheduling.*'")
    t.add_argument("--routing-key", help="a glob on the routing key, e.g. 'insurance.*'")
    t.add_argument("--follow", action="store_true", help="keep waiting for new events")
    t.add_argument("--limit", type=int, help="stop after this many events")
    t.add_argument("--idle", type=float, default=1.0, help="without --follow: seconds without an event that end it")
    return p


async def run(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = parser().parse_args(argv)
    settings = settings_from(args)
    # From a time: the stream's timestamps are the broker's, ce-time the publisher's; a margin for
    # clock skew, then the filter keeps exactly the events from that time on.
    offset: str | int | datetime = (
        args.since - CLOCK_SKEW
        if args.since
        else args.from_offset
        if args.from_offset is not None
        else "next"
        if args.follow
        else "first"
    )
    wanted = Filter(type=args.type, routing_key=args.routing_key, since=args.since)
    printed = 0
    if args.limit is not None and args.limit <= 0:
        return 0
    async with contextlib.aclosing(
        tail(settings.amqp_url, settings.bus_namespace, offset, follow=args.follow, idle_seconds=args.idle)
    ) as messages:
        async for message in messages:
            if not wanted(message):
                continue
            print(json.dumps(as_cloudevent(message), ensure_ascii=False), file=out, flush=True)
            printed += 1
            if args.limit is not None and printed >= args.limit:
                break
    print(f"{printed} event(s)", file=err)
    return 0


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        try:
            sys.exit(asyncio.run(run(sys.argv[1:])))
        except aio_pika.exceptions.ChannelNotFoundEntity as exc:
            sys.exit(f"caremesh-events: {exc.args[0] if exc.args else exc}")
