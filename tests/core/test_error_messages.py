"""Error messages say what is wrong, what was received and how to fix it (issue 10.10)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine

from cami_atlas.errors import EmptyLayerError, LayerReadError, SchemaError
from cami_atlas.raster import Grid

T = Affine(1000, 0, 500_000, 0, -1000, 4_500_000)


def test_grid_of_three_dimensions_names_the_fix():
    with pytest.raises(SchemaError, match=r"got shape \(2, 3, 3\)\. Pass one band, e.g\. values\[0\]"):
        Grid(np.zeros((2, 3, 3)), T, "EPSG:32643")


def test_values_of_another_shape_name_both_shapes_and_the_fix():
    g = Grid(np.zeros((3, 3)), T, "EPSG:32643")
    with pytest.raises(SchemaError, match=r"values of shape \(2, 2\) do not fit a grid of "
                                          r"\(3, 3\); give an array of the grid's shape"):
        g.with_values(np.zeros((2, 2)))


def test_missing_band_lists_the_bands(tmp_path):
    path = Grid(np.ones((2, 2)), T, "EPSG:32643").to_geotiff(tmp_path / "one.tif")
    with pytest.raises(LayerReadError, match=r"has 1 band\(s\); band=3 is not one\. Choose a "
                                             r"band from 1 to 1\."):
        Grid.from_geotiff(path, band=3)


def test_patch_graph_missing_cores_says_what_the_matrix_needs():
    from cami_atlas.connectivity import patch_graph

    attrs = pd.Series([1.0, 2.0], index=["a", "b"])
    dist = pd.DataFrame([[0.0]], index=["a"], columns=["a"])
    with pytest.raises(SchemaError, match=r"lacks cores \['b'\]; its index and columns must hold"):
        patch_graph(attrs, dist)


def test_hotspot_figure_of_no_cells_says_how_to_build_them():
    from cami_atlas.figures import hotspot_figure

    cells = gpd.GeoDataFrame({"score": [], "gi_class": []}, geometry=[], crs="ESRI:102025")
    with pytest.raises(EmptyLayerError, match=r"build the cells with cami_atlas\.hotspots\.hex_grid"):
        hotspot_figure(cells)


def test_focal_id_column_missing_lists_the_columns():
    import shapely

    from cami_atlas.connectivity.circuit import focal_labels

    g = Grid(np.ones((3, 3)), T, "EPSG:32643")
    pts = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(501_500, 4_498_500)],
                           crs="EPSG:32643")
    with pytest.raises(SchemaError, match=r"has no column 'site'; its columns are name, "
                                          r"geometry: give one of them as id_column"):
        focal_labels(g, pts, id_column="site")


def test_raster_layer_with_vmax_below_vmin_says_how_to_fix():
    import folium

    from cami_atlas.maps.layers import add_raster

    g = Grid(np.arange(9.0).reshape(3, 3), T, "EPSG:32643")
    with pytest.raises(SchemaError, match=r"vmax \(1\.0\) is below vmin \(5\.0\); swap them"):
        add_raster(folium.Map(), g, vmin=5.0, vmax=1.0)


def test_qgis_raster_of_only_nodata_says_what_to_check(tmp_path):
    from cami_atlas.qgis import LayerSpec, write_qgis_project

    Grid(np.full((2, 2), np.nan), T, "EPSG:32643").to_geotiff(tmp_path / "empty.tif")
    with pytest.raises(SchemaError, match=r"every cell is nodata\); check the nodata value"):
        write_qgis_project(tmp_path, [LayerSpec(tmp_path / "empty.tif", "empty", "raster")])

