"""hex_grid: equal-area cells that tile the region (synthetic regions)."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely import Point, Polygon, box

from cami_atlas.errors import CRSError, EmptyLayerError, GeometryTypeError, OptionError
from cami_atlas.hotspots import hex_grid, hexagon_side_km, spatial_weights

ALBERS = "ESRI:102025"


def _grid(region, **kw):
    kw.setdefault("crs", ALBERS)
    kw.setdefault("region_crs", ALBERS)
    return hex_grid(region, **kw)


@pytest.mark.parametrize("shape", ["hexagon", "square"])
@pytest.mark.parametrize("cell_km", [7.5, 25.0])
def test_each_cell_area_is_cell_km_squared(shape, cell_km):
    cells = _grid(box(-60_000, 10_000, 90_000, 140_000), cell_km=cell_km, shape=shape)
    # planar area in the equal-area CRS, and the stored area_km2
    np.testing.assert_allclose(cells.area.to_numpy() / 1e6, cell_km**2, rtol=1e-12)
    np.testing.assert_allclose(cells["area_km2"], cell_km**2, rtol=1e-9)
    assert (cells.geom_type == "Polygon").all()
    n_vertices = shapely.get_num_coordinates(cells.geometry.values) - 1
    assert set(n_vertices) == {6 if shape == "hexagon" else 4}


def test_hexagon_geometry_matches_the_size_definition():
    cells = _grid(box(0, 0, 50_000, 50_000), cell_km=10)
    ring = np.asarray(cells.geometry.iloc[0].exterior.coords)
    sides = np.hypot(*np.diff(ring, axis=0).T)
    a = 10 * math.sqrt(2 / (3 * math.sqrt(3)))  # side of a hexagon of 100 km2
    np.testing.assert_allclose(sides, a * 1000, rtol=1e-12)
    assert hexagon_side_km(10) == pytest.approx(a)
    xs = ring[:, 0]
    assert xs.max() - xs.min() == pytest.approx(math.sqrt(3) * a * 1000)  # flat-to-flat


@pytest.mark.parametrize("shape", ["hexagon", "square"])
def test_clipped_cells_tile_the_region_exactly(shape):
    region = Polygon([(0, 0), (120_000, 10_000), (90_000, 95_000), (20_000, 70_000)])
    cells = _grid(region, cell_km=12, shape=shape, clip=True)
    union = shapely.union_all(cells.geometry.values)
    assert cells["area_km2"].sum() == pytest.approx(region.area / 1e6, rel=1e-9)  # no gap
    assert union.area == pytest.approx(cells.area.sum(), rel=1e-9)  # no overlap
    assert union.symmetric_difference(region).area < 1e-3 * 1e6  # < 0.001 km2


@pytest.mark.parametrize("shape", ["hexagon", "square"])
def test_whole_cells_cover_the_region_without_overlap(shape):
    region = Point(30_000, 40_000).buffer(45_000)
    cells = _grid(region, cell_km=15, shape=shape)
    union = shapely.union_all(cells.geometry.values)
    assert region.difference(union).area < 1.0  # m2: covered
    assert union.area == pytest.approx(cells.area.sum(), rel=1e-9)  # no overlaps
    # no cell only touches the region
    assert cells.geometry.intersection(region).area.min() > 0


@settings(max_examples=25, deadline=None)
@given(x0=st.floats(-2e6, 2e6), y0=st.floats(-2e6, 2e6), w=st.floats(5e3, 2e5),
       h=st.floats(5e3, 2e5), cell_km=st.floats(3, 40), square=st.booleans())
def test_property_clipped_areas_sum_to_region(x0, y0, w, h, cell_km, square):
    region = box(x0, y0, x0 + w, y0 + h)
    cells = _grid(region, cell_km=cell_km, clip=True, shape="square" if square else "hexagon")
    assert cells["area_km2"].sum() == pytest.approx(w * h / 1e6, rel=1e-6)
    assert cells["cell_id"].is_unique


def test_grid_is_anchored_at_the_crs_origin():
    a = _grid(box(0, 0, 60_000, 60_000), cell_km=10)
    b = _grid(box(30_000, 30_000, 100_000, 90_000), cell_km=10)
    common = a.merge(b[["cell_id", "geometry"]], on="cell_id", suffixes=("", "_b"))
    assert len(common) > 5
    assert shapely.equals_exact(common["geometry"].values,
                                gpd.GeoSeries(common["geometry_b"]).values, tolerance=0).all()


def test_neighbours_share_exact_vertices_so_queen_contiguity_works():
    cells = _grid(box(0, 0, 100_000, 100_000), cell_km=10)
    w = spatial_weights(cells, method="queen")
    card = np.array([w.cardinalities[i] for i in range(len(cells))])
    interior = cells.geometry.buffer(-1).within(box(15_000, 15_000, 85_000, 85_000))
    assert interior.sum() > 10
    assert (card[interior.to_numpy()] == 6).all()


def test_region_in_lon_lat_is_projected_and_areas_are_true_areas():
    # a 2 x 2 degree box in Mongolia given as a GeoDataFrame in EPSG:4326
    region = gpd.GeoDataFrame(geometry=[box(100, 46, 102, 48)], crs="EPSG:4326")
    cells = hex_grid(region, cell_km=20, clip=True)
    assert cells.crs.equals(ALBERS)
    # ellipsoidal area of the box (pyproj.Geod): edges are straight in lon/lat, so densify
    lon, lat = np.asarray(shapely.segmentize(box(100, 46, 102, 48), 0.001).exterior.coords).T
    true_km2 = abs(Geod(ellps="WGS84").polygon_area_perimeter(lon, lat)[0]) / 1e6
    assert cells["area_km2"].sum() == pytest.approx(true_km2, rel=1e-6)
    assert cells.attrs == {"cell_km": 20.0, "shape": "hexagon"}


def test_bare_geometry_defaults_to_lon_lat():
    cells = hex_grid(box(100, 46, 101, 47), cell_km=30)
    assert len(cells) > 0
    centre = gpd.GeoSeries([Point(100.5, 46.5)], crs="EPSG:4326").to_crs(ALBERS).iloc[0]
    assert cells.contains(centre).sum() == 1


def test_errors():
    with pytest.raises(CRSError, match=r"projected equal-area CRS"):
        hex_grid(box(0, 0, 1, 1), cell_km=10, crs="EPSG:4326")
    with pytest.raises(OptionError, match=r"cell_km must be a positive"):
        _grid(box(0, 0, 1, 1), cell_km=0)
    with pytest.raises(OptionError, match=r"shape='hex' is not valid.*'hexagon'"):
        _grid(box(0, 0, 1, 1), cell_km=10, shape="hex")
    with pytest.raises(CRSError, match=r"region has no CRS"):
        hex_grid(gpd.GeoSeries([box(0, 0, 1, 1)]), cell_km=10)
    with pytest.raises(EmptyLayerError, match=r"no polygon"):
        _grid(Point(0, 0), cell_km=10)
    with pytest.raises(GeometryTypeError, match=r"shapely geometry, GeoSeries or GeoDataFrame"):
        hex_grid([0, 0, 1, 1], cell_km=10)
