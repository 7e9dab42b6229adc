"""scripts/make_hotspot_atlas.py on a small subset of the default atlas (2 species, 200 km)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "make_hotspot_atlas.py"
SPECIES = ["Saiga_tatarica", "Procapra_gutturosa"]
FILES = ["hotspot_cells.csv", "hotspot_cells.gpkg", "hotspot_map.html", "hotspot_report.html",
         "hotspot_segments.csv", "mitigation_proposals.csv"]


def _load():
    spec = importlib.util.spec_from_file_location("make_hotspot_atlas", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Index(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self._row: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a":
            self.links.append(a["href"])
        if tag == "tr" and "id" in a:
            self._row = a["id"]
            self.rows[self._row] = []
        if tag == "td" and self._row:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._row and self._cell is not None:
            self.rows[self._row].append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("atlas") / "hotspot_atlas"
    code = _load().main(["--out", str(out), "--cell-km", "200", "--species", "saiga",
                         "--species", "Procapra gutturosa", "--permutations", "9",
                         "--offline", "--quiet"])
    return out, code


def test_one_folder_per_species_and_an_index(made):
    out, code = made
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([*SPECIES, "index.html"])
    for sp in SPECIES:
        assert sorted(p.name for p in (out / sp).iterdir()) == FILES
        report = (out / sp / "hotspot_report.html").read_text(encoding="utf-8")
        assert f'id="species-{sp.lower().replace("_", "-")}"' in report
        assert report.count('<section class="species"') == 1  # that species only
    index = _Index()
    index.feed((out / "index.html").read_text(encoding="utf-8"))
    assert sorted(index.links) == sorted(f"{sp}/{f}" for sp in SPECIES
                                         for f in ("hotspot_report.html", "hotspot_map.html"))
    assert all((out / link).is_file() for link in index.links)
    assert set(index.rows) == set(SPECIES)


def test_index_figures_match_each_species_grid(made):
    """The index' complete-barrier km (range overlay of cami_atlas.barriers) equals the same
    km summed over that species' hotspot cells (the grid's own overlay) within 1 %."""
    out, _ = made
    index = _Index()
    index.feed((out / "index.html").read_text(encoding="utf-8"))
    for sp in SPECIES:
        cells = pd.read_csv(out / sp / "hotspot_cells.csv")
        complete = float(index.rows[sp][5].replace(",", ""))
        assert complete == pytest.approx(cells["species_km_complete_barrier"].sum(), rel=0.01,
                                         abs=1.0)
        hot = int(cells["gi_class"].str.startswith("hot").sum())
        assert index.rows[sp][8] == f"{hot:,} of {len(cells):,}"


def test_refuses_to_overwrite(made, capsys):
    out, _ = made
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    code = _load().main(["--out", str(out), "--cell-km", "200", "--species", "saiga",
                         "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {out} already holds index.html, Saiga_tatarica/")
    assert "pass overwrite=True (--overwrite)" in err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_bad_arguments_exit_2(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path),
                           "--cell-km", "0"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "--cell-km: must be > 0" in done.stderr
    unknown = _load().main(["--out", str(tmp_path / "x"), "--species", "unicorn", "--quiet"])
    assert unknown == 1 and not (tmp_path / "x").exists()
