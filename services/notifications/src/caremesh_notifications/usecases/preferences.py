"""Each recipient's preferences: read with their defaults, and replaced by the patient or a coordinator."""

from dataclasses import dataclass

from caremesh_kit.clock import Clock
from caremesh_kit.errors import Conflict, VersionConflict
from caremesh_kit.store import Repository
from caremesh_notifications.domain import Channel, Preferences, PreferencesIn, Recipient
from caremesh_notifications.usecases.recipients import Recipients


@dataclass
class RecipientPreferences:
    recipients: Recipients
    prefs: Repository[Preferences]
    clock: Clock
    available: frozenset[Channel]  # the channels configured: what a recipient's choice can use

    async def recipient(self, patient_id: str, person_id: str | None = None) -> Recipient:
        return await self.recipients.recipient(patient_id, person_id)

    async def of(self, patient_id: str, person_id: str | None = None) -> Preferences:
        r = await self.recipients.recipient(patient_id, person_id)
        return await self.prefs.find(r.id) or Preferences.defaults(r.id, patient_id)

    async def replace(
        self, patient_id: str, person_id: str | None, body: PreferencesIn, by: str, version: int | None = None
    ) -> Preferences:
        """Replace a recipient's preferences; with ``version``, only if they are still at that version."""
        r = await self.recipients.recipient(patient_id, person_id)
        now = self.clock()
        current = await self.prefs.find(r.id)
        if current is None:
            if version not in (None, 0):
                raise VersionConflict(
                    f"no preferences stored yet, not version {version}", field="version", current_version=0
                )
            fresh = Preferences.defaults(r.id, patient_id)
            if not fresh.update(body, by, now):
                return fresh
            try:
                return await self.prefs.add(fresh)
            except Conflict:
                pass  # created concurrently: change theirs (or refuse, if a version was named)
        return await self.prefs.mutate(
            r.id, lambda p: p.update(body, by, now), loaded=current, expected_version=version
        )
