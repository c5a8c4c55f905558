"""The template files shipped with the service: read into a ``Catalog``, and the lock of released
versions written back (``caremesh-templates lock``).

Files are ``files/<kind>/<channel>.<language>.v<N>.j2``; anything else in a kind's folder is reported
by the catalog's check as stray.
"""

import json
import re
from pathlib import Path

from caremesh_notifications.domain import Channel
from caremesh_notifications.domain.templates import KINDS, LOCK, Catalog, Kind, Source

FILES = Path(__file__).parent / "files"
_NAME = re.compile(
    r"^(?P<channel>[a-z]+)\.(?P<language>[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.v(?P<version>[1-9][0-9]*)\.j2$"
)


def load(root: Path = FILES, kinds: dict[str, Kind] = KINDS) -> Catalog:
    sources, stray = [], []
    for path in sorted(root.glob("*/*")):
        rel = path.relative_to(root).as_posix()
        m = _NAME.match(path.name)
        if path.parent.name not in kinds or m is None or m["channel"] not in Channel.__members__.values():
            stray.append(rel)
            continue
        sources.append(
            Source(
                path.parent.name,
                Channel(m["channel"]),
                m["language"],
                int(m["version"]),
                rel,
                path.read_text(encoding="utf-8"),
            )
        )
    lock_file = root / LOCK
    lock = json.loads(lock_file.read_text()) if lock_file.exists() else {}
    return Catalog(sources, lock, kinds, stray)


class TemplateFolder:
    """A folder of template files and their lock (the shipped one, or a copy being edited)."""

    def __init__(self, root: Path = FILES) -> None:
        self.root = root

    def load(self, kinds: dict[str, Kind] = KINDS) -> Catalog:
        return load(self.root, kinds)

    def write_lock(self, catalog: Catalog) -> None:
        """Record the catalog's new versions in the lock (released entries never change)."""
        (self.root / LOCK).write_text(json.dumps(catalog.locked(), indent=2) + "\n")
