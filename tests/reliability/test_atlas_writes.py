"""Writes to one atlas by real processes: concurrent imports, SIGKILL mid-write, a held
lock, hot journals and damaged files. No mocks: every actor is a separate Python
process started with ``subprocess`` and the outcome is read back from the disk."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

import cami_atlas
from cami_atlas.atlas import Atlas
from cami_atlas.errors import LayerReadError

SRC = str(Path(cami_atlas.__file__).resolve().parents[1])
CLI = [sys.executable, "-c", "from cami_atlas.cli import main; main()"]
HOW_TO_FIX = ("Restore it from a backup, or rebuild it: re-import its layers with "
              "`cami-atlas layers import` (the default atlas: scripts/build_default_atlas.py).")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and flock")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([SRC, *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env


def _lines(path: Path, n: int, seed: int) -> Path:
    """A synthetic infrastructure layer of ``n`` short road/railway segments (lon/lat)."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(60, 100, n), rng.uniform(35, 50, n)
    geoms = shapely.linestrings(np.stack([np.c_[x, y], np.c_[x + 0.01, y + 0.01]], axis=1))
    types = np.where(rng.random(n) < 0.5, "road", "railway")
    gpd.GeoDataFrame({"infra_type": types}, geometry=geoms, crs="EPSG:4326").to_file(
        path, driver="GPKG", engine="pyogrio")
    return path


def _import(source: Path, atlas: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "layers", "import", str(source), "--kind", "infrastructure", "--atlas",
         str(atlas), "--licence", "CC0-1.0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(**env))


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=_env(**env),
                          timeout=300, check=False)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture()
def atlas_with_one_layer(tmp_path: Path) -> Path:
    """``work/a.gpkg`` holding layer ``first`` (5 roads/railways), in a folder of its own."""
    work = tmp_path / "work"
    work.mkdir()
    source = _lines(tmp_path / "first.gpkg", 5, seed=1)
    done = _run("layers", "import", str(source), "--kind", "infrastructure", "--atlas",
                str(work / "a.gpkg"), "--licence", "CC0-1.0")
    assert done.returncode == 0, done.stderr
    return work / "a.gpkg"


def test_two_concurrent_imports_both_land(tmp_path: Path, atlas_with_one_layer: Path) -> None:
    atlas = atlas_with_one_layer
    # 20,000 features each: reading and validating takes long enough that both processes
    # hold the atlas open at the same time (without the lock, the last writer won)
    one = _lines(tmp_path / "roads_one.gpkg", 20_000, seed=2)
    two = _lines(tmp_path / "roads_two.gpkg", 20_000, seed=3)
    procs = [_import(one, atlas), _import(two, atlas)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert outs[0][0] == f"imported 'roads_one' (infrastructure, 20000 features, EPSG:4326) " \
                         f"into {atlas}\n"
    assert outs[1][0] == f"imported 'roads_two' (infrastructure, 20000 features, EPSG:4326) " \
                         f"into {atlas}\n"
    result = Atlas.open(atlas)
    names = result.layer_names()
    assert names[0] == "first" and sorted(names[1:]) == ["roads_one", "roads_two"]
    assert len(result.read("roads_one")) == len(result.read("roads_two")) == 20_000
    assert result.read("roads_one").geometry.equals(gpd.read_file(one).geometry)
    assert len(result.read("first")) == 5
    assert _files(atlas.parent) == ["a.gpkg"]  # no lock file, no temporary file


def test_two_concurrent_imports_create_one_atlas(tmp_path: Path) -> None:
    atlas = tmp_path / "work" / "new.gpkg"
    atlas.parent.mkdir()
    sources = [_lines(tmp_path / f"part_{i}.gpkg", 3 + i, seed=i) for i in range(2)]
    procs = [_import(s, atlas) for s in sources]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(Atlas.open(atlas).layer_names()) == ["part_0", "part_1"]
    assert Atlas.open(atlas).list_layers().set_index("name")["n_features"].to_dict() == {
        "part_0": 3, "part_1": 4}
    assert _files(atlas.parent) == ["new.gpkg"]


def test_two_concurrent_imports_of_one_name_one_wins(tmp_path: Path,
                                                     atlas_with_one_layer: Path) -> None:
    atlas = atlas_with_one_layer
    sources = []
    for i, n in enumerate((300, 400)):
        folder = tmp_path / f"src{i}"
        folder.mkdir()
        sources.append(_lines(folder / "fences.gpkg", n, seed=10 + i))
    procs = [_import(s, atlas) for s in sources]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 1], outs
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    assert outs[loser][0] == ""
    assert outs[loser][1] in (  # refused before reading, or at the save under the lock
        f"Error: atlas {atlas} already has a layer 'fences'; pass --overwrite to replace it or "
        "--name to choose another name.\n",
        f"Error: atlas {atlas} already has a layer 'fences', saved by another process since "
        "this atlas was read; nothing was saved. Pass overwrite=True (--overwrite) to replace "
        "it, or choose another name.\n")
    result = Atlas.open(atlas)
    assert result.layer_names() == ["first", "fences"]
    assert len(result.read("fences")) == (300, 400)[winner]
    assert _files(atlas.parent) == ["a.gpkg"]


def test_sigkill_during_import_leaves_atlas_readable(tmp_path: Path,
                                                     atlas_with_one_layer: Path) -> None:
    atlas = atlas_with_one_layer
    work = atlas.parent
    before = atlas.read_bytes()
    big = _lines(tmp_path / "big.gpkg", 200_000, seed=4)
    proc = _import(big, atlas)
    deadline = time.monotonic() + 120
    part: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        # kill once the new file beside the atlas is being written (> 1 MB of it)
        part = [p for p in work.glob(".a.gpkg.*.part.gpkg") if p.stat().st_size > 1_000_000]
        if part:
            break
        time.sleep(0.02)
    assert part, f"the import never wrote its temporary file: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    left = _files(work)
    assert "a.gpkg.lock" in left and part[0].name in left  # what the killed writer left
    assert atlas.read_bytes() == before  # the atlas itself was never touched

    listed = _run("layers", "list", "--atlas", str(atlas))  # opening cleans up
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0] == f"atlas 'a' ({atlas}): 1 layers"
    assert _files(work) == ["a.gpkg"]
    assert Atlas.open(atlas).layer_names() == ["first"]
    assert len(Atlas.open(atlas).read("first")) == 5

    small = _lines(tmp_path / "after.gpkg", 2, seed=5)
    again = _import(small, atlas)
    assert again.communicate(timeout=300)[1] == "" and again.returncode == 0
    assert Atlas.open(atlas).layer_names() == ["first", "after"]
    assert _files(work) == ["a.gpkg"]


def test_stale_temporary_file_is_removed_on_next_write(tmp_path: Path,
                                                       atlas_with_one_layer: Path) -> None:
    atlas = atlas_with_one_layer
    # a writer that died (its process ended) leaving its temporary file and journal
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    stale = atlas.parent / f".a.gpkg.{pid}-0badf00d.part.gpkg"
    stale.write_bytes(b"half a file")
    Path(f"{stale}-journal").write_bytes(b"journal")
    done = _import(_lines(tmp_path / "next.gpkg", 2, seed=6), atlas)
    assert done.communicate(timeout=300)[1] == "" and done.returncode == 0
    assert _files(atlas.parent) == ["a.gpkg"]
    assert Atlas.open(atlas).layer_names() == ["first", "next"]


_HOLDER = """
import sys, time
from cami_atlas.store import AtlasLock
lock = AtlasLock(sys.argv[1], timeout_s=0)
lock.acquire()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
lock.release()
"""


def _hold_lock(atlas: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(atlas), str(seconds)],
                              stdout=subprocess.PIPE, text=True, env=_env())
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def test_lock_timeout_names_atlas_and_holder(tmp_path: Path,
                                             atlas_with_one_layer: Path) -> None:
    atlas = atlas_with_one_layer
    before = atlas.read_bytes()
    holder = _hold_lock(atlas, 120)
    try:
        source = _lines(tmp_path / "late.gpkg", 2, seed=7)
        refused = _import(source, atlas, CAMI_ATLAS_LOCK_TIMEOUT_S="1")
        out, err = refused.communicate(timeout=300)
        assert refused.returncode == 1
        assert out == ""
        assert err == (
            f"Error: atlas {atlas} is locked by process {holder.pid} (lock file {atlas}.lock), "
            "which is writing it; gave up after 1 s. Wait for that process to finish and try "
            "again, or allow a longer wait with CAMI_ATLAS_LOCK_TIMEOUT_S=SECONDS.\n")
        assert atlas.read_bytes() == before
    finally:
        holder.kill()  # SIGKILL: the kernel drops its flock, only the lock file stays
        holder.wait()
    assert _files(atlas.parent) == ["a.gpkg", "a.gpkg.lock"]
    after = _import(source, atlas, CAMI_ATLAS_LOCK_TIMEOUT_S="1")  # a dead holder blocks no one
    assert after.communicate(timeout=300)[1] == "" and after.returncode == 0
    assert Atlas.open(atlas).layer_names() == ["first", "late"]
    assert _files(atlas.parent) == ["a.gpkg"]


def test_second_writer_waits_for_the_lock(tmp_path: Path, atlas_with_one_layer: Path) -> None:
    atlas = atlas_with_one_layer
    holder = _hold_lock(atlas, 4)
    start = time.monotonic()
    waiting = _import(_lines(tmp_path / "patient.gpkg", 2, seed=8), atlas)
    err = waiting.communicate(timeout=300)[1]
    assert holder.wait(timeout=60) == 0
    assert waiting.returncode == 0 and err == ""
    assert time.monotonic() - start >= 4 - 0.5  # it waited for the holder
    assert Atlas.open(atlas).layer_names() == ["first", "patient"]
    assert _files(atlas.parent) == ["a.gpkg"]


_JOURNAL_WRITER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA cache_size = 1")  # spill changed pages into the file before commit
con.execute("BEGIN")
con.execute("DELETE FROM cami_atlas_layers")
con.execute("CREATE TABLE junk (x BLOB)")
con.executemany("INSERT INTO junk VALUES (randomblob(4000))", [()] * 200)
print("dirty", flush=True)
time.sleep(120)
"""


def test_hot_journal_of_killed_editor_is_rolled_back(atlas_with_one_layer: Path) -> None:
    atlas = atlas_with_one_layer
    editor = subprocess.Popen([sys.executable, "-c", _JOURNAL_WRITER, str(atlas)],
                              stdout=subprocess.PIPE, text=True, env=_env())
    assert editor.stdout is not None and editor.stdout.readline() == "dirty\n"
    editor.kill()
    editor.wait()
    assert _files(atlas.parent) == ["a.gpkg", "a.gpkg-journal"]
    listed = _run("layers", "list", "--atlas", str(atlas))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0] == f"atlas 'a' ({atlas}): 1 layers"
    assert _files(atlas.parent) == ["a.gpkg"]
    with sqlite3.connect(atlas) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    assert "junk" not in tables
    checked = _run("layers", "validate", str(atlas))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines()[-1] == f"atlas {atlas}: 1 layer(s) valid"


def _damaged(path: Path, what: str) -> str:
    return (f"Error: atlas {path} is damaged, not a readable GeoPackage: {what}. "
            f"{HOW_TO_FIX}\n")


def test_validate_truncated_atlas(atlas_with_one_layer: Path, tmp_path: Path) -> None:
    whole = atlas_with_one_layer.read_bytes()
    half = len(whole) // 2 // 4096 * 4096
    cut = tmp_path / "cut.gpkg"
    cut.write_bytes(whole[:half])  # as a copy stopped half-way
    expected = _damaged(cut, f"it is truncated ({half:,} bytes; its header says "
                             f"{len(whole):,})")
    result = _run("layers", "validate", str(cut))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == expected
    listed = _run("layers", "list", "--atlas", str(cut))  # every command refuses it
    assert listed.returncode == 1 and listed.stderr == expected
    with pytest.raises(LayerReadError, match=r"cut\.gpkg is damaged.*truncated.*Restore"):
        Atlas.open(cut)
    odd = tmp_path / "odd.gpkg"
    odd.write_bytes(whole[:-100])
    result = _run("layers", "validate", str(odd))
    assert result.returncode == 1
    assert result.stderr == _damaged(odd, f"it is truncated ({len(whole) - 100:,} bytes; its "
                                          f"header says {len(whole):,})")


def test_validate_random_bytes(tmp_path: Path) -> None:
    junk = tmp_path / "my_atlas.gpkg"
    junk.write_bytes(np.random.default_rng(9).integers(0, 256, 50_000, dtype=np.uint8)
                     .tobytes())
    result = _run("layers", "validate", str(junk))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == _damaged(
        junk, "it is not an SQLite file (it does not start with the SQLite header)")
    empty = tmp_path / "empty.gpkg"
    empty.write_bytes(b"")
    result = _run("layers", "validate", str(empty))
    assert result.returncode == 1
    assert result.stderr == _damaged(empty, "the file is empty (0 bytes)")
    with pytest.raises(LayerReadError, match="not an SQLite file"):
        Atlas.open(junk)


def test_validate_sqlite_without_geopackage_tables(tmp_path: Path) -> None:
    plain = tmp_path / "plain.gpkg"
    with sqlite3.connect(plain) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    result = _run("layers", "validate", str(plain))
    assert result.returncode == 1
    assert result.stderr == _damaged(plain, "it is an SQLite file without the GeoPackage "
                                            "table(s) gpkg_contents, gpkg_spatial_ref_sys")


def test_validate_integrity_check_failure(atlas_with_one_layer: Path) -> None:
    atlas = atlas_with_one_layer
    with sqlite3.connect(atlas) as con:  # an index whose entries do not match its table
        con.execute("CREATE TABLE zz (a INTEGER, b INTEGER)")
        con.executemany("INSERT INTO zz VALUES (?, ?)", [(i, -i) for i in range(50)])
        con.execute("CREATE INDEX zz_i ON zz (a)")
    with sqlite3.connect(atlas) as con:
        con.execute("PRAGMA writable_schema = ON")
        con.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX zz_i ON zz (b)' "
                    "WHERE name = 'zz_i'")
    result = _run("layers", "validate", str(atlas))
    assert result.returncode == 1
    assert result.stderr == _damaged(
        atlas, "SQLite's integrity check fails (row 2 missing from index zz_i; row 3 missing "
               "from index zz_i; row 4 missing from index zz_i)")
