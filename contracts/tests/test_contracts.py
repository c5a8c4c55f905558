"""The event contracts: naming rules, the published catalogue, and what counts as a breaking change."""

import copy
import json
import re

import pytest

from caremesh_contracts import all_event_types
from caremesh_contracts.catalogue import ASYNCAPI, SCHEMA_DIR, breaking, render, schema_of
from caremesh_contracts.compat import breaking_changes
from caremesh_contracts.examples import example

# "overdue" is the name the issues give to a deadline that has passed (e.g. insurance.authorization.overdue).
PAST_TENSE = re.compile(r"(ed|sent|overdue)$")


def test_every_event_follows_the_naming_rules():
    assert len(all_event_types()) >= 40
    for cls in all_event_types():
        service, aggregate, name = cls.routing_key.split(".")
        assert service in {"scheduling", "records", "insurance", "notifications", "partners"}
        assert cls.ce_type() == f"org.caremesh.{service}.{aggregate}.{name}.v1"
        assert PAST_TENSE.search(name), f"{cls.routing_key} is not in the past tense"


def test_the_shipped_catalogue_matches_the_models_and_breaks_no_consumer():
    on_disk = {p: p.read_text() for p in [*SCHEMA_DIR.glob("*.json"), ASYNCAPI]}
    assert on_disk == render(), "the catalogue drifts from the contracts: run `make schemas`"
    assert breaking(render()) == []


def test_every_schema_names_its_dialect_routing_key_and_a_valid_example():
    for cls in all_event_types():
        schema = json.loads((SCHEMA_DIR / f"{cls.ce_type()}.json").read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["x-routing-key"] == cls.routing_key
        assert cls.model_validate(schema["examples"][0]).model_dump(mode="json") == schema["examples"][0]


def test_the_asyncapi_document_has_a_channel_a_send_operation_and_a_real_payload_per_type():
    doc = json.loads(ASYNCAPI.read_text())
    assert doc["asyncapi"] == "3.0.0"
    types = all_event_types()
    assert set(doc["channels"]) == {cls.routing_key for cls in types}
    assert [op["action"] for op in doc["operations"].values()] == ["send"] * len(types)
    for cls in types:
        message = doc["components"]["messages"][cls.ce_type()]
        assert message["headers"]["properties"]["ce-type"]["const"] == cls.ce_type()
        payload = doc["components"]["schemas"][message["payload"]["$ref"].rsplit("/", 1)[-1]]
        assert set(payload["properties"]) == set(cls.model_fields)
        assert doc["channels"][cls.routing_key]["bindings"]["amqp"]["exchange"]["type"] == "topic"
    assert "$defs" not in json.dumps(doc)  # every reference resolves from the document's root


def test_a_consumer_of_an_older_body_reads_one_with_a_field_it_does_not_know():
    cls = all_event_types()[0]
    body = {**example(cls), "added_later": "x"}
    assert cls.model_validate(body).model_dump(mode="json") == example(cls)


# -- the compatibility rules, on a published schema and edits of it ------------------------------


def _published():
    return schema_of(next(c for c in all_event_types() if c.routing_key == "scheduling.referral.closed"))


def _edit(change):
    new = copy.deepcopy(_published())
    change(new)
    return breaking_changes(_published(), new)


def test_new_optional_fields_and_new_descriptions_break_nothing():
    def change(s):
        s["properties"]["clinic_note_url"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
        s["properties"]["outcome"]["description"] = "how the loop closed"
        s["examples"] = []

    assert _edit(change) == []


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda s: s["properties"].pop("seen_on"), "seen_on: removed"),
        (lambda s: s["properties"]["patient_id"].update(type="integer"), "patient_id: retyped"),
        (
            lambda s: s["properties"].update(loop_id={"type": "string"}) or s["required"].append("loop_id"),
            "loop_id: new required field",
        ),
        (lambda s: s["required"].remove("patient_id"), "patient_id: no longer always present"),
        (lambda s: s["properties"]["outcome"]["enum"].append("lost"), "outcome: enum changed"),
        (lambda s: s["properties"]["seen_on"]["anyOf"][0].update(format="date-time"), "seen_on: format changed"),
        (lambda s: s["properties"]["appointment_id"]["anyOf"].pop(), "appointment_id: retyped (anyOf changed)"),
    ],
)
def test_a_change_a_consumer_would_trip_on_is_named(change, why):
    assert any(p.startswith(why) for p in _edit(change)), _edit(change)


def test_every_partner_view_names_real_fields_and_analytics_gets_no_patient_id():
    from caremesh_contracts.audiences import VIEWS, PartnerKind

    by_key = {cls.routing_key: cls for cls in all_event_types()}
    assert set(VIEWS) <= set(by_key)
    for key, views in VIEWS.items():
        for kind, fields in views.items():
            assert set(fields) <= set(by_key[key].model_fields), (key, kind)
            if kind is PartnerKind.ANALYTICS:
                assert not {"patient_id", "referral_id", "appointment_id"} & set(fields), key
    assert (
        json.loads((SCHEMA_DIR / "org.caremesh.scheduling.referral.closed.v1.json").read_text())["x-partner-views"][
            "referring_clinic"
        ][0]
        == "referral_id"
    )
