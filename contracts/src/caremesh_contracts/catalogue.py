"""The published catalogue: one JSON Schema per event type and the AsyncAPI 3.0 document, both
made from the registry of models and shipped inside this package.

``caremesh-schemas`` writes them, and refuses to overwrite a published schema with one that would
break its consumers (``compat``): such a change needs a new version of the type. ``caremesh-schemas
--check`` (CI) exits 1 on a breaking change or on any drift between the models and the files.
"""

import json
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from caremesh_contracts.audiences import VIEWS
from caremesh_contracts.base import Event, all_event_types
from caremesh_contracts.compat import breaking_changes
from caremesh_contracts.examples import example

HERE = Path(__file__).resolve().parent
SCHEMA_DIR = HERE / "schemas"
ASYNCAPI = HERE / "asyncapi.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
EXCHANGE = "caremesh.events"
AMQP_BINDING = "0.3.0"


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_of(cls: type[Event]) -> dict[str, Any]:
    schema = cls.model_json_schema()
    schema["$schema"] = DIALECT
    schema["$id"] = f"https://caremesh.org/schemas/{cls.ce_type()}.json"
    schema["examples"] = [example(cls)]
    schema["x-routing-key"] = cls.routing_key
    schema["x-cloudevents-type"] = cls.ce_type()
    schema["x-partner-views"] = {kind.value: list(fields) for kind, fields in VIEWS.get(cls.routing_key, {}).items()}
    return schema


def render_schemas() -> dict[str, str]:
    return {f"{cls.ce_type()}.json": _dump(schema_of(cls)) for cls in all_event_types()}


def _headers(cls: type[Event]) -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes in binary mode (AMQP application properties)",
        "required": ["ce-specversion", "ce-id", "ce-type", "ce-source", "ce-time"],
        "properties": {
            "ce-specversion": {"type": "string", "const": "1.0"},
            "ce-id": {**text, "description": "unique per event; a consumer drops a second copy by it"},
            "ce-type": {"type": "string", "const": cls.ce_type()},
            "ce-source": {"type": "string", "const": f"/caremesh/{cls.source_service()}"},
            "ce-time": {"type": "string", "format": "date-time"},
            "ce-subject": {**text, "description": "the aggregate the event is about"},
            "ce-correlationid": {**text, "description": "the request or message that caused it"},
            "ce-traceparent": {**text, "description": "W3C trace context of the cause"},
        },
    }


def render_asyncapi() -> dict[str, Any]:
    """AsyncAPI 3.0: a channel per routing key on the topic exchange, a send operation for its
    producer, the CloudEvents attributes as message headers, the payload schemas from the models."""
    types = all_event_types()
    _, top = models_json_schema([(cls, "validation") for cls in types], ref_template="#/components/schemas/{model}")
    schemas = top.get("$defs", {})
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for cls in types:
        key = cls.ce_type()
        messages[key] = {
            "name": cls.__name__,
            "title": cls.routing_key,
            "summary": (cls.__doc__ or cls.routing_key).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": _headers(cls),
            "payload": {"$ref": f"#/components/schemas/{cls.__name__}"},
            "examples": [{"name": "example", "payload": example(cls)}],
            "bindings": {"amqp": {"messageType": key, "bindingVersion": AMQP_BINDING}},
            "x-partner-views": {kind.value: list(fields) for kind, fields in VIEWS.get(cls.routing_key, {}).items()},
        }
        channels[cls.routing_key] = {
            "address": cls.routing_key,
            "title": cls.routing_key,
            "messages": {cls.__name__: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {
                        "name": EXCHANGE,
                        "type": "topic",
                        "durable": True,
                        "autoDelete": False,
                        "vhost": "/",
                    },
                    "bindingVersion": AMQP_BINDING,
                }
            },
        }
        operations[f"{cls.source_service()}.publish.{cls.routing_key}"] = {
            "action": "send",
            "title": f"{cls.source_service()} publishes {cls.routing_key}",
            "channel": {"$ref": f"#/channels/{cls.routing_key}"},
            "messages": [{"$ref": f"#/channels/{cls.routing_key}/messages/{cls.__name__}"}],
            "tags": [{"name": cls.source_service()}],
            "bindings": {
                "amqp": {"deliveryMode": 2, "mandatory": True, "timestamp": True, "bindingVersion": AMQP_BINDING}
            },
        }
    return {
        "asyncapi": "3.0.0",
        "id": "urn:org:caremesh:events",
        "info": {
            "title": "CareMesh care events",
            "version": "1.0.0",
            "description": "Every event the CareMesh services publish: CloudEvents 1.0 in binary mode over "
            "AMQP 0-9-1, a JSON body of a versioned type, on one durable topic exchange. The CloudEvents type is "
            "`org.caremesh.<routing key>.v<version>`; a published version changes only by new optional fields.",
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "production": {
                "host": "rabbitmq:5671",
                "protocol": "amqps",
                "protocolVersion": "0.9.1",
                "description": "the health system's broker, TLS; one user per service or partner",
                "security": [{"$ref": "#/components/securitySchemes/broker"}],
            },
            "development": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "scripts/infra on a developer's machine",
                "security": [{"$ref": "#/components/securitySchemes/broker"}],
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {"broker": {"type": "userPassword", "description": "a broker user and its password"}},
        },
    }


def render() -> dict[Path, str]:
    files = {SCHEMA_DIR / name: text for name, text in render_schemas().items()}
    files[ASYNCAPI] = _dump(render_asyncapi())
    return files


def breaking(rendered: dict[Path, str]) -> list[str]:
    """What in ``rendered`` would break a consumer of the schemas published on disk."""
    found = []
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        if path not in rendered:
            found.append(f"{path.stem}: the type was removed")
            continue
        found += [
            f"{path.stem}: {why}" for why in breaking_changes(json.loads(path.read_text()), json.loads(rendered[path]))
        ]
    return found


def main() -> None:
    rendered = render()
    problems = breaking(rendered)
    if problems:
        print("a change to a published event type would break its consumers; add a new version of the type instead:")
        print("\n".join(f"  {p}" for p in problems))
        sys.exit(1)
    if "--check" in sys.argv:
        on_disk = {p: p.read_text() for p in [*SCHEMA_DIR.glob("*.json"), ASYNCAPI] if p.exists()}
        if on_disk != rendered:
            print("the catalogue drifts from the contracts; run: uv run caremesh-schemas")
            sys.exit(1)
        return
    SCHEMA_DIR.mkdir(exist_ok=True)
    for path, text in rendered.items():
        path.write_text(text)
    print(f"wrote {len(rendered) - 1} schemas and the AsyncAPI document under {HERE}")
