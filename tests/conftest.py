"""Shared test fixtures.

Real data lives in ``../shared/data/real`` beside the project checkout (developers and
CI have it). A test that needs it uses the ``real_data`` fixture: it skips with a
clear reason where ``../shared`` is absent, but fails on CI (``CI=true``), where the
data must be present.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = PROJECT_ROOT.parent / "shared" / "data" / "real"
SHARED_REFERENCE = PROJECT_ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Path of ``../shared/data/real`` (skip where absent, fail on CI)."""
    if not SHARED_REAL.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI run without the real data folder {SHARED_REAL}")
        pytest.skip(f"real data folder {SHARED_REAL} is absent (only developers and CI have it)")
    return SHARED_REAL


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """Path of ``../shared/reference`` (skip where absent, fail on CI)."""
    if not SHARED_REFERENCE.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI run without the reference folder {SHARED_REFERENCE}")
        pytest.skip(f"reference folder {SHARED_REFERENCE} is absent")
    return SHARED_REFERENCE


# -- a throwaway PostgreSQL/PostGIS cluster for the PostGIS atlas backend -----------------------
def _pg_bindir() -> Path | None:
    """Folder of ``initdb``/``pg_ctl``: on PATH, else Debian's /usr/lib/postgresql/<v>/bin."""
    import shutil

    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return versions[-1].parent if versions else None


@pytest.fixture(scope="session")
def postgis_server():
    """A PostgreSQL cluster with PostGIS in a temporary folder, for this test session.

    Made with ``initdb`` (as the ``postgres`` user when the tests run as root), started
    on a free port of 127.0.0.1 (socket in the folder), database ``cami_test`` with the
    ``postgis`` extension; stopped and deleted at the end. Yields the base URL. Skips
    only when the PostgreSQL binaries are absent (fails on CI, which installs them).
    """
    import shutil
    import socket
    import subprocess
    import tempfile

    psycopg = pytest.importorskip("psycopg", reason="psycopg (the 'web' extra) is not installed")
    bindir = _pg_bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        if os.environ.get("CI"):
            pytest.fail("CI run without the PostgreSQL binaries (apt-get install postgresql "
                        "postgis)")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are absent: apt-get install "
                    "postgresql postgis")
    root = Path(tempfile.mkdtemp(prefix="cami_pg_"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        import pwd

        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = dict(check=True, capture_output=True, timeout=120)
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "cami",
                    "-E", "UTF8", "--no-sync"], **run)
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                    "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c max_connections=60", "start"], **run)
    try:
        base = f"postgresql://cami@127.0.0.1:{port}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as con:
            con.execute("CREATE DATABASE cami_test")
        with psycopg.connect(f"{base}/cami_test", autocommit=True) as con:
            con.execute("CREATE EXTENSION postgis")
        yield f"{base}/cami_test"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def postgis_url(postgis_server: str):
    """The address of a fresh, empty atlas schema in the test cluster (dropped afterwards)."""
    import uuid

    import psycopg
    from psycopg import sql

    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{postgis_server}?schema={schema}"
    with psycopg.connect(postgis_server, autocommit=True) as con:
        con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _finish_file(name: str) -> bool:
    return name in ("project.qgz", "atlas_versions.csv") or name.endswith(
        (".qml", "_quicklook.png"))


@pytest.fixture
def own_outputs():
    """``own_outputs(folder)``: sorted names in ``folder`` without the QGIS project, the
    ``.qml`` styles, the raster quick-looks and ``atlas_versions.csv`` that every output
    folder gets (tested in ``tests/qgis/test_output_folder_projects.py`` and
    ``tests/cli/test_cli_run.py``)."""

    def names(folder: str | os.PathLike[str]) -> list[str]:
        return sorted(p.name for p in Path(folder).iterdir() if not _finish_file(p.name))

    return names
