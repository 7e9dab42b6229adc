"""Every command writes its output set atomically (issue 10.7).

SIGKILL during writing (a real ``cami-atlas`` process), an interrupted ``--overwrite``,
a read-only location, a full disk (tiny tmpfs) and argument errors: each test asserts
what is left on disk and the exact error line.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely import LineString, box

import cami_atlas
from cami_atlas.atlas import Atlas
from cami_atlas.cli import main
from cami_atlas.errors import LayerWriteError, OutputExistsError
from cami_atlas.pipeline.staging import (
    StagedFile,
    StagedOutputs,
    remove_stale,
    staging_folders,
)

SRC = str(Path(cami_atlas.__file__).resolve().parents[1])
BARRIER_SET = ["atlas_versions.csv", "barrier_lengths.csv", "barrier_summary.md",
               "classified_segments.gpkg",
               "classified_segments.qml", "effective_mesh_size.png", "fragmentation.csv",
               "km_by_country.png", "km_by_species.png", "project.qgz"]


# -- helpers ----------------------------------------------------------------------------------
def _command() -> list[str]:
    script = Path(sys.executable).with_name("cami-atlas")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from cami_atlas.cli import main; main()"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """name -> (inode, mtime) of every entry: tells an old file from a rewritten one.

    A staging folder of a single-file output (``.map.html.staging-PID``) lies beside the
    file and is left out."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()
            if ".staging-" not in p.name}


@pytest.fixture(scope="module")
def tiny_atlas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One railway across one saiga range in one country: every command runs in seconds."""
    atlas = Atlas("tiny")
    kw = {"source": "synthetic", "licence": "CC0-1.0"}
    atlas.add_layer("rail", gpd.GeoDataFrame(
        {"infra_type": ["railway", "railway"], "track": ["double track", "single track"]},
        geometry=[LineString([(70.2, 45.0), (73.8, 45.0)]),
                  LineString([(71.0, 44.2), (71.0, 45.8)])], crs="EPSG:4326"),
        "infrastructure", **kw)
    atlas.add_layer("ranges", gpd.GeoDataFrame(
        {"species": ["Saiga_tatarica"]}, geometry=[box(70, 44, 74, 46)], crs="EPSG:4326"),
        "species_range", **kw)
    atlas.add_layer("land", gpd.GeoDataFrame(
        {"iso3": ["KAZ"], "name": ["Kazakhstan"]}, geometry=[box(69, 43, 75, 47)],
        crs="EPSG:4326"), "country", **kw)
    return atlas.save(tmp_path_factory.mktemp("atlas") / "tiny.gpkg")


@pytest.fixture(scope="module")
def route_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("route") / "route.geojson"
    gpd.GeoDataFrame({"name": ["r"]}, geometry=[LineString([(72.5, 44.5), (72.5, 45.5)])],
                     crs="EPSG:4326").to_file(path, driver="GeoJSON")
    return path


def _args(command: str, atlas: Path, route: Path, out: Path) -> list[str]:
    base = ["--atlas", str(atlas)]
    return {
        "barriers": ["barriers", *base, "--out", str(out)],
        "hotspots": ["hotspots", *base, "--cell-size-m", "100000", "--permutations", "9",
                     "--no-basemap", "--out", str(out)],
        "run": ["run", *base, "--out", str(out)],
        "map": ["map", *base, "--layers", "land,rail,ranges", "--no-basemap", "--out",
                str(out / "map.html")],
        # the default atlas (it has the DEM), a small window on coarse cells
        "connectivity": ["connectivity", "--species", "argali", "--bbox", "72,40,76,42",
                         "--cell-size-m", "10000", "--solver", "direct", "--out", str(out)],
        "screen-route": ["screen-route", str(route), "--type", "railway", *base,
                         "--no-connectivity", "--no-basemap", "--buffers-km", "1",
                         "--out", str(out)],
    }[command]


@contextlib.contextmanager
def _mount_tmpfs(options: str) -> Iterator[Path]:
    where = Path(tempfile.mkdtemp(prefix="cami-tmpfs-"))
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip() or 'mount failed'}); "
                    "run as root with mount permission to test full and read-only disks")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)
        where.rmdir()


# -- SIGKILL during writing -------------------------------------------------------------------
COMMANDS = ["barriers", "hotspots", "run", "map", "screen-route", "connectivity"]


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_sigkill_while_writing_leaves_old_set_or_new_set(command, tiny_atlas, route_file,
                                                         tmp_path):
    """Kill ``COMMAND --overwrite`` once its staging folder appears: --out holds the whole
    old set or the whole new set, never a mix; the next run removes the staging folder."""
    out = tmp_path / "out"
    args = _args(command, tiny_atlas, route_file, out)
    first = subprocess.run([*_command(), *args], env=_env(), capture_output=True, text=True,
                           timeout=600)
    assert first.returncode == 0, first.stderr
    out.mkdir(exist_ok=True)
    (out / "my_notes.txt").write_text("a user's own file\n")
    where = out.parent if command != "map" else out
    for _attempt in range(3):  # a fast command may finish before it is seen: try again
        old = _snapshot(out)
        old_text = {n: (out / n).read_bytes() for n in old if (out / n).is_file()}
        proc = subprocess.Popen([*_command(), *args, "--overwrite"], env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        stage = None
        while time.monotonic() < deadline and proc.poll() is None:
            stage = next((p for p in where.iterdir() if ".staging-" in p.name), None)
            if stage is not None:
                break
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.returncode == -signal.SIGKILL:
            break
    assert proc.returncode == -signal.SIGKILL and stage is not None, (
        f"{command} always finished before it could be killed while writing")
    now = _snapshot(out)
    assert set(now) == set(old)  # same names: nothing added, nothing lost
    same = {n for n in old if now[n] == old[n]}
    rewritten = set(old) - same
    assert same == set(old) or rewritten == set(old) - {"my_notes.txt"}, (
        f"a mix of old and new files: old {sorted(same)}, new {sorted(rewritten)}")
    assert (out / "my_notes.txt").read_text() == "a user's own file\n"
    if same == set(old):  # the old set, byte for byte
        assert {n: (out / n).read_bytes() for n in old_text} == old_text
    # the next run (here refused: the set exists) removes the dead process's folders
    again = subprocess.run([*_command(), *args], env=_env(), capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 1 and "--overwrite" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert staging_folders(out if command != "map" else out / "map.html") == []
    assert _snapshot(out) == now and sorted(p.name for p in out.iterdir()) == sorted(now)


@pytest.mark.slow
def test_barriers_overwrite_killed_half_way_keeps_old_set(tiny_atlas, tmp_path):
    """Kill ``barriers --overwrite`` after it wrote the first file of the new set."""
    out = tmp_path / "out"
    args = ["barriers", "--atlas", str(tiny_atlas), "--out", str(out)]
    assert subprocess.run([*_command(), *args], env=_env(), timeout=600).returncode == 0
    old = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(old) == BARRIER_SET
    # make the old set distinguishable from the new one
    (out / "barrier_summary.md").write_text("# the old summary\n")
    old["barrier_summary.md"] = b"# the old summary\n"
    proc = subprocess.Popen([*_command(), *args, "--overwrite"], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stage = tmp_path / f".out.staging-{proc.pid}"
    deadline = time.monotonic() + 600
    while proc.poll() is None and time.monotonic() < deadline:
        if (stage / "barrier_lengths.csv").exists():  # half of the new set is written
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        pytest.fail(f"barriers ended (exit {proc.returncode}) before it could be killed")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == old
    assert staging_folders(out) in ([], [stage])
    # the next run with --overwrite cleans up and writes the complete new set
    res = subprocess.run([*_command(), *args, "--overwrite"], env=_env(),
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == BARRIER_SET
    assert (out / "barrier_summary.md").read_text().startswith("# Barrier analysis")
    assert staging_folders(out) == []


# -- unwritable locations and full disks ------------------------------------------------------
def test_read_only_location_is_one_line_and_no_files(tiny_atlas):
    with _mount_tmpfs("ro,size=64k") as ro:
        out = ro / "out"
        res = CliRunner().invoke(main, ["barriers", "--atlas", str(tiny_atlas), "--out",
                                        str(out)])
        assert res.exit_code == 1
        assert res.output == (f"Error: cannot write in {ro}: read-only file system; choose "
                              "another --out or make the folder writable.\n")
        assert list(ro.iterdir()) == []
        single = CliRunner().invoke(main, ["map", "--atlas", str(tiny_atlas), "--layers",
                                           "rail", "--out", str(ro / "m.html")])
        assert single.exit_code == 1
        assert single.output == (f"Error: cannot write in {ro}: read-only file system; "
                                 "choose another --out or make the folder writable.\n")
        assert list(ro.iterdir()) == []


def test_immutable_output_folder_is_refused_before_work(tiny_atlas, tmp_path):
    """``chattr +i``: even root cannot create files in the folder."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported on this file system")
    try:
        res = CliRunner().invoke(main, ["barriers", "--atlas", str(tiny_atlas), "--out",
                                        str(folder / "out")])
        assert res.exit_code == 1
        assert res.output == (f"Error: cannot write in {folder}: operation not permitted; "
                              "choose another --out or make the folder writable.\n")
        assert list(folder.iterdir()) == []
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_full_disk_is_refused_before_work(tiny_atlas):
    with _mount_tmpfs("size=64k") as disk:
        out = disk / "out"
        res = CliRunner().invoke(main, ["barriers", "--atlas", str(tiny_atlas), "--out",
                                        str(out)])
        assert res.exit_code == 1
        assert res.output == (f"Error: no space left on device for the outputs in {out}: "
                              f"64.0 KiB free in {disk}, about 13.0 MiB needed; free space "
                              "or choose another --out.\n")
        assert list(disk.iterdir()) == []


def test_disk_full_while_writing_is_one_line_and_no_partial_set(tiny_atlas, monkeypatch):
    """The estimate fits but the disk fills up while the GeoPackage is written."""
    from cami_atlas.cli import barriers as cli_barriers

    monkeypatch.setattr(cli_barriers, "ESTIMATED_BYTES", 0)
    with _mount_tmpfs("size=64k") as disk:
        out = disk / "out"
        res = CliRunner().invoke(main, ["barriers", "--atlas", str(tiny_atlas), "--out",
                                        str(out)])
        assert res.exit_code == 1, res.output
        assert res.output == (f"Error: no space left on device while writing "
                              f"classified_segments.gpkg into {out}; free space or choose "
                              "another --out.\n")
        assert list(disk.iterdir()) == []  # the folder the job created is removed again


def test_disk_full_keeps_the_old_set(tmp_path):
    """Library level: an old set survives a new one that does not fit."""
    with _mount_tmpfs("size=64k") as disk:
        out = disk / "out"
        out.mkdir()
        (out / "a.csv").write_text("old\n")
        message = re.escape(f"no space left on device while writing b.bin into {out}; free "
                            "space or choose another --out.")
        with pytest.raises(LayerWriteError, match=f"^{message}$"), StagedOutputs(
                out, ["a.csv", "b.bin"], overwrite=True) as folder:
            (folder / "a.csv").write_text("new\n")
            (folder / "b.bin").write_bytes(b"x" * 200_000)
        assert [p.name for p in disk.iterdir()] == ["out"]
        assert [p.name for p in out.iterdir()] == ["a.csv"]
        assert (out / "a.csv").read_text() == "old\n"


# -- argument errors create nothing -----------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    (["barriers", "--species", "unicorn"], "unicorn"),
    (["barriers", "--matrix", "{tmp}/none.csv"], "none.csv"),
    (["hotspots", "--weights", "{tmp}/none.csv"], "--weights {tmp}/none.csv does not exist"),
    (["run", "--atlas", "{tmp}/none.gpkg"], "does not exist"),
    (["connectivity", "--species", "argali", "--solver", "cholesky"], "cholesky"),
    (["connectivity", "--species", "unicorn", "--cell-size-m", "20000"], "unicorn"),
])
def test_argument_error_creates_no_output_folder(args, message, tmp_path):
    out = tmp_path / "deep" / "out"
    args = [a.format(tmp=tmp_path) for a in args]
    res = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert res.exit_code == 1, res.output
    assert message.format(tmp=tmp_path) in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "deep").exists()


def test_map_argument_error_creates_no_file(tmp_path):
    res = CliRunner().invoke(main, ["map", "--layers", "nope", "--out",
                                    str(tmp_path / "sub" / "m.html")])
    assert res.exit_code == 1 and "nope" in res.output
    assert list(tmp_path.iterdir()) == []


# -- the staging mechanism --------------------------------------------------------------------
def test_swap_keeps_user_files_and_drops_old_members_of_the_set(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.pdf").write_text("old pdf")
    (out / "report.html").write_text("old html")
    (out / "mine").mkdir()
    (out / "mine" / "notes.txt").write_text("keep me")
    staged = StagedOutputs(out, ["report.html", "report.pdf"])
    with pytest.raises(OutputExistsError, match="^" + re.escape(
            f"{out} already holds report.html, report.pdf; pass --overwrite")):
        staged.check()
    with StagedOutputs(out, ["report.html", "report.pdf"], overwrite=True) as folder:
        (folder / "report.html").write_text("new html")
    assert sorted(p.name for p in out.iterdir()) == ["mine", "report.html"]
    assert (out / "report.html").read_text() == "new html"
    assert (out / "mine" / "notes.txt").read_text() == "keep me"
    assert staging_folders(out) == []


def test_failed_writer_leaves_old_set_and_no_staging(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_text("old")
    with pytest.raises(RuntimeError, match="writer crashed"), StagedOutputs(
            out, ["a.csv"], overwrite=True) as folder:
        (folder / "a.csv").write_text("new")
        raise RuntimeError("writer crashed")
    assert [p.name for p in out.iterdir()] == ["a.csv"] and (out / "a.csv").read_text() == "old"
    assert staging_folders(out) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_stale_folders_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = tmp_path / f".out.staging-{_dead_pid()}"
    dead.mkdir()
    (dead / "half.csv").write_text("x")
    live = tmp_path / f".out.staging-{os.getppid()}"  # a live process: not ours to remove
    live.mkdir()
    assert remove_stale(out) == [dead]
    assert staging_folders(out) == [live]
    live.rmdir()


def test_kill_between_the_two_renames_is_recovered(tmp_path):
    """Fallback swap (no renameat2) killed after ``out`` went aside: the next run puts the
    old set back."""
    out = tmp_path / "out"
    aside = tmp_path / f".out.old-{_dead_pid()}"
    aside.mkdir()
    (aside / "a.csv").write_text("old")
    staging = tmp_path / f".out.staging-{_dead_pid()}"
    staging.mkdir()
    assert not out.exists()
    with pytest.raises(OutputExistsError, match=r"already holds a\.csv"):
        StagedOutputs(out, ["a.csv"]).check()
    assert (out / "a.csv").read_text() == "old"
    assert staging_folders(out) == []


def test_fallback_swap_without_renameat2(tmp_path, monkeypatch):
    from cami_atlas.pipeline import staging

    monkeypatch.setattr(staging, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_text("old")
    with StagedOutputs(out, ["a.csv"], overwrite=True) as folder:
        (folder / "a.csv").write_text("new")
    assert (out / "a.csv").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_working_directory_as_out_is_written_in_place(tmp_path, monkeypatch):
    """``--out .``: the folder cannot be swapped under the shell; files move in one by one."""
    out = tmp_path / "here"
    out.mkdir()
    (out / "a.csv").write_text("old")
    monkeypatch.chdir(out)
    staged = StagedOutputs(".", ["a.csv", "b.csv"], overwrite=True).check()
    assert staged.swap is False
    with staged as folder:
        assert folder.parent == out
        (folder / "b.csv").write_text("new b")
    assert sorted(p.name for p in out.iterdir()) == ["b.csv"]
    assert Path(os.getcwd()) == out


def test_single_file_is_renamed_into_place(tmp_path):
    target = tmp_path / "map.html"
    target.write_text("old")
    with pytest.raises(OutputExistsError, match=r"map\.html exists already"):
        StagedFile(target).check()
    with pytest.raises(RuntimeError, match="map failed"), StagedFile(
            target, overwrite=True) as tmp:
        tmp.write_text("half")
        raise RuntimeError("map failed")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == [
        "map.html"]
    with StagedFile(target, overwrite=True) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["map.html"]


def test_success_leaves_nothing_beside_out(tmp_path):
    """A successful set leaves only --out beside it (no staging, no old folder)."""
    with StagedOutputs(tmp_path / "o", ["x"]) as folder:
        (folder / "x").write_text("1")
    assert [p.name for p in tmp_path.iterdir()] == ["o"]
    shutil.rmtree(tmp_path / "o")


def test_symlinked_out_keeps_the_link_and_folder_keeps_its_mode(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    real.chmod(0o750)
    (real / "a.csv").write_text("old")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    with StagedOutputs(link, ["a.csv"], overwrite=True) as folder:
        (folder / "a.csv").write_text("new")
    assert link.is_symlink() and (link / "a.csv").read_text() == "new"
    assert (real / "a.csv").read_text() == "new"
    assert real.stat().st_mode & 0o777 == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def test_immutable_existing_out_is_refused_before_work_and_keeps_its_set(tiny_atlas, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "barrier_lengths.csv").write_text("old\n")
    if subprocess.run(["chattr", "+i", str(out)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported on this file system")
    try:
        res = CliRunner().invoke(main, ["barriers", "--atlas", str(tiny_atlas), "--out",
                                        str(out), "--overwrite"])
        assert res.exit_code == 1
        assert res.output == (f"Error: cannot write in {out}: operation not permitted; "
                              "choose another --out or make the folder writable.\n")
    finally:
        subprocess.run(["chattr", "-i", str(out)], check=True)
    assert [p.name for p in out.iterdir()] == ["barrier_lengths.csv"]
    assert (out / "barrier_lengths.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
