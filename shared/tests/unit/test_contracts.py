"""The event contracts: naming rules, checked-in schemas, and CloudEvents compatibility."""

import re
from datetime import UTC, date, datetime
from typing import Literal, get_args

from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq_event

from caremesh_contracts import all_event_types
from caremesh_contracts.schemas import SCHEMA_DIR, render
from caremesh_kit import envelope

# "overdue" is the name the issues give to a deadline that has passed (e.g. insurance.authorization.overdue).
PAST_TENSE = re.compile(r"(ed|sent|overdue)$")


def test_every_event_follows_the_naming_rules():
    assert len(all_event_types()) >= 8
    for cls in all_event_types():
        service, aggregate, name = cls.routing_key.split(".")
        assert service in {"scheduling", "records", "insurance", "notifications"}
        assert cls.ce_type() == f"org.caremesh.{service}.{aggregate}.{name}.v1"
        assert PAST_TENSE.search(name), f"{cls.routing_key} is not in the past tense"


def test_checked_in_schemas_match_the_code():
    on_disk = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    assert on_disk == render(), "schemas drift from the contracts: run `make schemas`"


def _sample(cls):
    values = {}
    for name, field in cls.model_fields.items():
        ann = field.annotation
        if ann is datetime:
            values[name] = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
        elif ann is date or ann == (date | None):
            values[name] = date(2026, 5, 1)
        elif "EmailStr" in str(ann):
            values[name] = "someone@example.org"
        elif ann is bool:
            values[name] = True
        elif ann is int:
            values[name] = 1
        elif getattr(ann, "__origin__", None) is Literal:
            values[name] = get_args(ann)[0]
        elif getattr(ann, "__origin__", None) is dict:
            values[name] = {f"{name}-1": 1}
        elif getattr(ann, "__origin__", None) is list:
            values[name] = [f"{name}-1"]
        elif name == "time_zone":
            values[name] = "Europe/Paris"
        else:
            values[name] = f"{name}-1"
    return cls.model_validate(values)


def test_every_event_type_parses_with_the_cloudevents_sdk():
    for cls in all_event_types():
        event = _sample(cls)
        stored = envelope.stored_event(event, service=cls.source_service(), subject="subject-1")
        msg = RabbitMQMessage(
            headers=envelope.headers_for(stored), content_type=envelope.CONTENT_TYPE, body=stored["data"].encode()
        )
        ce = from_rabbitmq_event(msg)
        assert ce.get_type() == cls.ce_type()
        assert ce.get_source() == f"/caremesh/{cls.source_service()}"
        assert ce.get_subject() == "subject-1"
        assert ce.get_extension("traceparent") == stored["traceparent"]
        assert cls.model_validate(ce.get_data()) == event
