from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

_REGISTRY: dict[str, type["Event"]] = {}


class Event(BaseModel):
    """Base of every event body. Subclasses set ``routing_key`` and ``version``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routing_key: ClassVar[str] = ""
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.routing_key:
            if cls.ce_type() in _REGISTRY:
                raise TypeError(f"duplicate event type {cls.ce_type()}")
            _REGISTRY[cls.ce_type()] = cls

    @classmethod
    def ce_type(cls) -> str:
        return f"org.caremesh.{cls.routing_key}.v{cls.version}"

    @classmethod
    def source_service(cls) -> str:
        return cls.routing_key.split(".", 1)[0]


def by_type(ce_type: str) -> type[Event] | None:
    return _REGISTRY.get(ce_type)


def all_event_types() -> list[type[Event]]:
    return sorted(_REGISTRY.values(), key=lambda c: c.ce_type())
