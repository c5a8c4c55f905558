"""Records' use cases: called by the HTTP API and the event handlers alike."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from caremesh_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
    CoverageRegistered,
    EligibilityConfirmed,
    EligibilityDenied,
)
from caremesh_kit import context
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import Conflict, NotFound, VersionConflict
from caremesh_kit.store import Repository
from caremesh_records.domain import (
    Demographics,
    DuplicateCandidate,
    Encounter,
    Patient,
    TimelineEntry,
    encounter_from,
    entry_for_booking,
    entry_for_cancellation,
    entry_for_coverage,
    entry_for_decline,
    entry_for_eligibility,
    entry_for_encounter,
    entry_for_ineligibility,
    entry_for_no_show,
    mrn_with_check_digit,
)
from caremesh_records.family import Category, RelatedPerson
from caremesh_records.history import KINDS, HistoryEntry, Kind, NewEntry, StatusUpdate
from caremesh_records.store import CurrentCodes, History, PatientIndex, PatientLog

if TYPE_CHECKING:  # it imports this module
    from caremesh_records.careplan_service import CarePlans

# A claim younger than this whose entry is not saved yet belongs to a request still running;
# an older one was left by a crash between the claim and the save, and is taken over.
CLAIM_IN_FLIGHT = timedelta(seconds=30)


def utcnow() -> datetime:
    # BSON keeps milliseconds: cut to them so a response shows what a later read returns.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass
class HealthHistory:
    patients: Repository[Patient]
    entries: History
    codes: CurrentCodes

    async def record(
        self, kind: Kind, patient_id: str, new: NewEntry, by: str, entry_id: str | None = None
    ) -> HistoryEntry:
        """Record a new entry. ``entry_id`` is given by callers that derive it from a source
        (an import, an intake form), so that recording the same source twice is a 409, not a copy."""
        patient = await self.patients.get(patient_id)
        now = utcnow()
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
        self, kind: Kind, patient_id: str, entry_id: str, update: StatusUpdate, by: str, attempts: int = 5
    ) -> HistoryEntry:
        """Compare-and-set: against ``update.version`` if given, else retried on the latest version."""
        patient = await self.patients.get(patient_id)
        for attempt in range(attempts):
            entry = await self.get(kind, patient_id, entry_id)
            if update.version is not None and update.version != entry.version:
                raise VersionConflict(
                    f"{entry.NOUN} {entry_id} is at version {entry.version}, not {update.version}",
                    current_version=entry.version,
                )
            before = entry.claim_key
            now = utcnow()
            if not entry.change_status(update, by, now, patient.today(now)):
                return entry  # already in that status
            after = entry.claim_key
            if after is not None and after != before:  # current again: no other current entry may hold the code
                await self._hold(patient_id, after, entry, entry.version + 1, now)
            try:
                await self.entries.repo.save(entry)
            except VersionConflict:
                # A claim taken above stays: a concurrent change of this entry may rely on it, and
                # a claim whose entry is not current is taken over by the next one who needs it.
                if update.version is None and attempt < attempts - 1:
                    continue
                raise
            if before is not None and before != after:
                await self.codes.release(patient_id, before, entry.id, below=entry.version)
            return entry
        raise AssertionError("unreachable")

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


@dataclass
class Records:
    patients: Repository[Patient]
    index: PatientIndex
    timeline: PatientLog[TimelineEntry]
    encounters: PatientLog[Encounter]
    history: HealthHistory
    family: Repository[RelatedPerson]
    care_plans: "CarePlans" = None  # type: ignore[assignment]  # set by the composition root

    async def register_patient(self, demographics: Demographics) -> tuple[Patient, list[DuplicateCandidate]]:
        """Register, and name any existing patients this one may duplicate (for the caller to
        review and merge); registration itself goes ahead."""
        patient_id = context.new_id()
        while not await self.index.reserve_mrn(
            mrn := mrn_with_check_digit(f"{secrets.randbelow(10**9):09d}"), patient_id
        ):
            pass  # taken: draw again
        patient = Patient.register(patient_id, demographics, datetime.now(UTC), mrn)
        candidates = patient.candidates_among(await self.index.possible_duplicates(patient))
        return await self.patients.add(patient), candidates

    async def family_of(self, patient_id: str) -> list[RelatedPerson]:
        cursor = self.family.collection.find({"patient_id": patient_id})
        return [RelatedPerson.from_document(d) async for d in cursor]  # type: ignore[misc]

    async def set_consent(
        self, patient_id: str, person_id: str, categories: set[Category], by: str, by_role: str, now: datetime
    ) -> RelatedPerson:
        person = await self.family.get(person_id)
        if person.patient_id != patient_id:
            raise NotFound(f"RelatedPerson {person_id} not found")
        return await self.family.mutate(person_id, lambda p: p.set_consent(categories, by, by_role, now))

    async def merge(self, source_id: str, target_id: str) -> Patient:
        target = await self.patients.get(target_id)
        return await self.patients.mutate(source_id, lambda p: p.merge_into(target, datetime.now(UTC)))

    async def get_patient(self, patient_id: str) -> Patient:
        return await self.patients.get(patient_id)

    async def timeline_of(self, patient_id: str, limit: int, offset: int) -> list[TimelineEntry]:
        return await self.timeline.for_patient(patient_id, limit, offset)

    async def on_appointment_booked(self, event: AppointmentBooked, env: Envelope) -> None:
        await self.timeline.add(entry_for_booking(env.id, event))

    async def on_appointment_declined(self, event: AppointmentDeclined, env: Envelope) -> None:
        await self.timeline.add(entry_for_decline(env.id, event))

    async def on_appointment_cancelled(self, event: AppointmentCancelled, env: Envelope) -> None:
        await self.timeline.add(entry_for_cancellation(env.id, env.time, event))

    async def on_no_show_recorded(self, event: AppointmentNoShowRecorded, env: Envelope) -> None:
        await self.timeline.add(entry_for_no_show(env.id, event))

    async def on_appointment_fulfilled(self, event: AppointmentFulfilled, env: Envelope) -> None:
        """The visit becomes an encounter in the history; both writes are insert-once, so a
        redelivery after a crash between them completes the pair."""
        encounter = encounter_from(event)
        await self.encounters.add(encounter)
        await self.timeline.add(entry_for_encounter(env.id, encounter))

    async def on_coverage_registered(self, event: CoverageRegistered, env: Envelope) -> None:
        await self.timeline.add(entry_for_coverage(env.id, env.time, event))

    async def on_eligibility_confirmed(self, event: EligibilityConfirmed, env: Envelope) -> None:
        await self.timeline.add(entry_for_eligibility(env.id, env.time, event))

    async def on_eligibility_denied(self, event: EligibilityDenied, env: Envelope) -> None:
        await self.timeline.add(entry_for_ineligibility(env.id, env.time, event))

    async def encounters_of(self, patient_id: str, limit: int, offset: int) -> list[Encounter]:
        return await self.encounters.for_patient(patient_id, limit, offset)
