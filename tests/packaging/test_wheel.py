"""A wheel that works: build the sdist and the wheel, install the wheel into a clean venv
and run the main job from it.

The venv is made with ``python -m venv`` (no system site-packages) and the wheel installed
with its dependencies by pip from the configured index (PyPI on CI; pip's cache makes
reruns fast). Every command runs outside the source tree with no ``PYTHONPATH``, so only
the installed wheel is used, its embedded default atlas included.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
EMBEDDED = "cami_atlas/_embedded/layers/cami_default_atlas.gpkg"

pytestmark = pytest.mark.slow


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    pytest.importorskip("build", reason="python -m build needs the 'build' package")
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=out)
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("venv")
    env_dir = where / "venv"
    _run([sys.executable, "-m", "venv", str(env_dir)], cwd=where)
    wheel = next(dist.glob("*.whl"))
    _run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
         cwd=where, env=_clean_env(env_dir))
    return env_dir


def _clean_env(env_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_sdist_and_wheel_hold_the_embedded_atlas(dist):
    wheels = list(dist.glob(f"cami_atlas-{VERSION}-py3-none-any.whl"))
    sdists = list(dist.glob(f"cami_atlas-{VERSION}.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    src_gpkg = ROOT / "data/layers/cami_default_atlas.gpkg"
    assert EMBEDDED in names
    assert zipfile.ZipFile(wheels[0]).getinfo(EMBEDDED).file_size == src_gpkg.stat().st_size
    for required in ("cami_atlas/_embedded/layers/SOURCES.md",
                     "cami_atlas/data/cami_barrier_matrix_2017.csv",
                     "cami_atlas/data/species_status.csv",
                     "cami_atlas/py.typed"):
        assert required in names, required
    assert any(n.startswith("cami_atlas/report/templates/") for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)
    with tarfile.open(sdists[0]) as tar:
        members = tar.getnames()
    assert f"cami_atlas-{VERSION}/data/layers/cami_default_atlas.gpkg" in members
    assert f"cami_atlas-{VERSION}/pyproject.toml" in members


def test_installed_wheel_runs_the_main_job(venv, tmp_path):
    env = _clean_env(venv)
    exe = str(venv / "bin" / "cami-atlas")
    version = _run([exe, "--version"], cwd=tmp_path, env=env)
    assert version.stdout.strip() == f"cami-atlas, version {VERSION}"
    where = _run([str(venv / "bin" / "python"), "-c",
                  "import cami_atlas, cami_atlas.atlas as a; "
                  "print(cami_atlas.__file__); print(a.default_atlas_path())"],
                 cwd=tmp_path, env=env).stdout.split()
    assert all(str(venv) in p for p in where), where  # the wheel, not the source tree
    assert where[1].endswith(EMBEDDED)
    out = tmp_path / "atlas-output"
    _run([exe, "run", "--out", str(out)], cwd=tmp_path, env=env)
    produced = {p.name for p in out.rglob("*") if p.is_file() and p.stat().st_size > 0}
    for name in ("layers.csv", "summary.md", "barrier_lengths.csv"):
        assert name in produced, sorted(produced)
    assert any(n.endswith(".html") for n in produced)
    layers_csv = next(out.rglob("layers.csv")).read_text()
    assert "railways" in layers_csv and "species_ranges" in layers_csv
    # outputs are never overwritten without --overwrite: one line on stderr, exit 1
    again = subprocess.run([exe, "run", "--out", str(out)], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 1
    assert again.stderr.startswith("Error:") and "--overwrite" in again.stderr


def test_installed_wheel_prints_a_completion_script(venv, tmp_path):
    env = dict(_clean_env(venv), _CAMI_ATLAS_COMPLETE="bash_source")
    script = _run([str(venv / "bin" / "cami-atlas")], cwd=tmp_path, env=env).stdout
    assert "complete -o nosort -F _cami_atlas_completion cami-atlas" in script
