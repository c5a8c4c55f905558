"""Fixtures shared by every test: a private broker namespace per test, removed afterwards."""

import uuid

import pytest

from caremesh_testing import AMQP_URL, delete_namespace


@pytest.fixture
def amqp_url() -> str:
    return AMQP_URL


@pytest.fixture
async def namespace():
    ns = f"test-{uuid.uuid4().hex[:12]}"
    yield ns
    await delete_namespace(ns)
