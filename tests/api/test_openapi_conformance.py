"""Each service against its own OpenAPI: schemathesis sends what the document allows and what it
forbids, to the service running as a process on the real broker and store, and fails on any 5xx
and on any answer the document does not describe (status, content type, headers, body schema).

Bounded for CI: few examples per operation, derandomized (the same cases on every run). Every
check runs, with one narrowed: see ``conformance_checks`` (schemathesis' positive-data check
counts a 422 from a rule no JSON Schema can state as a failure).
"""

import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient

from caremesh_kit.devcluster import SERVICES, Cluster
from caremesh_testing import bearer, delete_namespace

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STORES = {"scheduling": 27101, "records": 27102, "insurance": 27103, "notifications": 27104}
EXAMPLES = 4  # per operation and phase; the coverage phase adds its boundary cases on top
RUN_SECONDS = 420  # the four runs together, far above what it takes; a hang fails instead of stalling CI
# Admin reaches every route (and /metrics, which counts the requests each service received).
TOKEN = bearer("admin", subject="conformance")["Authorization"]


@pytest.fixture(scope="module")
async def cluster():
    key = uuid.uuid4().hex[:8]
    cluster = Cluster(
        namespace=f"api-{key}",
        db_suffix=f"_api_{key}",
        port_offset=400,
        log_dir=ROOT / ".local" / "api-logs" / key,
        extra_env={f"{s.upper()}_API_DOCS": "true" for s in SERVICES},
    )
    cluster.up()
    try:
        yield cluster
    finally:
        cluster.down()
        await delete_namespace(cluster.namespace)
        for s, port in STORES.items():
            client = AsyncMongoClient(f"mongodb://127.0.0.1:{port}/")
            await client.drop_database(f"caremesh_{s}{cluster.db_suffix}")
            await client.close()


def _requests_received(url: str) -> int:
    """What the service counted in ``caremesh_http_requests_total``."""
    text = httpx.get(f"{url}/metrics", headers={"Authorization": TOKEN}, timeout=10).text
    return int(sum(float(v) for v in re.findall(r"^caremesh_http_requests_total\{[^}]*\} (\S+)$", text, re.M)))


def _command(url: str, report: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{url}/openapi.json",
        "--checks=all",
        "--exclude-checks=positive_data_acceptance",  # replaced by schema_valid_data_accepted
        f"--max-examples={EXAMPLES}",
        "--generation-deterministic",
        "--no-shrink",
        "--workers=1",  # concurrent workers compile patterns in threads, which CPython 3.11 trips on
        "--request-timeout=30",
        "--suppress-health-check=all",
        f"--header=Authorization: {TOKEN}",
        "--report=json",
        f"--report-json-path={report}",
        "--output-truncate=true",
    ]


@dataclass
class Run:
    returncode: int
    output: str
    summary: dict
    sent: int


@pytest.fixture(scope="module")
def runs(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """The four runs at once: each is mostly waiting on its service, and the two cores are shared."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])),
        "SCHEMATHESIS_HOOKS": "conformance_checks",
        "NO_COLOR": "1",
    }
    for s in SERVICES:  # built on the first request: a slow build would time the run's loading out
        httpx.get(f"{cluster.url(s)}/openapi.json", timeout=120).raise_for_status()
    before = {s: _requests_received(cluster.url(s)) for s in SERVICES}
    started = {}
    for s in SERVICES:
        folder = tmp_path_factory.mktemp(s)
        out = open(folder / "output.txt", "w+")  # noqa: SIM115 - read back below
        command = _command(cluster.url(s), folder / "report.json")
        proc = subprocess.Popen(command, env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT)
        started[s] = (proc, out, folder)
    found = {}
    for s, (proc, out, folder) in started.items():
        try:
            proc.wait(timeout=RUN_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.seek(0)
        report = folder / "report.json"
        summary = json.loads(report.read_text()) if report.exists() else {}
        sent = _requests_received(cluster.url(s)) - before[s] - 1  # less the count's own request
        cases = summary.get("test_cases", {})
        print(f"{s}: {sent} requests, {cases.get('generated')} test cases, {cases.get('unique_failures')} failures")
        found[s] = Run(proc.returncode, out.read(), summary, sent)
        out.close()
    return found


@pytest.mark.parametrize("service", list(SERVICES))
def test_the_service_answers_as_its_openapi_says(runs: dict[str, Run], service: str) -> None:
    run = runs[service]
    assert run.returncode == 0, run.output[-25_000:]
    assert run.summary["operations"]["tested"] == run.summary["operations"]["selected"] > 0
    assert run.sent > run.summary["operations"]["tested"]


# Requests that once answered 500 (an offset past int64, a time with a UTC offset, a preferred
# time left to its defaults) or were read as 1970-01-01 (a date given as a number).
PATIENT = {"given_name": "Ada", "family_name": "Lovelace", "time_zone": "Europe/London"}
BAD_INPUT = [
    ("scheduling", "GET", "/practitioners?offset=9223372036854775808", None, "offset"),
    ("scheduling", "GET", "/audit?offset=9223372036854775808", None, "offset"),
    ("records", "GET", "/fhir/Condition?patient=p1&_offset=9223372036854775808", None, "_offset"),
    ("scheduling", "GET", "/availability?time_from=03:00%2B01:00", None, "time_from"),
    ("scheduling", "GET", "/availability?time_to=03:00Z", None, "time_to"),
    ("scheduling", "POST", "/waitlist", {"patient_id": "p1", "service_code": "99213", "earliest": 0}, "earliest"),
    ("records", "POST", "/patients", {**PATIENT, "birth_date": 0}, "birth_date"),
    ("records", "POST", "/patients", {**PATIENT, "birth_date": "1850-01-01"}, "birth_date"),
    ("insurance", "GET", "/audit?since=0", None, "since"),
]


@pytest.mark.parametrize(("service", "method", "path", "body", "field"), BAD_INPUT)
def test_bad_input_is_a_problem_naming_the_field(
    cluster: Cluster, service: str, method: str, path: str, body: dict | None, field: str
) -> None:
    r = httpx.request(method, cluster.url(service) + path, json=body, headers={"Authorization": TOKEN}, timeout=30)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_a_preferred_time_left_to_its_defaults_is_any_time(cluster: Cluster) -> None:
    wish = {"patient_id": "p1", "service_code": "99213", "preferred_times": [{}, {"days": [0], "start": "08:00"}]}
    r = httpx.post(cluster.url("scheduling") + "/waitlist", json=wish, headers={"Authorization": TOKEN}, timeout=30)
    assert r.status_code == 201, r.text
    read = httpx.get(f"{cluster.url('scheduling')}/waitlist/{r.json()['id']}", headers={"Authorization": TOKEN})
    assert read.json()["wish"]["preferred_times"] == [
        {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00:00", "end": "23:59:59"},
        {"days": [0], "start": "08:00:00", "end": "23:59:59"},
    ]
