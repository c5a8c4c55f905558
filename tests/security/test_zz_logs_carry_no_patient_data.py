"""No patient data in the logs: the last test of the run scans every service log written during it.

The root ``conftest.py`` gives the run a folder (``CAREMESH_TEST_LOG_DIR``) where each
``devcluster.Cluster`` keeps its services' output (logs kept elsewhere are linked in) and where
in-process services' ``caremesh.*`` records go. Looked for: any email address, any E.164 phone
number, and the patients' names and birth dates the tests used, read from the test sources and
the Synthea fixture patients the tests import. This file sorts last, and the root ``conftest.py``
moves it to the end of any run.
"""

import ast
import json
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from caremesh_kit.devcluster import TEST_LOG_DIR, Cluster
from caremesh_testing.fixtures import fixtures_dir

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "tests", *sorted((ROOT / "services").glob("*/tests")), ROOT / "shared" / "tests", ROOT / "testing"]
SYNTHEA = fixtures_dir() / "fhir" / "synthea"

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
E164 = re.compile(r"(?<![\w+])\+[1-9]\d{7,14}(?!\d)")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The log record's own timestamp, left out so that a birth date of today is no hit.
STAMP = re.compile(r'^\{"time": "[^"]*", ')
NAME_KEYS = {"given_name", "family_name", "given", "family", "first_name", "last_name", "patient_name"}
BIRTH_KEYS = {"birth_date", "birthDate", "date_of_birth", "dob"}
MIN_NAME = 3  # shorter test names ("G", "X") would match everywhere


# -- what the tests used ------------------------------------------------------------------


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple):
        return [s for e in node.elts for s in _strings(e)]
    return []


def _birth_date(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and ISO_DATE.fullmatch(node.value):
        return node.value
    if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "date":
        args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, int)]
        if len(args) == 3:
            return date(*args).isoformat()
    return None


def _pairs(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    """(key, value) of dict entries, keyword arguments, defaults and assignments."""
    pairs: list[tuple[str, ast.AST]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            pairs += [
                (k.value, v)
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            ]
        elif isinstance(node, ast.Call):
            pairs += [(k.arg, k.value) for k in node.keywords if k.arg]
        elif isinstance(node, ast.arguments):
            defaulted = [*node.posonlyargs, *node.args][len(node.posonlyargs) + len(node.args) - len(node.defaults) :]
            pairs += [(a.arg, d) for a, d in zip(defaulted, node.defaults, strict=True)]
            pairs += [(a.arg, d) for a, d in zip(node.kwonlyargs, node.kw_defaults, strict=True) if d is not None]
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            pairs += [(t.id, node.value) for t in targets if isinstance(t, ast.Name)]
    return pairs


def _from_synthea(names: set[str], births: set[str], phones: set[str]) -> None:
    for path in sorted(SYNTHEA.glob("*.json")):
        for entry in json.loads(path.read_text())["entry"]:
            patient = entry["resource"]
            if patient["resourceType"] != "Patient":
                continue
            for name in patient.get("name", []):
                names.update([*name.get("given", []), *([name["family"]] if "family" in name else [])])
            births.update([patient["birthDate"]] if "birthDate" in patient else [])
            phones.update(t["value"] for t in patient.get("telecom", []) if t.get("system") == "phone")


@dataclass(frozen=True)
class PatientData:
    names: frozenset[str]
    birth_dates: frozenset[str]
    phones: frozenset[str]  # as written in the fixtures (not E.164, so not found by the pattern)


def used_by_the_tests() -> PatientData:
    names: set[str] = set()
    births: set[str] = set()
    phones: set[str] = set()
    for folder in SOURCES:
        for path in folder.rglob("*.py"):
            for key, value in _pairs(ast.parse(path.read_text(), str(path))):
                if key in NAME_KEYS:
                    names.update(s.strip() for s in _strings(value) if len(s.strip()) >= MIN_NAME)
                elif key in BIRTH_KEYS and (born := _birth_date(value)):
                    births.add(born)
    _from_synthea(names, births, phones)
    return PatientData(frozenset(names), frozenset(births), frozenset(phones))


# -- the scan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    path: Path
    line: int
    kind: str
    found: str


@dataclass
class Scan:
    files: int = 0
    lines: int = 0
    hits: list[Hit] | None = None


def patterns(data: PatientData) -> dict[str, re.Pattern[str]]:
    def words(values: frozenset[str]) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)) or "(?!)"
        return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")

    compact = frozenset(b.replace("-", "") for b in data.birth_dates)  # X12 writes CCYYMMDD
    return {
        "email": EMAIL,
        "phone": E164,
        "name": words(data.names),
        "birth date": words(data.birth_dates | compact),
        "fixture phone": words(data.phones),
    }


def scan(folder: Path, data: PatientData) -> Scan:
    found = patterns(data)
    result = Scan(hits=[])
    assert result.hits is not None
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        result.files += 1
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, raw in enumerate(lines, 1):
                result.lines += 1
                text = STAMP.sub("{", raw)
                for kind, pattern in found.items():
                    result.hits += [Hit(path, number, kind, m.group()) for m in pattern.finditer(text)]
    return result


def report(hits: list[Hit], folder: Path) -> str:
    shown = [f"  {h.path.relative_to(folder)}:{h.line}: {h.kind} {h.found!r}" for h in hits[:30]]
    more = [f"  ... and {len(hits) - 30} more"] if len(hits) > 30 else []
    return "\n".join([f"{len(hits)} patient data hit(s) in the service logs:", *shown, *more])


# -- tests --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data() -> PatientData:
    return used_by_the_tests()


def test_the_test_patients_are_known(data: PatientData) -> None:
    assert {"Lovelace", "Ada", "Endtoend"} <= data.names
    assert {"1984-03-09", "1990-06-01"} <= data.birth_dates
    if SYNTHEA.is_dir():
        assert {"Kermit", "Trantow", "1993-06-21", "555-793-7667"} <= data.names | data.birth_dates | data.phones


def test_the_scan_finds_planted_patient_data(tmp_path: Path, data: PatientData) -> None:
    clean = '{"time": "1984-03-09T10:00:00.000+00:00", "level": "info", "message": "appointment booked", "id": "a1"}\n'
    (tmp_path / "scheduling.log").write_text(clean * 3)
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "records.log").write_text(
        clean
        + '{"message": "patient registered", "email": "ada@example.org"}\n'
        + '{"message": "sms", "to": "+33612345678"}\n'
        + "Traceback: input_value='Lovelace' born 1984-03-09 (DMG*D8*19840309)\n"
    )
    result = scan(tmp_path, data)
    assert result.hits is not None
    assert (result.files, result.lines) == (2, 7)
    assert sorted((h.path.name, h.line, h.kind, h.found) for h in result.hits) == [
        ("records.log", 2, "email", "ada@example.org"),
        ("records.log", 3, "phone", "+33612345678"),
        ("records.log", 4, "birth date", "1984-03-09"),
        ("records.log", 4, "birth date", "19840309"),
        ("records.log", 4, "name", "Lovelace"),
    ]
    assert "records.log:2: email 'ada@example.org'" in report(result.hits, tmp_path)


def test_a_cluster_keeps_its_service_logs_in_the_runs_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    monkeypatch.setenv(TEST_LOG_DIR, str(run))
    # A real process that writes a line and exits at once: records refusing production's dev key.
    cluster = Cluster(namespace="logscan", port_offset=17000, extra_env={"CAREMESH_ENV": "production"})
    assert cluster.log_dir is not None and cluster.log_dir.parent == run
    cluster.start("records")
    assert cluster.procs["records"].wait(timeout=60) != 0
    assert "refused to start in production" in (cluster.log_dir / "records.log").read_text()
    # A log kept elsewhere is linked into the run's folder.
    elsewhere = Cluster(namespace="kept", port_offset=17000, log_dir=tmp_path / "e2e", extra_env=cluster.extra_env)
    elsewhere.start("records")
    elsewhere.procs["records"].wait(timeout=60)
    assert "refused to start" in (run / "kept-records.log").read_text()
    assert scan(run, PatientData(frozenset(), frozenset(), frozenset())).files == 2


def test_no_service_log_of_the_run_carries_patient_data(data: PatientData) -> None:
    folder = Path(os.environ.get(TEST_LOG_DIR, ""))
    if not os.environ.get(TEST_LOG_DIR) or not folder.is_dir():
        pytest.fail(f"{TEST_LOG_DIR} is not set to a folder: the root conftest.py sets it for the run")
    result = scan(folder, data)
    assert result.hits is not None
    print(
        f"\nlog scan: {result.files} files, {result.lines} lines in {folder}; "
        f"{len(data.names)} names, {len(data.birth_dates)} birth dates looked for"
    )
    if result.files == 0:
        pytest.skip("no service wrote a log in this run")
    assert not result.hits, report(result.hits, folder)
