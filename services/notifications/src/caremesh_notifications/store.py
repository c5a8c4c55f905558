"""Notifications' collections: contacts, family members, preferences, messages, appointments (as known
here, for reminders) and surveys."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from pymongo import ASCENDING, DESCENDING, IndexModel

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_notifications.domain import (
    Appointment,
    Channel,
    Contact,
    FamilyMember,
    Message,
    MessageStatus,
    Preferences,
    Survey,
)


class Messages:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Message] = runtime.repository(
            "messages",
            Message,
            [
                IndexModel([("patient_id", ASCENDING), ("created_at", DESCENDING)]),
                IndexModel([("provider_message_id", ASCENDING)]),
                IndexModel([("status", ASCENDING), ("not_before", ASCENDING)]),
                IndexModel([("appointment_id", ASCENDING)]),
            ],
        )

    async def for_patient(self, patient_id: str, limit: int, offset: int = 0) -> list[Message]:
        """Newest first; the id breaks ties so that pages do not overlap."""
        cursor = self.repo.collection.find({"patient_id": patient_id}, {"outbox": 0}).sort(
            [("created_at", DESCENDING), ("_id", ASCENDING)]
        )
        return [Message.from_document(d) async for d in cursor.skip(offset).limit(limit)]

    async def of_appointment(self, appointment_id: str) -> list[Message]:
        """Every message about this appointment (confirmations, notices, reminders of every plan), in one
        query served by the ``appointment_id`` index."""
        cursor = self.repo.collection.find({"appointment_id": appointment_id}, {"outbox": 0})
        return [self.repo.loaded(d) async for d in cursor]

    async def of_source(self, patient_id: str, source: str) -> list[Message]:
        """The messages one source (an event, a reminder, a decision) caused for a patient and their
        family, on every channel, in one query served by the ``patient_id`` index."""
        cursor = self.repo.collection.find({"patient_id": patient_id, "source": source}, {"outbox": 0})
        return [self.repo.loaded(d) async for d in cursor]

    async def add_new(self, messages: list[Message]) -> list[Message]:
        """Store messages the caller has just found absent, in one write (see ``Repository.add_new``)."""
        return await self.repo.add_new(messages)

    async def by_provider_id(self, channel: Channel, provider_message_id: str) -> Message | None:
        doc = await self.repo.collection.find_one(
            {"provider_message_id": provider_message_id, "channel": channel.value}, {"_id": 1}
        )
        return await self.repo.find(doc["_id"]) if doc else None

    async def due(
        self, now: datetime, lease: timedelta, limit: int = 100, exclude: Iterable[str] = ()
    ) -> list[Message]:
        """Held messages whose time has come, and held sends whose lease lapsed (a crash), whole (no
        read per message), up to ``limit`` of each; ``exclude``: ids this sweep has handled already."""
        skip = {"_id": {"$nin": sorted(exclude)}} if exclude else {}
        queued = self.repo.collection.find(
            {"status": MessageStatus.QUEUED.value, "not_before": {"$lte": now}} | skip, {"outbox": 0}
        ).limit(limit)
        stuck = self.repo.collection.find(
            {"status": MessageStatus.SENDING.value, "not_before": {"$lte": now}, "claimed_at": {"$lte": now - lease}}
            | skip,
            {"outbox": 0},
        ).limit(limit)
        found = {d["_id"]: d async for d in queued}
        found |= {d["_id"]: d async for d in stuck}
        return [self.repo.loaded(d) for d in found.values()]


def contacts(runtime: Runtime) -> Repository[Contact]:
    return runtime.repository("contacts", Contact)


def family(runtime: Runtime) -> Repository[FamilyMember]:
    return runtime.repository("family_members", FamilyMember, [IndexModel([("patient_id", ASCENDING)])])


def preferences(runtime: Runtime) -> Repository[Preferences]:
    return runtime.repository("preferences", Preferences, [IndexModel([("patient_id", ASCENDING)])])


def appointments(runtime: Runtime) -> Repository[Appointment]:
    return runtime.repository("appointments", Appointment)


def surveys(runtime: Runtime) -> Repository[Survey]:
    return runtime.repository("surveys", Survey)


async def family_of(family: Repository[FamilyMember], patient_id: str) -> list[FamilyMember]:
    """A patient's family members and caregivers (served by the ``patient_id`` index)."""
    cursor = family.collection.find({"patient_id": patient_id})
    return [FamilyMember.from_document(d) async for d in cursor]


async def household_preferences(prefs: Repository[Preferences], patient_id: str) -> dict[str, Preferences]:
    """The stored preferences of a patient and of their family members (all carry the patient's id), by
    recipient id, in one query."""
    cursor = prefs.collection.find({"patient_id": patient_id})
    return {d["_id"]: Preferences.from_document(d) async for d in cursor}
