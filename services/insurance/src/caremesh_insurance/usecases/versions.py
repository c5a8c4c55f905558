"""The version a client based a change on (the body's ``version``), checked inside a change."""

from caremesh_kit.errors import Conflict


def expect(version: int | None, current: int, what: str) -> None:
    """409 naming the current version when the client's is another (checked on every attempt of a
    ``Repository.mutate``, so a concurrent write is never overwritten unseen)."""
    if version is not None and version != current:
        raise Conflict(f"the {what} changed since version {version}", current_version=current)
