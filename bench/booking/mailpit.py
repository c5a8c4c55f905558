"""The run's emails in Mailpit: when SMTP accepted each one (a cross-check), then their deletion."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from booking.common import MAILPIT_URL, say

if TYPE_CHECKING:
    from booking.suite import Booking


async def mailpit_collect(short: str, bookings: list[Booking]) -> dict[str, int]:
    """Match the run's emails in Mailpit (one search, paged), record their Created time, then
    delete exactly those messages (they are this run's, by their unique addresses)."""
    by_email = {b.email: b for b in bookings}
    found: set[str] = set()  # Mailpit IDs
    deleted = 0
    page = 250
    try:
        async with httpx.AsyncClient(base_url=MAILPIT_URL, timeout=10) as client:
            start = 0
            for _ in range(1 + len(bookings) // page + 5):  # bounded paging
                r = await client.get(
                    "/api/v1/search", params={"query": f"to:bench.{short}.", "start": start, "limit": page}
                )
                r.raise_for_status()
                data = r.json()
                total = data.get("messages_count", 0)
                msgs = data.get("messages") or []
                for m in msgs:
                    for to in m.get("To") or []:
                        b = by_email.get((to.get("Address") or "").lower())
                        if b is not None:
                            found.add(m["ID"])
                            created = datetime.fromisoformat(m["Created"]).timestamp()
                            b.mail_created = created if b.mail_created is None else min(b.mail_created, created)
                start += len(msgs)
                if not msgs or start >= total:
                    break
            ids = list(found)
            for i in range(0, len(ids), 200):
                r = await client.request("DELETE", "/api/v1/messages", json={"IDs": ids[i : i + 200]})
                if r.status_code == 200:
                    deleted += len(ids[i : i + 200])
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        say(f"mailpit: {type(exc).__name__}: {exc}")
    return {"found": len(found), "deleted": deleted}
