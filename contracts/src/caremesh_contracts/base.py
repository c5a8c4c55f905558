import re
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, WithJsonSchema

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("not an email address")
    return value


# The producer validates addresses fully; the contracts check the shape only, so that they need
# nothing but pydantic.
Email = Annotated[str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})]

_REGISTRY: dict[str, type["Event"]] = {}


class Event(BaseModel):
    """Base of every event body. Subclasses set ``routing_key`` and ``version``."""

    # A tolerant reader: a consumer of v1 ignores the optional fields a later v1 adds (``compat``).
    model_config = ConfigDict(extra="ignore", frozen=True)

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
