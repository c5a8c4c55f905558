"""The health history: recording entries and changing their status, one current entry per code."""

from datetime import datetime, timedelta
from typing import Any

from caremesh_kit import context
from caremesh_kit.clock import Clock
from caremesh_kit.errors import Conflict, NotFound
from caremesh_kit.store import Repository
from caremesh_records.domain import Patient
from caremesh_records.domain.history import KINDS, HistoryEntry, Kind, NewEntry, StatusUpdate
from caremesh_records.store import CurrentCodes, History

# A claim younger than this whose entry is not saved yet belongs to a request still running;
# an older one was left by a crash between the claim and the save, and is taken over.
CLAIM_IN_FLIGHT = timedelta(seconds=30)


class HealthHistory:
    def __init__(self, patients: Repository[Patient], entries: History, codes: CurrentCodes, clock: Clock) -> None:
        self.patients, self.entries, self.codes, self.clock = patients, entries, codes, clock

    async def record(
        self, kind: Kind, patient_id: str, new: NewEntry, by: str, entry_id: str | None = None
    ) -> HistoryEntry:
        """Record a new entry. ``entry_id`` is given by callers that derive it from a source
        (an import, an intake form), so that recording the same source twice is a 409, not a copy."""
        patient = await self.patients.get(patient_id)
        now = self.clock()
        entry = KINDS[kind].record(entry_id or context.new_id(), patient, new, by, now)
        key = entry.claim_key
        if key:
            await self._hold(patient_id, key, entry, 1, now)
        try:
            return await self.entries.repo.add(entry)
        except BaseException:
            if key and entry_id is None:  # a fresh id: no other request can rely on this claim
                await self.codes.release(patient_id, key, entry.id, below=2)
            raise

    async def get(self, kind: Kind, patient_id: str, entry_id: str) -> HistoryEntry:
        await self.patients.get(patient_id)
        entry = await self.entries.repo.find(entry_id)
        # Another kind's or another patient's entry is not found here either.
        if entry is None or entry.kind != kind or entry.patient_id != patient_id:
            raise NotFound(f"{KINDS[kind].NOUN} {entry_id} not found")
        return entry

    async def entries_of(
        self, kind: Kind, patient_id: str, status: str | None, limit: int, offset: int
    ) -> list[HistoryEntry]:
        await self.patients.get(patient_id)
        return await self.entries.of_patient(patient_id, kind, status, limit, offset)

    async def change_status(
        self, kind: Kind, patient_id: str, entry_id: str, update: StatusUpdate[Any], by: str
    ) -> HistoryEntry:
        """Compare-and-set: against ``update.version`` if given, else retried on the latest version."""
        patient = await self.patients.get(patient_id)
        entry = await self.get(kind, patient_id, entry_id)
        applied, before, after = False, None, None  # of the attempt that was saved

        async def change(entry: HistoryEntry) -> bool:
            nonlocal applied, before, after
            applied, before, after = False, entry.claim_key, None
            now = self.clock()
            if not entry.change_status(update, by, now, patient.today(now)):
                return False  # already in that status
            after = entry.claim_key
            if after is not None and after != before:  # current again: no other current entry may hold the code
                await self._hold(patient_id, after, entry, entry.version + 1, now)
            # A claim taken here stays if the save fails: a concurrent change of this entry may
            # rely on it, and a claim whose entry is not current is taken over by the next one.
            applied = True
            return True

        changed = await self.entries.repo.mutate(entry_id, change, loaded=entry, expected_version=update.version)
        if applied and before is not None and before != after:
            await self.codes.release(patient_id, before, changed.id, below=changed.version)
        return changed

    async def _hold(self, patient_id: str, key: str, entry: HistoryEntry, version: int, now: datetime) -> None:
        """Claim ``key`` for ``entry`` at ``version``, or 409 naming the entry that already records it."""
        for _ in range(3):
            holder = await self.codes.claim(patient_id, key, entry.id, version, now)
            if holder is None:
                return
            if holder["entry_id"] == entry.id:
                if holder["version"] >= version:
                    return  # taken for this version by a concurrent request (if later, our save will fail)
                # From an earlier time this entry was current: left behind, or its release is late.
                await self.codes.release(patient_id, key, entry.id, below=holder["version"] + 1)
                continue
            existing = await self.entries.repo.find(holder["entry_id"])
            if existing is not None and existing.claim_key == key:
                raise existing.duplicate()
            if existing is None and now - holder["claimed_at"] < CLAIM_IN_FLIGHT:
                raise Conflict(
                    f"this {entry.NOUN} is being recorded for the patient by another request: "
                    f"entry {holder['entry_id']}",
                    field=next(iter(entry.CODED)),
                    existing_id=holder["entry_id"],
                )
            # Left behind: its entry has left the current statuses, or was never saved (a crash).
            await self.codes.release(patient_id, key, holder["entry_id"], below=holder["version"] + 1)
        raise Conflict("this code is being changed by another request: try again")

    async def find(self, entry_id: str) -> HistoryEntry | None:
        """An entry of any kind and patient (the FHIR read audits the patient it finds)."""
        return await self.entries.repo.find(entry_id)

    async def ids_of(self, patient_id: str) -> set[str]:
        """The ids of the patient's entries of every kind (an import skips those it wrote before)."""
        return await self.entries.ids_of_patient(patient_id)
