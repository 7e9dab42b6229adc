"""Quick-look PNGs of rasters and the contact sheet: what is drawn where, and bad input."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib as mpl
import matplotlib.colors as mcolors
import matplotlib.image as mpimg
import numpy as np
import pytest
from affine import Affine

from cami_atlas.errors import LayerReadError, OutputExistsError
from cami_atlas.pipeline.finish import derived_names, finish_outputs, write_quicklooks
from cami_atlas.raster import Grid
from cami_atlas.report.quicklook import (
    RASTER_KINDS,
    _nice,
    contact_sheet_markdown,
    describe_raster,
    quicklook_path,
    raster_quicklook,
)


def _tif(path: Path, values: np.ndarray, crs: str = "EPSG:32643") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return Grid(values, Affine(1000, 0, 500_000, 0, -1000, 5_000_000), crs).to_geotiff(path)


def test_inf_cells_are_dark_grey_and_values_use_the_colour_map(tmp_path: Path) -> None:
    values = np.ones((40, 40))
    values[:, :20] = np.inf  # left half impassable
    tif = _tif(tmp_path / "Saiga_tatarica" / "cost_distance.tif", values)
    png = raster_quicklook(tif)
    assert png == tmp_path / "Saiga_tatarica" / "cost_distance_quicklook.png"
    img = mpimg.imread(png)[..., :3]
    grey = np.array(mcolors.to_rgb("#404040"))
    # count the pixels of each colour: the map is drawn on about half of the axes
    is_grey = np.all(np.abs(img - grey) < 0.02, axis=-1)
    assert is_grey.sum() > 0.05 * is_grey.size
    # the constant half has the one colour of the colour map at its value
    # (Normalize(1, 2) puts 1.0 at the low end of viridis)
    low = np.array(mpl.colormaps[RASTER_KINDS["cost_distance"].cmap](0.0)[:3])
    assert (np.all(np.abs(img - low) < 0.02, axis=-1)).sum() > 0.05 * is_grey.size


def test_describe_raster_by_name_folder_and_tags() -> None:
    kind, sp = describe_raster("run/connectivity/Equus_hemionus/normalized_current.tif")
    assert (kind.quantity, kind.scale, kind.center, sp) == (
        "normalized current", "diverging", 1.0, "Equus hemionus")
    kind, sp = describe_raster("ssf_resistance_Saiga_tatarica.tif")
    assert kind.quantity == "resistance from step selection" and sp == "Saiga tatarica"
    kind, sp = describe_raster("my_map.tif", {"quantity": "density", "units": "per km²",
                                              "species": "Ovis ammon"})
    assert (kind.quantity, kind.units, sp) == ("density", "per km²", "Ovis ammon")
    assert describe_raster("misc/thing.tif")[0].quantity == "thing"


def test_scale_bar_lengths_are_round() -> None:
    assert [_nice(x) for x in (3.7, 12, 0.26, 999)] == [2, 10, 0.2, 500]
    assert _nice(1e-3) == pytest.approx(1e-3)
    assert math.isclose(_nice(55.0), 50.0)


def test_quicklook_errors(tmp_path: Path) -> None:
    tif = _tif(tmp_path / "resistance.tif", np.ones((5, 5)))
    raster_quicklook(tif)
    with pytest.raises(OutputExistsError):
        raster_quicklook(tif)
    raster_quicklook(tif, overwrite=True)
    not_raster = tmp_path / "table.tif"
    not_raster.write_text("species,km\n")
    with pytest.raises(LayerReadError, match=r"table\.tif is not a readable raster"):
        raster_quicklook(not_raster)


def test_finish_writes_quicklooks_and_project_once(tmp_path: Path) -> None:
    _tif(tmp_path / "current.tif", np.arange(25.0).reshape(5, 5))
    _tif(tmp_path / "maps" / "Saiga_tatarica" / "resistance.tif", np.ones((5, 5)))
    (tmp_path / ".staging-1").mkdir()  # hidden folders are not outputs
    _tif(tmp_path / ".staging-1" / "x.tif", np.ones((3, 3)))
    added = {p.relative_to(tmp_path).as_posix() for p in finish_outputs(tmp_path)}
    assert added == {"current_quicklook.png", "current.qml", "project.qgz",
                     "maps/Saiga_tatarica/resistance_quicklook.png",
                     "maps/Saiga_tatarica/resistance.qml"}
    derived = set(derived_names(["current.tif", "maps/Saiga_tatarica/resistance.tif"]))
    assert derived == added | {"atlas_versions.csv"}  # written when the job names its atlas
    assert write_quicklooks(tmp_path) == []  # each raster has its quick-look already
    assert quicklook_path("a/b.tif") == Path("a/b_quicklook.png")


def test_contact_sheet_links_every_picture(tmp_path: Path) -> None:
    pngs = [tmp_path / f"p{i}.png" for i in range(4)]
    md = contact_sheet_markdown(pngs, tmp_path, columns=3)
    rows = [r for r in md.splitlines() if r.startswith("| [")]
    assert len(rows) == 2  # 3 + 1
    for i in range(4):
        assert f'[<img src="p{i}.png" width="260">](p{i}.png)<br>p{i}' in md
    assert contact_sheet_markdown([], tmp_path) == ""
