"""Barrier job: effective mesh size without and with the barriers (hand case), and the
plots of the tables drawing exactly the table values."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely import LineString, box

from cami_atlas.atlas import Atlas
from cami_atlas.measure import EQUAL_AREA_CRS
from cami_atlas.pipeline.barriers import analyse_atlas, plot_tables, run_barriers


@pytest.fixture(scope="module")
def two_part_atlas() -> Atlas:
    """Synthetic: a saiga range of two boxes; a single-track railway (a partial barrier to
    saiga in the CAMI matrix) cuts the eastern box in two along lon 66."""
    atlas = Atlas("two-part synthetic")
    rng = gpd.GeoDataFrame({"species": ["Saiga_tatarica"] * 2},
                           geometry=[box(60, 45, 62, 47), box(65, 45, 67, 46)], crs="EPSG:4326")
    atlas.add_layer("saiga_range", rng, "species_range", source="synthetic", licence="CC0-1.0")
    rail = gpd.GeoDataFrame({"infra_type": ["railway"], "track": ["single track"]},
                            geometry=[LineString([(66, 44.5), (66, 46.5)])], crs="EPSG:4326")
    atlas.add_layer("rail", rail, "infrastructure", source="synthetic", licence="CC0-1.0")
    land = gpd.GeoDataFrame({"iso3": ["KAZ"], "name": ["Kazakhstan"]},
                            geometry=[box(59, 44, 68, 48)], crs="EPSG:4326")
    atlas.add_layer("countries", land, "country", source="synthetic", licence="CC0-1.0")
    return atlas


def _area_km2(*geoms) -> list[float]:
    dense = [shapely.segmentize(g, 0.01) for g in geoms]
    return list(gpd.GeoSeries(dense, crs="EPSG:4326").to_crs(EQUAL_AREA_CRS).area / 1e6)


def test_effective_mesh_size_before_and_after(two_part_atlas: Atlas) -> None:
    res = analyse_atlas(two_part_atlas)
    cut = res.fragmentation.set_index("procedure").loc["CUT"]
    west, east_w, east_e = _area_km2(box(60, 45, 62, 47), box(65, 45, 66, 46),
                                     box(66, 45, 67, 46))
    total = west + east_w + east_e
    before = (west**2 + (east_w + east_e) ** 2) / total  # two parts, no line
    after = (west**2 + east_w**2 + east_e**2) / total  # the railway splits the east part
    assert cut["m_eff_without_barriers_km2"] == pytest.approx(before, rel=1e-4)
    assert cut["m_eff_km2"] == pytest.approx(after, rel=1e-4)
    assert cut["m_eff_km2"] < cut["m_eff_without_barriers_km2"] < cut["area_km2"]


def test_plots_draw_the_table_values(two_part_atlas: Atlas, tmp_path: Path) -> None:
    res = analyse_atlas(two_part_atlas)
    figs = plot_tables(res)
    assert sorted(figs) == ["effective_mesh_size.png", "km_by_country.png",
                            "km_by_species.png"]
    ax = figs["km_by_species.png"]().axes[0]
    drawn = sum(p.get_width() for p in ax.patches)
    # independent: the railway's geodesic length inside the range (1 degree of latitude
    # from 45 to 46 N at 66 E)
    from pyproj import Geod

    km = Geod(ellps="WGS84").line_length([66, 66], [45, 46]) / 1000
    assert drawn == pytest.approx(km, rel=1e-6)
    assert res.lengths["length_km"].sum() == pytest.approx(km, rel=1e-6)
    mesh = figs["effective_mesh_size.png"]().axes[0]
    widths = sorted(p.get_width() for p in mesh.patches)
    cut = res.fragmentation[res.fragmentation["procedure"] == "CUT"].iloc[0]
    assert widths == pytest.approx(sorted([cut["m_eff_km2"], cut["m_eff_without_barriers_km2"]]))
    # the job writes them, and the QGIS project and styles of its layers
    _, paths = run_barriers(two_part_atlas, tmp_path / "out")
    names = {p.name for p in paths}
    assert {"effective_mesh_size.png", "km_by_country.png", "km_by_species.png"} <= names
    assert (tmp_path / "out" / "project.qgz").exists()
    assert (tmp_path / "out" / "classified_segments.qml").exists()
    assert pd.read_csv(tmp_path / "out" / "fragmentation.csv")[
        "m_eff_without_barriers_km2"].notna().all()
