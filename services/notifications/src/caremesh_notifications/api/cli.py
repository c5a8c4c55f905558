"""caremesh-templates: check the templates (CI, ``make templates``) or record new versions in the lock.

A command line next to the HTTP routes: another way in, reaching the files only through the
``TemplateRelease`` use case, which ``app.template_release`` wires to a folder.
"""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from caremesh_notifications.domain import Channel
from caremesh_notifications.domain.templates import LOCK
from caremesh_notifications.usecases.templates import TemplateRelease


def main(argv: list[str] | None, release_for: Callable[[Path | None], TemplateRelease]) -> int:
    p = argparse.ArgumentParser(prog="caremesh-templates", description=__doc__.split("\n")[0])
    p.add_argument("--root", type=Path, default=None, help="the templates folder (default: the shipped one)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="render every template with its sample data; exit 1 on any problem")
    sub.add_parser("lock", help=f"add new template versions to {LOCK} (released ones never change)")
    preview = sub.add_parser("preview", help="print one template rendered with its sample data")
    preview.add_argument("kind")
    preview.add_argument("channel", choices=[c.value for c in Channel])
    preview.add_argument("--language")
    preview.add_argument("--version", type=int)
    a = p.parse_args(argv)
    release = release_for(a.root)
    if a.command == "preview":
        print(release.preview(a.kind, Channel(a.channel), a.language, a.version).model_dump_json(indent=2))
        return 0
    count, errors = release.lock() if a.command == "lock" else release.check()
    for e in errors:
        print(e, file=sys.stderr)
    print(f"{count} templates, {len(errors)} problem(s)" if errors else f"{count} templates ok")
    return 1 if errors else 0
