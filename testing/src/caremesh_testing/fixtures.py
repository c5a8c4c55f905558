"""Where the external test data is: the ``shared/fixtures`` folder beside the repository (real
Synthea bundles and X12 samples, not part of the repository).

Looked for, in order: ``CAREMESH_FIXTURES_DIR``; ``../shared/fixtures`` beside this checkout; and,
for a clone of a local repository (as CI makes), ``../shared/fixtures`` beside the repository it
was cloned from. Tests that need a file fail, naming the path, when it is in none of them.
"""

import os
import subprocess
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _origin() -> Path | None:
    try:
        url = subprocess.run(
            ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    url = url.removeprefix("file://")
    return Path(url).resolve() if url.startswith("/") else None


@cache
def fixtures_dir() -> Path:
    if given := os.environ.get("CAREMESH_FIXTURES_DIR"):
        return Path(given)
    beside = REPO.parent / "shared" / "fixtures"
    if beside.is_dir():
        return beside
    origin = _origin()
    if origin is not None and (origin.parent / "shared" / "fixtures").is_dir():
        return origin.parent / "shared" / "fixtures"
    return beside  # absent: the tests say so, naming it
