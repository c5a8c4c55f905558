"""caremesh-templates: check the templates (CI, ``make templates``) or record new versions in the lock."""

import argparse
import json
import sys
from pathlib import Path

from caremesh_notifications.domain import Channel
from caremesh_notifications.templates.engine import FILES, LOCK, Catalog


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="caremesh-templates", description=__doc__)
    p.add_argument("--root", type=Path, default=FILES, help="the templates folder")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="render every template with its sample data; exit 1 on any problem")
    sub.add_parser("lock", help=f"add new template versions to {LOCK} (released ones never change)")
    preview = sub.add_parser("preview", help="print one template rendered with its sample data")
    preview.add_argument("kind")
    preview.add_argument("channel", choices=[c.value for c in Channel])
    preview.add_argument("--language")
    preview.add_argument("--version", type=int)
    a = p.parse_args(argv)
    catalog = Catalog.load(a.root)
    if a.command == "preview":
        print(catalog.render_sample(a.kind, Channel(a.channel), a.language, a.version).model_dump_json(indent=2))
        return 0
    if a.command == "lock":
        (a.root / LOCK).write_text(json.dumps(catalog.locked(), indent=2) + "\n")
        catalog = Catalog.load(a.root)
    errors = catalog.check()
    for e in errors:
        print(e, file=sys.stderr)
    count = len(catalog.sources)
    print(f"{count} templates, {len(errors)} problem(s)" if errors else f"{count} templates ok")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
