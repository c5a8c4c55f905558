"""Every event type, as the kit puts it on the wire, parses with the official CloudEvents SDK."""

from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq_event

from caremesh_contracts import all_event_types
from caremesh_contracts.examples import example
from caremesh_kit import envelope


def test_every_event_type_parses_with_the_cloudevents_sdk():
    for cls in all_event_types():
        event = cls.model_validate(example(cls))
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
