"""The QGIS check of the project tests: ``qgis_check.py`` run with the Python that has
PyQGIS (Debian ``python3-qgis``; ``CAMI_QGIS_PYTHON`` overrides ``/usr/bin/python3``) on
the offscreen Qt platform."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
QGIS_PYTHON = os.environ.get("CAMI_QGIS_PYTHON", "/usr/bin/python3")


def _has_qgis() -> bool:
    if not Path(QGIS_PYTHON).exists():
        return False
    proc = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True,
                          timeout=120)
    return proc.returncode == 0


@pytest.fixture
def qgis_report(tmp_path: Path) -> Callable[..., dict]:
    """``qgis_report(qgz, png_dir, qmls=())``: open the project in real QGIS, render it to
    ``png_dir`` and return the check's JSON report; skips where PyQGIS is missing."""
    if not _has_qgis():
        pytest.skip(f"PyQGIS is not importable by {QGIS_PYTHON} (Debian: apt-get install "
                    "python3-qgis qgis-providers)")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(tmp_path))
    env.pop("PYTHONPATH", None)

    def run(qgz: Path, png_dir: Path, qmls: Sequence[Path] = ()) -> dict:
        proc = subprocess.run([QGIS_PYTHON, str(HERE / "qgis_check.py"), str(qgz),
                               str(png_dir), *map(str, qmls)],
                              capture_output=True, text=True, timeout=900, env=env)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("REPORT ")), None)
        assert proc.returncode == 0 and line, proc.stdout[-3000:] + proc.stderr[-3000:]
        return json.loads(line[len("REPORT "):])

    return run
