"""The tables in docs/ that the code can state are generated from it; a committed table that
differs from the code fails here (fix: ``make docs``)."""

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def doctables():
    spec = importlib.util.spec_from_file_location("doctables", REPO / "scripts" / "doctables.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["doctables"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tables(doctables):
    return doctables.generate()


def test_the_committed_tables_are_what_the_code_says(doctables, tables):
    assert doctables.drift(tables=tables) == []


def test_every_service_subscription_and_event_is_in_the_tables(doctables, tables):
    subs = doctables.subscriptions()
    for service, entries in subs.items():
        assert entries, service
        for sub in entries:
            assert f"| {service} | `{sub.event.routing_key}` |" in tables["subscriptions"]
    from caremesh_contracts import all_event_types

    for event in all_event_types():
        assert f"| `{event.routing_key}` |" in tables["events"]


def test_a_table_edited_by_hand_or_a_missing_section_is_reported(doctables, tables, tmp_path):
    for path in set(doctables.TARGETS.values()):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / path, tmp_path / path)
    assert doctables.drift(tmp_path, tables) == []

    events = tmp_path / "docs/events.md"
    text = events.read_text()
    first_row = next(line for line in tables["subscriptions"].splitlines() if line.startswith("| scheduling |"))
    events.write_text(text.replace(first_row + "\n", "", 1))  # a subscription dropped from the docs
    assert doctables.drift(tmp_path, tables) == [
        "docs/events.md: table 'subscriptions' differs from the code (run `make docs`)"
    ]

    events.write_text(text.replace("<!-- BEGIN GENERATED: events -->", "<!-- BEGIN: events -->"))
    assert "docs/events.md: no section marked 'events'" in doctables.drift(tmp_path, tables)

    config = tmp_path / "docs/configuration.md"
    config.write_text(
        config.read_text().replace("`SCHEDULING_HOLD_SECONDS` | `900` |", "`SCHEDULING_HOLD_SECONDS` | `60` |")
    )
    assert any("'settings-scheduling'" in p for p in doctables.drift(tmp_path, tables))
