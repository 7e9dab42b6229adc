"""Per-cell metrics against independent computations (pyproj.Geod, hand counts); synthetic data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from pyproj import Geod, Transformer
from shapely import LineString, MultiLineString, Point, box

from cami_atlas.errors import (
    CRSError,
    EmptyLayerError,
    GeometryTypeError,
    MissingColumnError,
    SchemaError,
    UnknownValueError,
)
from cami_atlas.hotspots import (
    cell_infrastructure_km,
    cell_point_counts,
    cell_raster_mean,
    cell_species_count,
    hex_grid,
)
from cami_atlas.raster import Grid

ALBERS = "ESRI:102025"
GEOD = Geod(ellps="WGS84")
TO_LL = Transformer.from_crs(ALBERS, "EPSG:4326", always_xy=True)
TO_XY = Transformer.from_crs("EPSG:4326", ALBERS, always_xy=True)


def _xy(lon, lat):
    return TO_XY.transform(lon, lat)


@pytest.fixture(scope="module")
def cells():
    # hexagons of 30 km over a lon/lat box in Mongolia
    return hex_grid(box(100, 44, 104, 47), cell_km=30)


@pytest.fixture(scope="module")
def lines():
    """Synthetic railways in EPSG:4326: a meridian, a diagonal and a two-part line."""
    return gpd.GeoDataFrame(
        {"infra_type": ["railway", "road", "railway"],
         "Saiga_tatarica": ["complete barrier", "partial barrier", "unknown"],
         "Equus_hemionus": ["partial barrier", "not a barrier", "complete barrier"]},
        geometry=[LineString([(101.3, 44.6), (101.3, 46.4)]),
                  LineString([(100.4, 44.3), (101.2, 45.1), (103.7, 46.8)]),
                  MultiLineString([[(102.1, 45.0), (102.9, 45.3)], [(103.1, 44.5), (103.2, 45.9)]])],
        crs="EPSG:4326")


def _independent_km_per_cell(cells, line_ll):
    """Loop over cells: intersect in the cells' CRS, measure each piece with Geod.line_length.

    The line is straight in lon/lat (its CRS): it is cut every 0.005° (~0.5 km) before its
    vertices are projected, so its course, not the chords between its vertices, is cut.
    """
    line_ll = shapely.segmentize(line_ll, 0.005)
    xs, ys = _xy(*np.asarray(shapely.get_coordinates(line_ll)).T)
    parts = shapely.get_parts(line_ll)
    projected = []
    k = 0
    for p in parts:
        n = len(p.coords)
        projected.append(LineString(np.column_stack([xs[k:k + n], ys[k:k + n]])))
        k += n
    line_xy = shapely.union_all(projected) if len(projected) > 1 else projected[0]
    out = {}
    for cid, cell in zip(cells["cell_id"], cells.geometry, strict=True):
        piece = line_xy.intersection(cell)
        total = 0.0
        for seg in shapely.get_parts(piece):
            if seg.geom_type != "LineString" or seg.is_empty:
                continue
            lon, lat = TO_LL.transform(*np.asarray(seg.coords).T)
            total += GEOD.line_length(lon, lat) / 1000
        if total > 0:
            out[cid] = total
    return pd.Series(out)


def test_geodesic_km_per_cell_matches_pyproj_geod(cells, lines):
    table = cell_infrastructure_km(cells, lines[["infra_type", "geometry"]])
    assert list(table.columns) == ["cell_id", "infra_type", "length_km"]
    for i, t in enumerate(["railway", "road"]):
        got = table[table.infra_type == t].set_index("cell_id")["length_km"]
        sel = lines[lines.infra_type == t]
        expected = pd.concat([_independent_km_per_cell(cells, g) for g in sel.geometry])
        expected = expected.groupby(level=0).sum()
        assert set(got.index) == set(expected.index), i
        # the library cuts edges every 10 km (0.09°), the reference every 0.5 km: a piece's
        # ends move by metres (the chords of the undensified lines were off by up to 94 m)
        np.testing.assert_allclose(got.sort_index(), expected.sort_index(), rtol=1e-4,
                                   atol=0.005)


def test_cell_totals_add_up_to_the_geodesic_length_of_each_line(cells, lines):
    table = cell_infrastructure_km(cells, lines.iloc[[0]][["infra_type", "geometry"]])
    # a meridian is straight in the Albers projection: clipping keeps it on the meridian,
    # so the pieces add up exactly to the meridian arc 44.6 N - 46.4 N
    arc_km = GEOD.inv(101.3, 44.6, 101.3, 46.4)[2] / 1000
    assert table["length_km"].sum() == pytest.approx(arc_km, rel=1e-9)
    assert table["length_km"].sum() == pytest.approx(200.1, abs=0.1)  # ~111.2 km per degree


def test_species_and_classes_from_wide_columns(cells, lines):
    table = cell_infrastructure_km(cells, lines)
    assert list(table.columns) == ["cell_id", "infra_type", "species", "barrier_class",
                                   "length_km"]
    totals = table.groupby(["species", "barrier_class"])["length_km"].sum()
    plain = cell_infrastructure_km(cells, lines[["infra_type", "geometry"]])
    per_line = [cell_infrastructure_km(cells, lines.iloc[[i]][["infra_type", "geometry"]])
                ["length_km"].sum() for i in range(3)]
    assert totals["Saiga_tatarica", "complete barrier"] == pytest.approx(per_line[0])
    assert totals["Saiga_tatarica", "partial barrier"] == pytest.approx(per_line[1])
    assert totals["Equus_hemionus", "complete barrier"] == pytest.approx(per_line[2])
    assert totals.groupby(level=0).sum()["Equus_hemionus"] == pytest.approx(
        plain["length_km"].sum())


def test_long_layout_and_single_species_give_the_same_numbers(cells, lines):
    wide = cell_infrastructure_km(cells, lines)
    long_rows = []
    for sp in ("Saiga_tatarica", "Equus_hemionus"):
        part = lines[["infra_type", "geometry"]].copy()
        part["species"] = sp.replace("_", " ").lower()  # canonicalised
        part["barrier_class"] = lines[sp]
        long_rows.append(part)
    long = cell_infrastructure_km(cells, pd.concat(long_rows, ignore_index=True))
    pd.testing.assert_frame_equal(wide, long)
    one = lines[["infra_type", "geometry"]].assign(barrier_class=lines["Equus_hemionus"])
    single = cell_infrastructure_km(cells, one, species="Equus hemionus")
    pd.testing.assert_frame_equal(
        single, wide[wide.species == "Equus_hemionus"].reset_index(drop=True))


def test_km_in_range_is_cut_at_the_range_edge(cells, lines):
    # range: everything south of a straight line y = Y0 in the Albers plane
    y0 = _xy(101.3, 45.5)[1]
    x0, y_min = _xy(99, 43)
    x1, _ = _xy(106, 43)
    rng = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
                           geometry=[box(x0, y_min - 1e5, x1, y0)], crs=ALBERS)
    meridian = lines.iloc[[0]].drop(columns="Equus_hemionus")
    table = cell_infrastructure_km(cells, meridian, ranges=rng)
    # the meridian crosses y = Y0 at latitude 45.5 (same point by construction)
    expected = GEOD.inv(101.3, 44.6, 101.3, 45.5)[2] / 1000
    assert table["length_in_range_km"].sum() == pytest.approx(expected, rel=1e-7)
    assert table["length_km"].sum() == pytest.approx(GEOD.inv(101.3, 44.6, 101.3, 46.4)[2] / 1000)
    assert (table["length_in_range_km"] <= table["length_km"] + 1e-12).all()


def test_ranges_match_classification_through_matrix_synonyms(cells, lines):
    infra = lines.iloc[[0]][["infra_type", "geometry"]].assign(Saiga_spp="complete barrier")
    rng = gpd.GeoDataFrame({"species": ["Saiga tatarica"]},
                           geometry=[box(100, 44, 101.3 + 1, 45.0)], crs="EPSG:4326")
    table = cell_infrastructure_km(cells, infra, ranges=rng)
    assert set(table["species"]) == {"Saiga_spp"}
    assert 0 < table["length_in_range_km"].sum() < table["length_km"].sum()


def test_ranges_without_classification_give_one_row_per_species(cells, lines):
    rng = gpd.GeoDataFrame({"species": ["Saiga_tatarica", "Equus_hemionus"]},
                           geometry=[box(100, 44, 104, 47), box(100, 44, 101, 45)],
                           crs="EPSG:4326")
    table = cell_infrastructure_km(cells, lines[["infra_type", "geometry"]], ranges=rng)
    by_sp = table.groupby("species")[["length_km", "length_in_range_km"]].sum()
    assert by_sp.loc["Saiga_tatarica", "length_in_range_km"] == pytest.approx(
        by_sp.loc["Saiga_tatarica", "length_km"])  # range covers the whole grid
    assert by_sp.loc["Equus_hemionus", "length_in_range_km"] < by_sp.loc[
        "Equus_hemionus", "length_km"] / 3


def test_infrastructure_errors(cells, lines):
    with pytest.raises(MissingColumnError, match=r"no column 'infra_type'.*'infra_typ'"):
        cell_infrastructure_km(cells, lines.rename(columns={"infra_type": "infra_typ"}))
    with pytest.raises(UnknownValueError, match=r"'complete' \(1\).*Valid classes"):
        cell_infrastructure_km(cells, lines.assign(Saiga_tatarica=["complete", "unknown",
                                                                   "unknown"]))
    with pytest.raises(SchemaError, match=r"no 'species' column and no species was given"):
        cell_infrastructure_km(cells, lines[["infra_type", "geometry"]].assign(
            barrier_class="unknown"))
    rng = gpd.GeoDataFrame({"species": ["Capra_sibirica"]}, geometry=[box(100, 44, 104, 47)],
                           crs="EPSG:4326")
    with pytest.raises(SchemaError, match=r"classified for species \['Equus_hemionus', "
                       "'Saiga_tatarica'\\] but ranges has no polygon"):
        cell_infrastructure_km(cells, lines, ranges=rng)
    with pytest.raises(GeometryTypeError, match=r"infra must hold LineString"):
        cell_infrastructure_km(cells, gpd.GeoDataFrame(
            {"infra_type": ["road"]}, geometry=[Point(101, 45)], crs="EPSG:4326"))
    with pytest.raises(CRSError, match=r"infra has no CRS"):
        cell_infrastructure_km(cells, lines.set_crs(None, allow_override=True))
    with pytest.raises(GeometryTypeError, match=r"cells must hold polygons"):
        cell_infrastructure_km(lines, lines)
    with pytest.raises(EmptyLayerError, match=r"cells is empty"):
        cell_infrastructure_km(cells.iloc[:0], lines)
    with pytest.raises(SchemaError, match=r"must be a GeoDataFrame"):
        cell_infrastructure_km(cells, pd.DataFrame(lines.drop(columns="geometry")))


# ------------------------------------------------------------------------ species / points
SQUARES = gpd.GeoDataFrame({"cell_id": ["a", "b", "c"]},
                           geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10)],
                           crs=ALBERS, index=[7, 8, 9])


def test_species_count_by_hand():
    ranges = gpd.GeoDataFrame(
        {"species": ["Saiga_tatarica", "Saiga_tatarica", "Equus_hemionus", "Ovis_ammon"]},
        geometry=[box(1, 1, 4, 4), box(5, 5, 15, 8), box(20, 0, 40, 10), box(-5, 0, 0, 10)],
        crs=ALBERS)  # Ovis only touches cell a's edge
    corridors = gpd.GeoDataFrame({"species": ["Procapra_gutturosa"]},
                                 geometry=[LineString([(12, 5), (25, 5)])], crs=ALBERS)
    n = cell_species_count(SQUARES, ranges)
    assert n.name == "n_species" and list(n.index) == [7, 8, 9]
    assert n.tolist() == [1, 1, 1]
    assert cell_species_count(SQUARES, ranges, corridors).tolist() == [1, 2, 2]


def test_point_counts_by_hand():
    pts = gpd.GeoDataFrame(geometry=[Point(1, 1), Point(2, 2), Point(10, 5), Point(20, 10),
                                     Point(25, 5), Point(100, 100)], crs=ALBERS)
    counts = cell_point_counts(SQUARES, pts, name="crossings")
    assert counts.name == "crossings" and list(counts.index) == [7, 8, 9]
    # the point on the a|b edge goes to a, the point on the b|c corner to b, one is outside
    assert counts.tolist() == [3, 1, 1]
    assert counts.sum() == 5
    inner = pts.iloc[[0, 1, 4]].to_crs("EPSG:4326")  # points in another CRS are reprojected
    assert cell_point_counts(SQUARES, inner).tolist() == [2, 0, 1]
    with pytest.raises(GeometryTypeError, match=r"points must hold Point.*representative_point"):
        cell_point_counts(SQUARES, gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)])],
                                                    crs=ALBERS))


# ------------------------------------------------------------------------ rasters
def test_raster_mean_by_hand_same_crs():
    values = np.arange(12, dtype=float).reshape(3, 4)  # 5 m pixels over x 0..20, y 0..15
    values[0, 0] = np.nan
    values[2, 3] = np.inf
    g = Grid(values, Affine(5, 0, 0, 0, -5, 15), ALBERS)
    cells = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 15), box(10, 0, 20, 15), box(40, 40, 50, 50)],
                             crs=ALBERS)
    out = cell_raster_mean(cells, g, name="connectivity")
    # cell 1: pixels (r, c) with c in {0, 1}: 1, 4, 5, 8, 9 (0 is NaN)
    # cell 2: c in {2, 3}: 2, 3, 6, 7, 10 (11 is inf)
    assert out.iloc[0] == pytest.approx(np.mean([1, 4, 5, 8, 9]))
    assert out.iloc[1] == pytest.approx(np.mean([2, 3, 6, 7, 10]))
    assert np.isnan(out.iloc[2]) and out.name == "connectivity"


def test_raster_mean_other_crs_matches_points_in_polygons():
    cells = hex_grid(box(100, 44, 102, 46), cell_km=40)
    lon = np.arange(99.5, 102.5, 0.02)
    lat = np.arange(46.5, 43.5, -0.02)
    rng = np.random.default_rng(3)
    values = rng.random((len(lat), len(lon)))
    g = Grid(values, Affine(0.02, 0, 99.49, 0, -0.02, 46.51), "EPSG:4326")
    got = cell_raster_mean(cells, g)
    cx, cy = np.meshgrid(lon, lat)
    px, py = _xy(cx.ravel(), cy.ravel())
    pts = shapely.points(px, py)
    for i, cell in enumerate(cells.geometry):  # independent: pixel centres inside each cell
        inside = shapely.contains(cell, pts)
        assert got.iloc[i] == pytest.approx(values.ravel()[inside].mean(), rel=5e-3)


def test_raster_errors():
    with pytest.raises(CRSError, match=r"raster grid has no CRS"):
        cell_raster_mean(SQUARES, Grid(np.ones((2, 2)), Affine(5, 0, 0, 0, -5, 10), None))
    with pytest.raises(SchemaError, match=r"must be a cami_atlas.raster.Grid"):
        cell_raster_mean(SQUARES, np.ones((2, 2)))
