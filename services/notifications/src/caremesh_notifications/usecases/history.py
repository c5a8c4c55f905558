"""A patient's messages, as stored: for the history the care team and the patient read."""

from dataclasses import dataclass

from caremesh_notifications.domain import Message
from caremesh_notifications.store import Messages


@dataclass
class MessageHistory:
    messages: Messages

    async def of_patient(self, patient_id: str, limit: int, offset: int = 0) -> list[Message]:
        """Newest first, to the patient and to their family."""
        return await self.messages.for_patient(patient_id, limit, offset)

    async def get(self, message_id: str) -> Message:
        return await self.messages.repo.get(message_id)
