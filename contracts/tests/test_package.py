"""caremesh-contracts is a wheel of its own: pydantic its only dependency, the catalogue inside."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def test_the_wheel_needs_only_pydantic_and_ships_the_schemas_and_the_asyncapi_document(tmp_path: Path) -> None:
    subprocess.run(
        [*_uv(), "build", "--wheel", "--package", "caremesh-contracts", "-o", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("caremesh_contracts-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert [r.split(">")[0].split("=")[0].split("[")[0] for r in requires] == ["pydantic"], requires
    assert len([n for n in names if n.startswith("caremesh_contracts/schemas/") and n.endswith(".json")]) >= 40
    assert "caremesh_contracts/asyncapi.json" in names

    # Installed alone, beside pydantic and nothing of CareMesh's, it imports and validates.
    venv = tmp_path / "venv"
    subprocess.run([*_uv(), "venv", "-q", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [*_uv(), "pip", "install", "-q", "--python", str(python), str(wheel)], check=True, capture_output=True
    )
    code = (
        "import json, importlib.resources as r, caremesh_contracts as c, caremesh_contracts.examples as e;"
        "doc = json.loads(r.files('caremesh_contracts').joinpath('asyncapi.json').read_text());"
        "[t.model_validate(e.example(t)) for t in c.all_event_types()];"
        "import importlib.util as u; assert u.find_spec('caremesh_kit') is None and u.find_spec('fastapi') is None;"
        "print(len(doc['channels']))"
    )
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout
    assert int(out) == len(__import__("caremesh_contracts").all_event_types())
