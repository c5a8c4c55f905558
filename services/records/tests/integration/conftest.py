"""Helpers for records' integration tests: what a handler asks of the store."""

import pytest

from caremesh_testing import STORE_COMMANDS, StoreCommands, envelope_for, unindexed  # noqa: F401 - for the tests


@pytest.fixture
def store_commands() -> StoreCommands:
    return STORE_COMMANDS
