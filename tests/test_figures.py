"""Tests of cami_atlas.figures: what is drawn matches the data (counts, widths, colours)."""

from __future__ import annotations

import io

import geopandas as gpd
import matplotlib.colors as mcolors
import matplotlib.image as mimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.figure import Figure
from shapely import LineString, MultiLineString, box

from cami_atlas.errors import (
    CRSError,
    EmptyLayerError,
    MissingColumnError,
    SchemaError,
    UnknownValueError,
)
from cami_atlas.figures import (
    BARRIER_CLASS_COLORS,
    GI_CLASS_COLORS,
    class_km_figure,
    figure_png,
    hotspot_figure,
    range_barrier_figure,
)

CRS = "ESRI:102025"


@pytest.fixture
def ranges() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"species": ["Saiga_tatarica", "Procapra_gutturosa"]},
        geometry=[box(0, 0, 100_000, 100_000), box(500_000, 0, 600_000, 100_000)], crs=CRS)


@pytest.fixture
def infra() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"infra_type": ["railway", "road", "fence", "road"],
         "barrier_class": ["complete barrier", "partial barrier", "not a barrier", "unknown"]},
        geometry=[
            LineString([(-10_000, 50_000), (110_000, 50_000)]),            # crosses the range
            MultiLineString([[(20_000, 10_000), (20_000, 90_000)],         # two parts inside
                             [(60_000, 10_000), (60_000, 90_000)]]),
            LineString([(103_000, -2_000), (104_000, 102_000)]),            # in view, outside
            LineString([(400_000, 0), (450_000, 0)]),                       # out of view
        ], crs=CRS)


def _lines(fig: Figure) -> dict[str, LineCollection]:
    return {c.get_label(): c for c in fig.axes[0].collections if isinstance(c, LineCollection)}


def test_range_barrier_figure_draws_each_class_once(ranges, infra):
    fig = range_barrier_figure(ranges, infra, species="saiga tatarica")
    lines = _lines(fig)
    # complete and partial touch the range; the fence is in view (6 % margin) but away from it
    assert set(lines) == {"complete barrier", "partial barrier", "_not a barrier outside"}
    assert len(lines["complete barrier"].get_segments()) == 1
    assert len(lines["partial barrier"].get_segments()) == 2  # both parts of the MultiLineString
    for label, coll in lines.items():
        cls = label.strip("_").replace(" outside", "")
        assert mcolors.to_hex(coll.get_colors()[0]) == BARRIER_CLASS_COLORS[cls]
    assert lines["_not a barrier outside"].get_alpha() == pytest.approx(0.35)
    # the railway is clipped to the view: 6 % margin of the 100 km range on each side
    seg = lines["complete barrier"].get_segments()[0]
    assert seg[:, 0].min() == pytest.approx(-6_000) and seg[:, 0].max() == pytest.approx(106_000)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["complete barrier", "partial barrier", "not a barrier", "range"]
    assert fig.axes[0].get_title() == "Saiga tatarica"


def test_range_barrier_figure_reprojects_and_uses_the_matrix(ranges):
    rail = gpd.GeoDataFrame({"infra_type": ["railway", "railway"],
                             "track": ["double track", "single track"]},
                            geometry=[LineString([(10_000, 10_000), (90_000, 10_000)]),
                                      LineString([(10_000, 80_000), (90_000, 80_000)])],
                            crs=CRS).to_crs("EPSG:4326")
    fig = range_barrier_figure(ranges.to_crs("EPSG:6933"), rail, species="Saiga_tatarica")
    lines = _lines(fig)
    # 2017 matrix for Saiga spp.: double track complete, single track partial
    assert set(lines) == {"complete barrier", "partial barrier"}
    xy = lines["complete barrier"].get_segments()[0]
    # drawn back in ESRI:102025 metres: the ends where they were; in between the line
    # follows its course as stored (straight in lon/lat, so edges are densified before
    # reprojection), not the chord between its ends
    assert np.allclose(xy[[0, -1], 1], 10_000, atol=1.0)
    (lon0, lat0), (lon1, lat1) = rail.geometry.iloc[0].coords
    on_course = gpd.GeoSeries(gpd.points_from_xy([(lon0 + lon1) / 2], [(lat0 + lat1) / 2]),
                              crs="EPSG:4326").to_crs(CRS).iloc[0]
    mid = xy[np.argmin(np.abs(xy[:, 0] - on_course.x))]
    assert abs(mid[1] - on_course.y) < 1.0 and abs(on_course.y - 10_000) > 50


def test_range_barrier_figure_named_column(ranges, infra):
    data = infra.assign(Saiga_tatarica=["unknown"] * 4)
    assert set(_lines(range_barrier_figure(ranges, data, species="Saiga_tatarica"))) == {
        "unknown", "_unknown outside"}
    got = _lines(range_barrier_figure(ranges, data, species="Saiga_tatarica",
                                      barrier_column="barrier_class"))
    assert "complete barrier" in got


def test_range_barrier_figure_errors(ranges, infra):
    with pytest.raises(EmptyLayerError, match="no polygon of 'Equus_hemionus'"):
        range_barrier_figure(ranges, infra, species="Equus hemionus")
    with pytest.raises(MissingColumnError, match="no column 'species'"):
        range_barrier_figure(ranges.rename(columns={"species": "sp"}), infra, species="x")
    with pytest.raises(CRSError, match="no CRS"):
        range_barrier_figure(ranges.set_crs(None, allow_override=True), infra,
                             species="Saiga_tatarica")
    with pytest.raises(MissingColumnError, match="no column 'cls'"):
        range_barrier_figure(ranges, infra, species="Saiga_tatarica", barrier_column="cls")
    with pytest.raises(UnknownValueError, match="'wall'"):
        range_barrier_figure(ranges, infra.assign(barrier_class="wall"),
                             species="Saiga_tatarica")
    with pytest.raises(SchemaError, match="must hold Polygon"):
        range_barrier_figure(infra.assign(species="Saiga_tatarica"), infra,
                             species="Saiga_tatarica")
    with pytest.raises(SchemaError, match="must be a GeoDataFrame"):
        range_barrier_figure(pd.DataFrame(), infra, species="Saiga_tatarica")


@pytest.fixture
def lengths() -> pd.DataFrame:
    return pd.DataFrame({
        "species": ["Saiga_tatarica"] * 4 + ["Procapra_gutturosa"],
        "infra_type": ["road", "road", "railway", "road", "road"],
        "barrier_class": ["partial barrier", "partial barrier", "complete barrier", "unknown",
                          "complete barrier"],
        "length_km": [10.0, 2.5, 7.0, 1.0, 100.0],
    })


def test_class_km_figure_bar_widths(lengths):
    fig = class_km_figure(lengths, species="Saiga tatarica")
    ax = fig.axes[0]
    bars = {lab.get_text(): float(p.get_width())
            for lab, p in zip(ax.get_yticklabels(), ax.patches, strict=True)}
    assert bars == {"unknown": 1.0, "partial barrier": 12.5, "complete barrier": 7.0}
    colours = [mcolors.to_hex(p.get_facecolor()) for p in ax.patches]
    assert colours == [BARRIER_CLASS_COLORS[c] for c in bars]
    # all species: the gazelle's 100 km are added
    all_bars = [float(p.get_width()) for p in class_km_figure(lengths).axes[0].patches]
    assert sorted(all_bars) == [1.0, 12.5, 107.0]


def test_class_km_figure_by_type_stacks_classes(lengths):
    fig = class_km_figure(lengths, species="Saiga_tatarica", by="infra_type")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["road", "railway"]  # sorted so the most complete-barrier km is on top
    totals: dict[float, float] = {}
    for p in ax.patches:
        y = round(p.get_y() + p.get_height() / 2)
        totals[y] = max(totals.get(y, 0.0), p.get_x() + p.get_width())
    assert totals == {0: pytest.approx(13.5), 1: pytest.approx(7.0)}
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "unknown", "partial barrier", "complete barrier"]


def test_class_km_figure_errors(lengths):
    with pytest.raises(MissingColumnError, match="length_km"):
        class_km_figure(lengths.drop(columns="length_km"))
    with pytest.raises(MissingColumnError, match="'layer'"):
        class_km_figure(lengths, by="layer")
    with pytest.raises(UnknownValueError, match="'wall'"):
        class_km_figure(lengths.assign(barrier_class="wall"))
    with pytest.raises(SchemaError, match="must be a DataFrame"):
        class_km_figure([1, 2])


@pytest.fixture
def cells() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"gi_class": ["hot spot 99%", "hot spot 95%", "not significant", "cold spot 90%"],
         "score": [1.0, 0.5, np.nan, 0.0],
         "transboundary": [True, False, False, False]},
        geometry=[box(i * 10_000, 0, (i + 1) * 10_000, 10_000) for i in range(4)], crs=CRS)


def test_hotspot_figure_gi_classes(cells):
    fig = hotspot_figure(cells)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["hot spot 99%", "hot spot 95%", "not significant", "cold spot 90%"]
    fills = [mcolors.to_hex(c.get_facecolor()[0]) for c in ax.collections[:4]]
    assert fills == [GI_CLASS_COLORS[c] for c in legend]
    outline = ax.collections[4]  # the transboundary cell, black edge, no fill
    assert len(outline.get_paths()) == 1
    assert mcolors.to_hex(outline.get_edgecolor()[0]) == "#000000"


def test_hotspot_figure_numeric_column(cells):
    fig = hotspot_figure(cells, column="score", highlight=None, cmap="viridis")
    assert len(fig.axes) == 2  # map + colour bar
    coll = next(c for c in fig.axes[0].collections if isinstance(c, PatchCollection))
    face = coll.get_facecolor()
    import matplotlib as mpl

    assert np.allclose(face[0], mpl.colormaps["viridis"](1.0))
    assert np.allclose(face[3], mpl.colormaps["viridis"](0.0))
    assert face[2][3] == 0.0  # NaN: transparent


def test_hotspot_figure_errors(cells):
    with pytest.raises(MissingColumnError, match="no column 'z'"):
        hotspot_figure(cells, column="z")
    with pytest.raises(UnknownValueError, match="'very hot'"):
        hotspot_figure(cells.assign(gi_class="very hot"))
    with pytest.raises(EmptyLayerError, match="no geometry"):
        hotspot_figure(cells.iloc[:0])


def test_figure_png_size():
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    png = figure_png(fig, dpi=50)
    assert mimg.imread(io.BytesIO(png)).shape[:2] == (100, 150)
    with pytest.raises(SchemaError, match="matplotlib Figure"):
        figure_png(b"png")
