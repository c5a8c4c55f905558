"""JSON Schemas of the contracts, checked in under shared/schemas/ (one file per type)."""

import json
import sys
from pathlib import Path

from caremesh_contracts.base import all_event_types

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def render() -> dict[str, str]:
    out = {}
    for cls in all_event_types():
        schema = cls.model_json_schema()
        schema["$id"] = f"https://caremesh.org/schemas/{cls.ce_type()}.json"
        schema["x-routing-key"] = cls.routing_key
        out[f"{cls.ce_type()}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def main() -> None:
    """Write the schemas; with --check, exit 1 when the checked-in files drift."""
    rendered = render()
    if "--check" in sys.argv:
        existing = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
        if existing != rendered:
            print("schemas drift from the contracts; run: uv run caremesh-schemas")
            sys.exit(1)
        return
    SCHEMA_DIR.mkdir(exist_ok=True)
    for old in SCHEMA_DIR.glob("*.json"):
        old.unlink()
    for name, text in rendered.items():
        (SCHEMA_DIR / name).write_text(text)
    print(f"wrote {len(rendered)} schemas to {SCHEMA_DIR}")
