"""Notifications' collections: contacts and messages."""

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from pymongo import ASCENDING, DESCENDING, IndexModel

from caremesh_notifications.domain import Contact, FamilyMember, Message


class Messages:
    def __init__(self, runtime: Runtime) -> None:
        self.repo: Repository[Message] = runtime.repository(
            "messages", Message, [IndexModel([("patient_id", ASCENDING), ("created_at", DESCENDING)])])

    async def for_patient(self, patient_id: str, limit: int) -> list[Message]:
        cursor = self.repo.collection.find({"patient_id": patient_id}, {"outbox": 0}).sort("created_at", DESCENDING)
        return [Message.from_document(d) async for d in cursor.limit(limit)]  # type: ignore[misc]


def contacts(runtime: Runtime) -> Repository[Contact]:
    return runtime.repository("contacts", Contact)


def family(runtime: Runtime) -> Repository[FamilyMember]:
    return runtime.repository("family_members", FamilyMember, [IndexModel([("patient_id", ASCENDING)])])
