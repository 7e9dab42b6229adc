"""Grid <-> xarray.DataArray <-> COG round trips, and DataArrays in the connectivity API."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import CRS
from shapely import Point

from cami_atlas.connectivity import (
    circuit_all_to_one,
    circuit_one_to_all,
    circuit_pairwise,
    cost_distance,
    least_cost_corridors,
)
from cami_atlas.errors import CRSError, OptionError, OutputExistsError, SchemaError
from cami_atlas.interop import as_grid, grid_from_xarray, grid_to_xarray, write_cog
from cami_atlas.raster import Grid

xr = pytest.importorskip("xarray")
rioxarray = pytest.importorskip("rioxarray")


def _grid(crs="EPSG:32643", nodata=-9999.0, dtype="float64", name="resistance"):
    rng = np.random.default_rng(3)
    v = rng.uniform(1, 50, size=(7, 9)).astype(dtype)
    v[0, 0] = np.nan
    v[3, 4] = np.inf
    v[6, 8] = np.nan
    t = Affine(250.0, 0, 412_000.0, 0, -250.0, 4_720_000.0) if CRS.from_user_input(
        crs).is_projected else Affine(0.01, 0, 66.5, 0, -0.01, 48.2)
    return Grid(v, t, crs, nodata, name)


def _same_grid(a: Grid, b: Grid) -> None:
    np.testing.assert_array_equal(a.values, b.values)  # NaN == NaN here, inf kept
    assert a.values.dtype == b.values.dtype
    assert tuple(a.transform) == tuple(b.transform)
    assert a.crs == b.crs
    assert (a.nodata is None and b.nodata is None) or a.nodata == b.nodata
    assert a.name == b.name


@pytest.mark.parametrize("crs", ["EPSG:32643", "ESRI:102025", "EPSG:4326"])
@pytest.mark.parametrize("nodata", [-9999.0, None])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grid_dataarray_round_trip_keeps_everything(crs, nodata, dtype):
    g = _grid(crs, nodata, dtype)
    da = g.to_xarray()
    assert isinstance(da, xr.DataArray)
    # independent expectation: cell centres computed by hand from the transform
    a, c, e, f = g.transform.a, g.transform.c, g.transform.e, g.transform.f
    np.testing.assert_allclose(da.x.values, [c + (i + 0.5) * a for i in range(9)], rtol=0,
                               atol=1e-9)
    np.testing.assert_allclose(da.y.values, [f + (j + 0.5) * e for j in range(7)], rtol=0,
                               atol=1e-9)
    assert CRS.from_user_input(da.rio.crs.to_wkt()) == g.crs
    assert tuple(da.rio.transform()) == tuple(g.transform)
    assert da.rio.encoded_nodata == nodata or (nodata is None and da.rio.encoded_nodata is None)
    assert da.name == "resistance"
    _same_grid(Grid.from_xarray(da), g)


def test_integer_grid_keeps_dtype_without_nodata():
    g = Grid(np.arange(12, dtype="int32").reshape(3, 4), Affine(10, 0, 0, 0, -10, 30),
             "EPSG:32643", None, "labels")
    back = grid_from_xarray(grid_to_xarray(g))
    _same_grid(back, g)


def test_dataarray_grid_dataarray_round_trip():
    x = np.array([500.5, 501.5, 502.5])
    y = np.array([10.5, 9.5])
    da = xr.DataArray(np.array([[1.0, 2.0, np.nan], [4.0, 5.0, 6.0]]), dims=("y", "x"),
                      coords={"y": y, "x": x}, name="elev_m")
    da = da.rio.write_crs("EPSG:3857").rio.write_nodata(-1.0, encoded=True)
    g = grid_from_xarray(da)
    assert tuple(g.transform)[:6] == (1.0, 0.0, 500.0, 0.0, -1.0, 11.0)
    assert g.nodata == -1.0 and g.crs == CRS.from_epsg(3857) and g.name == "elev_m"
    back = grid_to_xarray(g)
    xr.testing.assert_equal(back.drop_vars("spatial_ref"), da.drop_vars("spatial_ref"))
    assert back.rio.crs == da.rio.crs and back.rio.encoded_nodata == -1.0


def test_open_rasterio_unmasked_nodata_becomes_nan(tmp_path):
    g = _grid()
    p = g.to_geotiff(tmp_path / "g.tif", dtype="float64")
    raw = rioxarray.open_rasterio(p)  # (band, y, x), nodata as a plain attribute
    assert raw.dims == ("band", "y", "x")
    from_xr = grid_from_xarray(raw)
    from_tif = Grid.from_geotiff(p)
    np.testing.assert_array_equal(from_xr.values, from_tif.values)
    assert tuple(from_xr.transform) == tuple(from_tif.transform)
    assert from_xr.crs == from_tif.crs and from_xr.nodata == -9999.0
    masked = grid_from_xarray(rioxarray.open_rasterio(p, masked=True))
    np.testing.assert_array_equal(masked.values, from_tif.values)
    assert masked.nodata == -9999.0


def test_south_up_and_sliced_dataarrays():
    g = _grid()
    da = g.to_xarray()
    flipped = grid_from_xarray(da.isel(y=slice(None, None, -1)))
    _same_grid(flipped, g)
    sub = grid_from_xarray(da.isel(x=slice(2, 5), y=slice(1, 4)))
    np.testing.assert_array_equal(sub.values, g.values[1:4, 2:5])
    assert tuple(sub.transform) == tuple(g.transform * Affine.translation(2, 1))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grid_dataarray_cog_round_trip(tmp_path, dtype):
    g = _grid(dtype=dtype)
    p = write_cog(g.to_xarray(), tmp_path / "r.tif", dtype=dtype)
    with rasterio.open(p) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.nodata == -9999.0 and ds.descriptions == ("resistance",)
    _same_grid(Grid.from_geotiff(p).with_values(Grid.from_geotiff(p).values.astype(dtype)), g)
    da = rioxarray.open_rasterio(p, masked=True)
    _same_grid(grid_from_xarray(da).with_values(grid_from_xarray(da).values.astype(dtype)), g)


def test_cog_tiles_and_overviews(tmp_path):
    g = Grid(np.ones((600, 700)), Affine(100, 0, 0, 0, -100, 60_000), "EPSG:32643")
    p = write_cog(g, tmp_path / "big.tif", blocksize=256)
    with rasterio.open(p) as ds:
        assert ds.block_shapes == [(256, 256)]
        assert ds.overviews(1) == [2, 4]  # 700 -> 350 -> 175 < 256
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"


def test_cog_atomic_and_no_overwrite(tmp_path):
    g = _grid()
    p = write_cog(g, tmp_path / "r.tif")
    before = p.read_bytes()
    with pytest.raises(OutputExistsError, match="exists already"):
        write_cog(g.with_values(g.values * 2), p)
    assert p.read_bytes() == before
    write_cog(g.with_values(g.values * 2), p, overwrite=True)
    assert Grid.from_geotiff(p).values[1, 1] == pytest.approx(g.values[1, 1] * 2, rel=1e-6)
    with pytest.raises(OptionError, match="compress='jpeg' is not valid"):
        write_cog(g, tmp_path / "c.tif", compress="jpeg")
    with pytest.raises(OptionError, match="blocksize=100"):
        write_cog(g, tmp_path / "c.tif", blocksize=100)
    with pytest.raises(TypeError):
        write_cog(g, tmp_path / "c.tif", dtype="no-such-type")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["r.tif"]  # no partial files


def test_dataarray_without_crs_is_a_clear_error():
    da = xr.DataArray(np.ones((2, 2)), dims=("y", "x"), coords={"y": [1.5, 0.5], "x": [0.5, 1.5]})
    with pytest.raises(CRSError, match=r"has no CRS.*rio\.write_crs"):
        grid_from_xarray(da)
    with pytest.raises(CRSError, match="resistance has no CRS"):
        cost_distance(da, np.array([[0, 0]]))


def test_other_bad_inputs():
    g = _grid()
    three = xr.concat([g.to_xarray(), g.to_xarray()], dim="band")
    with pytest.raises(SchemaError, match=r"2 values along 'band'.*isel\(band=0\)"):
        grid_from_xarray(three)
    with pytest.raises(SchemaError, match=r"must be a cami_atlas\.raster\.Grid or a georeferenced"):
        as_grid(np.ones((2, 2)), what="resistance")
    with pytest.raises(SchemaError, match=r"must be an xarray\.DataArray; got ndarray"):
        grid_from_xarray(np.ones((2, 2)))
    rotated = Grid(np.ones((2, 2)), Affine(10, 1, 0, 0, -10, 20), "EPSG:32643")
    with pytest.raises(SchemaError, match="rotated transform"):
        grid_to_xarray(rotated)


def test_connectivity_functions_accept_dataarrays():
    r = Grid(np.array([[2.0, 6.0], [1.0, 3.0]]), Affine(10, 0, 0, 0, -10, 20), "EPSG:32643")
    got = cost_distance(r.to_xarray(), np.array([[0, 0]]))
    # by hand: (2+6)/2*10 = 40; (2+1)/2*10 = 15; diagonal (2+3)/2*10*sqrt(2) = 35.36 vs
    # 15 + (1+3)/2*10 = 35
    assert got.values.tolist() == [[0.0, 40.0], [15.0, 35.0]]
    row = Grid(np.ones((1, 4)), Affine(1, 0, 0, 0, -1, 1), "EPSG:32643")
    pts = np.array([[0.5, 0.5], [3.5, 0.5]])
    res = circuit_pairwise(row.to_xarray(), pts, neighbours=4, method="direct")
    # four unit resistors in series between the two cell centres: 3 ohm
    assert res.resistances.iloc[0, 1] == pytest.approx(3.0)
    one = circuit_one_to_all(row.to_xarray(), pts, neighbours=4, method="direct")
    assert one.resistances["effective_resistance"].tolist() == pytest.approx([3.0, 3.0])
    allone = circuit_all_to_one(row.to_xarray(), pts, neighbours=4, method="direct")
    assert allone.resistances["mean_source_voltage"].tolist() == pytest.approx([3.0, 3.0])
    g = Grid(np.ones((3, 4)), Affine(100, 0, 0, 0, -100, 300), "EPSG:32643")
    cores = gpd.GeoDataFrame(geometry=[Point(50, 150), Point(350, 150)], crs="EPSG:32643")
    corr = least_cost_corridors(g.to_xarray(), cores)
    assert corr.pairs["cost_distance"].tolist() == [300.0]
    np.testing.assert_array_equal(corr.mosaic.values, least_cost_corridors(g, cores).mosaic.values)
