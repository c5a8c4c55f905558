import pytest

from caremesh_contracts import EligibilityDenied
from caremesh_kit import context, envelope


def test_child_traceparent_keeps_the_trace_and_makes_a_new_span():
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    child = context.child_traceparent(parent)
    assert child.split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert child.split("-")[2] != "00f067aa0ba902b7"
    assert context.valid_traceparent(child)


def test_invalid_traceparent_starts_a_new_trace():
    assert context.valid_traceparent(context.child_traceparent("garbage"))
    assert not context.valid_traceparent("00-" + "0" * 32 + "-00f067aa0ba902b7-01")


def test_envelope_round_trip_carries_correlation_and_trace():
    with context.bound(correlation="corr-1", trace=None):
        stored = envelope.stored_event(
            EligibilityDenied(appointment_id="a", patient_id="p", reason_code="no_coverage", reason="none"),
            service="insurance",
            subject="a",
        )
    parsed = envelope.parse(envelope.headers_for(stored), "application/json")
    assert parsed.correlation_id == "corr-1"
    assert parsed.type == "org.caremesh.insurance.eligibility.denied.v1"
    assert context.valid_traceparent(parsed.traceparent)


@pytest.mark.parametrize(
    "headers,content_type,message",
    [
        ({}, "application/json", "missing CloudEvents headers"),
        ({"ce-id": "1", "ce-type": "t", "ce-source": "s", "ce-specversion": "0.3"}, None, "unsupported specversion"),
        ({"ce-id": "1", "ce-type": "t", "ce-source": "s", "ce-specversion": "1.0"}, "text/xml", "unsupported content"),
        (
            {"ce-id": "1", "ce-type": "t", "ce-source": "s", "ce-specversion": "1.0", "ce-time": "yesterday"},
            None,
            "ce-time",
        ),
    ],
)
def test_malformed_envelopes_are_rejected_with_a_reason(headers, content_type, message):
    with pytest.raises(envelope.MalformedEnvelope, match=message):
        envelope.parse(headers, content_type)
