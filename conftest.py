"""Fixtures shared by every test: a private broker namespace per test, removed afterwards.

Every service log of the run is kept in one folder (``CAREMESH_TEST_LOG_DIR``): the service
processes' (``devcluster.Cluster``) and the in-process services' ``caremesh.*`` records. The last
test, ``tests/security/test_zz_logs_carry_no_patient_data.py``, scans them for the patient data the
tests used.
"""

import logging
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from caremesh_kit.devcluster import TEST_LOG_DIR
from caremesh_kit.logs import JsonFormatter
from caremesh_testing import AMQP_URL, delete_namespace

ROOT = Path(__file__).resolve().parent
LOG_RUNS = ROOT / ".local" / "test-logs"
KEEP_DAYS = 3  # by age, not count: a long run beside many short ones keeps its folder
LOG_SCAN = "test_zz_logs_carry_no_patient_data.py"


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(TEST_LOG_DIR):  # a pytest started by a test keeps its parent's folder
        for old in LOG_RUNS.glob("*"):
            if old.stat().st_mtime < time.time() - KEEP_DAYS * 86400:
                shutil.rmtree(old, ignore_errors=True)
        run = LOG_RUNS / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        run.mkdir(parents=True, exist_ok=True)
        os.environ[TEST_LOG_DIR] = str(run)
    handler = logging.FileHandler(Path(os.environ[TEST_LOG_DIR]) / f"in-process-{os.getpid()}.log", delay=True)
    handler.setFormatter(JsonFormatter())
    services = logging.getLogger("caremesh")
    services.addHandler(handler)
    if services.getEffectiveLevel() > logging.INFO:
        services.setLevel(logging.INFO)  # what a service process logs


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The log scan runs last, whatever the order of the paths given."""
    items.sort(key=lambda item: item.path.name == LOG_SCAN)


@pytest.fixture
def amqp_url() -> str:
    return AMQP_URL


@pytest.fixture
async def namespace():
    ns = f"test-{uuid.uuid4().hex[:12]}"
    yield ns
    await delete_namespace(ns)
