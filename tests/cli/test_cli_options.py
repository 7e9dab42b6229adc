"""One name for one thing across commands: the shared options, their old spellings
(hidden aliases that still work with a one-line note on stderr) and ``--pdf`` checked
before any work."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

import cami_atlas.cli.connectivity as conn_cli
import cami_atlas.cli.hotspots as hot_cli
import cami_atlas.cli.map as map_cli
import cami_atlas.screening
from cami_atlas.cli import main
from cami_atlas.errors import CamiAtlasError


class _Stop(CamiAtlasError):
    """Raised by the fakes below once they have recorded their arguments."""


def _recorder(calls: list):
    def fake(*args, **kwargs):
        calls.append(kwargs)
        raise _Stop("stopped by the test")
    return fake


def test_hotspots_old_spellings_work_with_a_note(monkeypatch, tmp_path):
    calls: list = []
    monkeypatch.setattr(hot_cli, "run_hotspots", _recorder(calls))
    old = CliRunner().invoke(main, ["hotspots", "--cell-km", "50", "--offline",
                                    "--out", str(tmp_path / "a")])
    assert old.exit_code == 1 and "Error: stopped by the test" in old.stderr
    assert old.stderr.splitlines()[:2] == [
        "Note: --cell-km is deprecated; use --cell-size-m 50000.",
        "Note: --offline is deprecated; use --no-basemap."]
    new = CliRunner().invoke(main, ["hotspots", "--cell-size-m", "50000", "--no-basemap",
                                    "--out", str(tmp_path / "b")])
    assert "Note:" not in new.stderr
    assert calls[0]["cell_km"] == calls[1]["cell_km"] == 50.0
    assert calls[0]["offline"] is calls[1]["offline"] is True
    # the command line recorded in the report uses the new spelling
    assert calls[0]["command"] == (f"cami-atlas hotspots --cell-size-m 50000.0 --no-basemap "
                                   f"--out {tmp_path / 'a'}")
    default = CliRunner().invoke(main, ["hotspots", "--out", str(tmp_path / "c")])
    assert default.exit_code == 1
    assert calls[2]["cell_km"] == 25.0 and calls[2]["offline"] is False


def test_old_and_new_spelling_together_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["hotspots", "--cell-km", "50", "--cell-size-m", "50000",
                                       "--out", str(tmp_path / "a")])
    assert result.exit_code == 2
    assert "--cell-km and --cell-size-m mean the same; give only --cell-size-m." in result.stderr
    assert not (tmp_path / "a").exists()


def test_old_cell_size_spelling_is_checked(tmp_path):
    result = CliRunner().invoke(main, ["hotspots", "--cell-km", "0", "--out", str(tmp_path / "a")])
    assert result.exit_code == 2
    assert "0 is not a cell size; it must be > 0." in result.stderr
    assert not (tmp_path / "a").exists()


def test_connectivity_old_spellings(monkeypatch, tmp_path):
    calls: list = []
    monkeypatch.setattr(conn_cli, "run_connectivity", _recorder(calls))
    old = CliRunner().invoke(main, [
        "connectivity", "--species", "argali", "--max-cost-distance", "7e5",
        "--corridor-width", "8000", "--dispersal-distance", "9", "--out", str(tmp_path / "a")])
    assert old.exit_code == 1, old.output
    assert old.stderr.splitlines()[:3] == [
        "Note: --max-cost-distance is deprecated; use --max-cost-distance-m 700000.",
        "Note: --corridor-width is deprecated; use --corridor-width-m 8000.",
        "Note: --dispersal-distance is deprecated; use --dispersal-resistance 9."]
    new = CliRunner().invoke(main, [
        "connectivity", "--species", "argali", "--max-cost-distance-m", "7e5",
        "--corridor-width-m", "8000", "--dispersal-resistance", "9",
        "--out", str(tmp_path / "b")])
    assert new.exit_code == 1 and "Note:" not in new.stderr
    for call in calls:
        assert (call["max_cost_distance"], call["corridor_width"],
                call["dispersal_distance"]) == (7e5, 8000.0, 9.0)


def test_screen_route_old_spellings(monkeypatch, tmp_path):
    calls: list = []
    monkeypatch.setattr(cami_atlas.screening, "screen_route", _recorder(calls))
    route = tmp_path / "route.geojson"
    route.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                     '"properties": {}, "geometry": {"type": "LineString", "coordinates": '
                     '[[66.0, 47.0], [67.0, 47.5]]}}]}')
    old = CliRunner().invoke(main, ["screen-route", str(route), "--type", "railway",
                                    "--cell-size-km", "5", "--out", str(tmp_path / "a")])
    assert old.exit_code == 1, old.output
    assert old.stderr.splitlines()[0] == "Note: --cell-size-km is deprecated; use --cell-size-m 5000."
    new = CliRunner().invoke(main, ["screen-route", str(route), "--type", "railway",
                                    "--cell-size-m", "5000", "--out", str(tmp_path / "b")])
    assert new.exit_code == 1 and "Note:" not in new.stderr
    assert calls[0]["cell_size_m"] == calls[1]["cell_size_m"] == 5000.0


def test_map_offline_is_no_basemap(monkeypatch, tmp_path):
    calls: list = []
    monkeypatch.setattr(map_cli, "layers_map", _recorder(calls))
    old = CliRunner().invoke(main, ["map", "--layers", "borders", "--offline",
                                    "--out", str(tmp_path / "a.html")])
    assert old.stderr.splitlines()[0] == "Note: --offline is deprecated; use --no-basemap."
    CliRunner().invoke(main, ["map", "--layers", "borders", "--out", str(tmp_path / "b.html")])
    assert (calls[0]["basemap"], calls[0]["offline"]) == (None, True)
    assert (calls[1]["basemap"], calls[1]["offline"]) == ("OpenStreetMap", False)


@pytest.mark.parametrize("command, old, new", [
    ("hotspots", ["--cell-km", "--offline"], ["--cell-size-m", "--basemap / --no-basemap"]),
    ("screen-route", ["--cell-size-km", "--offline"],
     ["--cell-size-m", "--basemap / --no-basemap"]),
    ("map", ["--offline"], ["--basemap / --no-basemap"]),
    ("connectivity", ["--max-cost-distance ", "--corridor-width ", "--dispersal-distance"],
     ["--cell-size-m", "--max-cost-distance-m", "--corridor-width-m",
      "--dispersal-resistance"]),
])
def test_help_shows_only_the_new_spellings(command, old, new):
    text = CliRunner().invoke(main, [command, "--help"]).output
    for opt in new:
        assert opt in text
    for opt in old:
        assert opt not in text


@pytest.mark.parametrize("args", [
    ["hotspots", "--species", "saiga", "--pdf"],
    ["screen-route", "ROUTE", "--type", "railway", "--pdf"],
])
def test_pdf_without_weasyprint_fails_before_any_work(monkeypatch, tmp_path, args):
    route = tmp_path / "route.geojson"
    route.write_text("{}")  # never read: the check comes first
    args = [str(route) if a == "ROUTE" else a for a in args]
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint -> ImportError
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: PDF output needs WeasyPrint, which is not installed; install it with "
        "`pip install 'cami-atlas[pdf]'` (it also needs the Pango system library, e.g. "
        "`apt install libpango-1.0-0 libpangoft2-1.0-0`), or leave out pdf=True / --pdf.\n")
    assert result.stdout == ""
    assert not out.exists()


def test_pdf_with_broken_pango_fails_before_any_work(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *a, **kw):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["hotspots", "--pdf", "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: WeasyPrint is installed but cannot load its system libraries (cannot load "
        "library 'libpango-1.0-0'); install Pango")
    assert len(result.stderr.splitlines()) == 1 and not out.exists()
