"""``caremesh-dlq``: list, show, re-drive and purge dead letters, and set their retention.

Examples::

    caremesh-dlq list
    caremesh-dlq show 01J9...                    # headers and reason; add --body for the body
    caremesh-dlq replay --reason "not ready" --type 'org.caremesh.notifications.*'
    caremesh-dlq replay --all --queue notifications.scheduling.appointment.booked
    caremesh-dlq purge --id 01J9...
    caremesh-dlq retention                       # the retention policy for DLQs made earlier
"""

import argparse
import asyncio
import json
import re
import sys
from collections import Counter
from typing import Any, TextIO

import aio_pika

from caremesh_kit.tools.connection import Management, ToolSettings, add_connection_flags, settings_from
from caremesh_kit.tools.dead_letters import DeadLetters, Selection


def policy_name(namespace: str) -> str:
    return f"{namespace}.dead-letter-retention"


def retention_policy(namespace: str, days: float, priority: int) -> dict[str, Any]:
    return {
        "pattern": rf"^{re.escape(namespace)}\..+\.dlq$",
        "apply-to": "queues",
        "priority": priority,
        # As on new DLQs (bus.py): reading a dead letter must not count it towards a delivery limit.
        "definition": {"message-ttl": int(days * 86_400_000), "delivery-limit": 1_000_000},
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="caremesh-dlq", description="Dead-lettered messages of one bus namespace.")
    add_connection_flags(p)
    commands = p.add_subparsers(dest="command", required=True)

    def selecting(sub: argparse.ArgumentParser, *, needed: bool) -> None:
        sub.add_argument("--queue", help="one DLQ: its name, its subscriber queue's, with or without the namespace")
        sub.add_argument("--id", action="append", default=[], help="a dead letter's ce-id (repeatable)")
        sub.add_argument("--reason", help="a substring of the dead-letter reason (any case)")
        sub.add_argument("--type", help="a glob on the CloudEvents type, e.g. 'org.caremesh.scheduling.*'")
        sub.add_argument("--routing-key", help="a glob on the original routing key")
        if needed:
            sub.add_argument("--all", action="store_true", help="every dead letter (of --queue, if given)")

    selecting(commands.add_parser("list", help="dead letters per queue, counted by reason"), needed=False)
    show = commands.add_parser("show", help="one dead letter: headers and reason")
    show.add_argument("id", help="its ce-id")
    show.add_argument("--queue", help="look only in this DLQ")
    show.add_argument("--body", action="store_true", help="include the body (it may hold contact details)")
    selecting(commands.add_parser("replay", help="re-drive through the original exchange and routing key"), needed=True)
    selecting(commands.add_parser("purge", help="drop dead letters"), needed=True)
    retention = commands.add_parser("retention", help="apply the dead-letter retention as a broker policy")
    retention.add_argument("--days", type=float, help="default: CAREMESH_DEAD_LETTER_RETENTION_DAYS (14)")
    retention.add_argument("--priority", type=int, default=0, help="policy priority (one policy applies per queue)")
    retention.add_argument("--remove", action="store_true", help="remove the policy instead")
    return p


def selection_from(args: argparse.Namespace) -> Selection:
    return Selection(
        ids=tuple(args.id),
        reason=args.reason,
        type=args.type,
        routing_key=args.routing_key,
        everything=getattr(args, "all", False),
    )


async def dead_letter_queues(settings: ToolSettings, dlqs: DeadLetters, given: str | None) -> list[str]:
    if given:
        return [dlqs.queue_name(given)]
    async with Management(settings) as api:
        return [str(q["name"]) for q in await api.queues(f"{settings.bus_namespace}.", ".dlq")]


async def run(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = parser().parse_args(argv)
    settings = settings_from(args)
    ns = settings.bus_namespace

    def progress(line: str) -> None:
        print(line, file=err, flush=True)

    if args.command == "retention":
        async with Management(settings) as api:
            if args.remove:
                await api.delete_policy(policy_name(ns))
                print(f"removed policy {policy_name(ns)}", file=out)
                return 0
            days = args.days if args.days is not None else settings.dead_letter_retention_days
            await api.put_policy(policy_name(ns), retention_policy(ns, days, args.priority))
            covered = await api.queues(f"{ns}.", ".dlq")
        print(f"policy {policy_name(ns)}: dead letters kept {days:g} days in {len(covered)} queue(s)", file=out)
        return 0

    async with DeadLetters(settings.amqp_url, ns) as dlqs:
        queues = await dead_letter_queues(settings, dlqs, args.queue)
        if args.command == "list":
            selection = selection_from(args)
            async with Management(settings) as api:
                described = {str(q["name"]): q for q in await api.queues(f"{ns}.", ".dlq")}
            for dlq in queues:
                reasons: Counter[str] = Counter()
                async for dead in dlqs.each(dlq):
                    if selection(dead):
                        reasons[dead.reason] += 1
                if not reasons:
                    continue
                q = described.get(dlq, {})
                kept = "" if (q.get("arguments") or {}).get("x-message-ttl") or q.get("policy") else "  (no retention)"
                print(f"{dlq}  {sum(reasons.values())}{kept}", file=out)
                for reason, count in reasons.most_common():
                    print(f"  {count:>6}  {reason}", file=out)
            return 0
        if args.command == "show":
            found = await dlqs.find(queues, args.id)
            if found is None:
                print(f"no dead letter {args.id} in {len(queues)} queue(s)", file=err)
                return 1
            if not args.body:
                del found["body"]
            print(json.dumps(found, indent=2, ensure_ascii=False), file=out)
            return 0
        selection = selection_from(args)
        if selection.empty:
            print("say which dead letters: --id, --reason, --type, --routing-key or --all", file=err)
            return 2
        if args.command == "replay":
            done, left = await dlqs.replay(queues, selection, progress)
            print(f"re-driven {done}, left {left}", file=out)
            return 0
        dropped = await dlqs.purge(queues, selection, progress)
        print(f"purged {dropped}", file=out)
        return 0


def main() -> None:
    try:
        sys.exit(asyncio.run(run(sys.argv[1:])))
    except aio_pika.exceptions.ChannelNotFoundEntity as exc:
        sys.exit(f"caremesh-dlq: {exc.args[0] if exc.args else exc}")
