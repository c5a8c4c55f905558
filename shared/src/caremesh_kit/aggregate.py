"""Aggregate base: a version for compare-and-set writes, and the events a change raised."""

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr

from caremesh_contracts import Event


class Aggregate(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    id: str
    version: int = 0
    _events: list[Event] = PrivateAttr(default_factory=list)
    # When the repository loaded it (monotonic seconds); None for a new one.
    _loaded_at: float | None = PrivateAttr(default=None)

    def raise_event(self, event: Event) -> None:
        self._events.append(event)

    def take_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def to_document(self) -> dict[str, Any]:
        doc = self.model_dump(mode="python", exclude={"id", "version"})
        doc["_id"] = self.id
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Self:
        data = {k: v for k, v in doc.items() if k not in ("_id", "outbox")}
        return cls.model_validate({"id": doc["_id"], **data})
