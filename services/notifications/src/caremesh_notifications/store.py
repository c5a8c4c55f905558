"""Notifications' collections: contacts, family members, preferences, messages, appointments (as known
here, for reminders) and surveys."""

from datetime import datetime, timedelta

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from pymongo import ASCENDING, DESCENDING, IndexModel

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
        self.repo: Repository[Message] = runtime.repository("messages", Message, [
            IndexModel([("patient_id", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("provider_message_id", ASCENDING)]),
            IndexModel([("status", ASCENDING), ("not_before", ASCENDING)]),
            IndexModel([("appointment_id", ASCENDING)]),
        ])

    async def for_patient(self, patient_id: str, limit: int, offset: int = 0) -> list[Message]:
        """Newest first; the id breaks ties so that pages do not overlap."""
        cursor = self.repo.collection.find({"patient_id": patient_id}, {"outbox": 0}).sort(
            [("created_at", DESCENDING), ("_id", ASCENDING)])
        return [Message.from_document(d) async for d in cursor.skip(offset).limit(limit)]  # type: ignore[misc]

    async def queued_for_appointment(self, appointment_id: str, templates: set[str]) -> list[dict]:
        """Id and source of the messages of these kinds for this appointment that have not gone out."""
        cursor = self.repo.collection.find(
            {"appointment_id": appointment_id, "status": MessageStatus.QUEUED.value,
             "template": {"$in": sorted(templates)}}, {"_id": 1, "source": 1})
        return [d async for d in cursor]

    async def by_provider_id(self, channel: Channel, provider_message_id: str) -> Message | None:
        doc = await self.repo.collection.find_one({"provider_message_id": provider_message_id,
                                                   "channel": channel.value}, {"_id": 1})
        return await self.repo.find(doc["_id"]) if doc else None

    async def due(self, now: datetime, lease: timedelta, limit: int = 100) -> list[str]:
        """Ids of held messages whose time has come, and of held sends whose lease lapsed (a crash)."""
        queued = self.repo.collection.find(
            {"status": MessageStatus.QUEUED.value, "not_before": {"$lte": now}}, {"_id": 1}).limit(limit)
        stuck = self.repo.collection.find(
            {"status": MessageStatus.SENDING.value, "not_before": {"$lte": now}, "claimed_at": {"$lte": now - lease}},
            {"_id": 1}).limit(limit)
        return [d["_id"] async for d in queued] + [d["_id"] async for d in stuck]


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
