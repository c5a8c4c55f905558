"""The reference tables that the code can state, written into the docs between markers.

``python scripts/doctables.py`` rewrites them (``make docs``); ``--check`` exits 1 naming every
table that differs from what the code says (tests/docs runs it). Generated:

- ``events``: every event of the contracts, its producer, and the handler of each consumer;
- ``event-flow``: the same as a diagram;
- ``subscriptions``: each service's list, in the order of its ``handlers.py``;
- ``settings-common``, ``settings-<service>``: environment variables, defaults, limits, meaning
  (the comment above the field in its settings class);
- ``policy``: every route of every service, who may call it and the SMART scope it needs (the
  services' ``api/policy.py`` tables and the kit's own routes).

A section sits between ``<!-- BEGIN GENERATED: <name> -->`` and ``<!-- END GENERATED: <name> -->``.
"""

import argparse
import ast
import importlib
import inspect
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from caremesh_contracts import all_event_types
from caremesh_kit.auth import Role
from caremesh_kit.bus import Subscription
from caremesh_kit.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("scheduling", "records", "insurance", "notifications")
GATEWAY = "partners"  # the partner gateway: a service with an API and settings, and no queues
TARGETS = {
    "events": "docs/events.md",
    "event-flow": "docs/events.md",
    "subscriptions": "docs/events.md",
    "settings-common": "docs/configuration.md",
    **{f"settings-{s}": "docs/configuration.md" for s in (*SERVICES, GATEWAY)},
    "policy": "docs/security.md",
    "partner-views": "docs/partners.md",
}
MARK = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END GENERATED: (?P=name) -->)", re.S
)


@dataclass(frozen=True)
class Consumer:
    service: str
    handler: str


def subscriptions() -> dict[str, list[Subscription]]:
    """Each service's subscriptions, as its composition root registers them (nothing is started)."""
    found = {}
    for service in SERVICES:
        app = importlib.import_module(f"caremesh_{service}.app").build()
        found[service] = list(app.state.runtime.bus._subscriptions)
    return found


def handler_name(handler: Callable[..., Any]) -> str:
    owner = getattr(handler, "__self__", None)
    name = getattr(handler, "__qualname__", repr(handler))
    if owner is not None:
        name = f"{type(owner).__name__}.{handler.__name__}"
    return name.replace(".<locals>.", " → ")


def _code(text: str) -> str:
    return f"`{text}`"


def events_table(subs: dict[str, list[Subscription]]) -> str:
    consumers: dict[str, list[Consumer]] = {}
    for service, entries in subs.items():
        for sub in entries:
            consumers.setdefault(sub.event.ce_type(), []).append(Consumer(service, handler_name(sub.handler)))
    lines = [
        "| routing key | version | producer | consumers (handler) | body fields |",
        "| --- | --- | --- | --- | --- |",
    ]
    for event in all_event_types():
        who = consumers.get(event.ce_type(), [])
        heard = "; ".join(f"{c.service} (`{c.handler}`)" for c in who) or "none (event log only)"
        fields = ", ".join(_code(n) + ("" if f.is_required() else "?") for n, f in event.model_fields.items())
        lines.append(f"| `{event.routing_key}` | {event.version} | {event.source_service()} | {heard} | {fields} |")
    return "\n".join(lines) + "\n\n`?`: optional.\n"


def event_flow(subs: dict[str, list[Subscription]]) -> str:
    produced: dict[str, list[str]] = {}
    for event in all_event_types():
        produced.setdefault(event.source_service(), []).append(event.routing_key)
    lines = ["```mermaid", "flowchart LR"]
    lines += [f'    {s[:3].upper()}["{s}"]' for s in SERVICES]
    lines += [
        '    EX{{"&lt;ns&gt;.events<br/>topic exchange"}}',
        '    LOG[("&lt;ns&gt;.event-log<br/>stream, bound to #35;")]',
    ]
    for service in SERVICES:
        keys = "<br/>".join(produced.get(service, []))
        lines.append(f'    {service[:3].upper()} -- "{keys}" --> EX')
    for service in SERVICES:
        keys = "<br/>".join(s.event.routing_key for s in subs[service])
        lines.append(f'    EX -- "{keys}" --> {service[:3].upper()}')
    lines += ['    EX -- "every event" --> LOG', "```"]
    return "\n".join(lines) + "\n"


def subscriptions_table(subs: dict[str, list[Subscription]]) -> str:
    lines = ["| service | event | handler | queue |", "| --- | --- | --- | --- |"]
    for service in SERVICES:
        for sub in subs[service]:
            queue = f"`<ns>.{service}.{sub.event.routing_key}`"
            lines.append(f"| {service} | `{sub.event.routing_key}` | `{handler_name(sub.handler)}` | {queue} |")
    return "\n".join(lines) + "\n"


def field_comments(cls: type) -> dict[str, str]:
    """The ``#`` comment lines right above each field of a settings class, joined."""
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    found: dict[str, str] = {}
    previous, head = "", ""  # head: the field whose comment a group of adjacent fields shares
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            above, i = [], node.lineno - 2
            while i >= 0 and lines[i].strip().startswith("#"):
                above.insert(0, lines[i].strip().lstrip("#").strip())
                i -= 1
            if above:
                found[node.target.id], head = " ".join(above), node.target.id
            elif head and lines[node.lineno - 2].strip().startswith(previous + ":"):
                found[node.target.id] = f"(with `{head.upper()}`, above)"
            else:
                head = ""
            previous = node.target.id
    return found


def _limits(info: FieldInfo) -> str:
    words = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤", "min_length": "length ≥", "max_length": "length ≤"}
    out = []
    for meta in info.metadata:
        for attr, word in words.items():
            if (value := getattr(meta, attr, None)) is not None:
                out.append(f"{word} {value}")
        if pattern := getattr(meta, "pattern", None):
            out.append(f"matches `{pattern}`")
    return ", ".join(out)


def _default(info: FieldInfo, name: str) -> str:
    value = info.default
    if value is PydanticUndefined:
        return "required"
    if "secret" in name:
        return "a development key, public in the source" if value else "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value in ("", None):
        return "empty"
    return f"`{value}`"


def settings_table(cls: type[ServiceSettings], names: list[str], prefix: str) -> str:
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if isinstance(klass, type) and issubclass(klass, ServiceSettings):
            comments.update({k: v for k, v in field_comments(klass).items() if v})
    lines = ["| variable | default | limits | meaning |", "| --- | --- | --- | --- |"]
    for name in names:
        info = cls.model_fields[name]
        meaning = comments.get(name, "")
        lines.append(f"| `{prefix}{name.upper()}` | {_default(info, name)} | {_limits(info)} | {meaning} |")
    return "\n".join(lines) + "\n"


def settings_tables() -> dict[str, str]:
    tables = {"settings-common": settings_table(ServiceSettings, list(ServiceSettings.model_fields), "<PREFIX>_")}
    common = ServiceSettings()
    for service in (*SERVICES, GATEWAY):
        module = importlib.import_module(f"caremesh_{service}.settings")
        cls = next(
            c
            for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, ServiceSettings) and c is not ServiceSettings
        )
        prefix = cls.model_config.get("env_prefix", "")
        own = [
            n
            for n, f in cls.model_fields.items()
            if n not in ServiceSettings.model_fields or f.default != getattr(common, n)
        ]
        tables[f"settings-{service}"] = settings_table(cls, own, prefix)
    return tables


def policy_table() -> str:
    from caremesh_kit.policy import KIT, Policy, Rule

    def who(rule: Rule) -> str:
        if rule.public:
            return "no token (probe, or a signed link or callback)"
        roles = ", ".join(sorted(r.value for r in rule.roles | {Role.ADMIN}))
        return roles + (" (a patient-bound caller: own data only)" if rule.patient else "")

    def scope(rule: Rule) -> str:
        return "" if rule.public else f"`{rule.resource}.{rule.interaction}`"

    rows = ["| service | method | path | roles | SMART scope |", "| --- | --- | --- | --- | --- |"]
    for service in (*SERVICES, GATEWAY):
        policy: Policy = importlib.import_module(f"caremesh_{service}.api.policy").POLICY
        for (method, path), rule in policy.items():
            rows.append(f"| {service} | {method} | `{path}` | {who(rule)} | {scope(rule)} |")
    for (method, path), rule in KIT.items():
        rows.append(f"| every service | {method} | `{path}` | {who(rule)} | {scope(rule)} |")
    return "\n".join(rows) + "\n"


def partner_views_table() -> str:
    """Minimum necessary: the fields each kind of partner receives, per event type."""
    from caremesh_contracts.audiences import VIEWS, PartnerKind

    kinds = list(PartnerKind)
    rows = ["| event | " + " | ".join(k.value for k in kinds) + " |", "| --- |" + " --- |" * len(kinds)]
    for key, views in sorted(VIEWS.items()):
        cells = [", ".join(f"`{f}`" for f in views[k]) if k in views else "" for k in kinds]
        rows.append(f"| `{key}` | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def generate() -> dict[str, str]:
    subs = subscriptions()
    return {
        "partner-views": partner_views_table(),
        "policy": policy_table(),
        "events": events_table(subs),
        "event-flow": event_flow(subs),
        "subscriptions": subscriptions_table(subs),
        **settings_tables(),
    }


def apply(text: str, tables: dict[str, str]) -> tuple[str, set[str]]:
    """``text`` with every marked section replaced; and the names of the sections found."""
    seen: set[str] = set()

    def replace(m: re.Match[str]) -> str:
        name = m["name"]
        seen.add(name)
        return m.group(1) + tables.get(name, m["body"]) + m.group(4)

    return MARK.sub(replace, text), seen


def drift(root: Path = REPO, tables: dict[str, str] | None = None) -> list[str]:
    """What differs between the committed docs and the code: one line per table."""
    tables = tables if tables is not None else generate()
    problems = []
    for path in sorted(set(TARGETS.values())):
        text = (root / path).read_text()
        new, seen = apply(text, tables)
        wanted = {n for n, p in TARGETS.items() if p == path}
        problems += [f"{path}: no section marked {n!r}" for n in sorted(wanted - seen)]
        if new != text:
            changed = [n for n in sorted(seen) if apply(text, {n: tables[n]})[0] != text]
            problems += [f"{path}: table {n!r} differs from the code (run `make docs`)" for n in changed]
    return problems


def write(root: Path = REPO) -> list[str]:
    tables = generate()
    written = []
    for path in sorted(set(TARGETS.values())):
        text = (root / path).read_text()
        new, _ = apply(text, tables)
        if new != text:
            (root / path).write_text(new)
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed table differs from the code")
    args = parser.parse_args()
    if args.check:
        problems = drift()
        print("\n".join(problems) or "the generated tables match the code")
        sys.exit(1 if problems else 0)
    print("\n".join(f"wrote {p}" for p in write()) or "nothing to change")


if __name__ == "__main__":
    main()
