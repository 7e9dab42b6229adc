"""Interactive maps (folium / Leaflet) of the atlas and of analysis results.

* :func:`build_map` composes layers onto a map (layer control, scale bar, full-screen
  and measure controls) and returns the ``folium.Map`` so notebooks can add more;
* ``add_*`` helpers add one kind of layer each: :func:`add_ranges` (one toggleable
  layer per species), :func:`add_corridors`, :func:`add_infrastructure` (styled by
  type, coloured by barrier class for a species), :func:`add_choropleth` (hotspot
  cells, colour bar), :func:`add_points` (crossings, track events; clustered),
  :func:`add_raster` (a :class:`~cami_atlas.raster.Grid` as an image overlay with a
  colour bar), :func:`add_vector` (anything else);
* :func:`save_map` writes one HTML file, by default self-contained: Leaflet, the
  plugins, their CSS, images and fonts are inlined from copies vendored in the
  package, so the map opens in the field without internet;
* :func:`overview_map` draws an atlas (countries, borders, ranges, infrastructure).

All text shown in popups, tooltips, legends, titles and layer names is HTML-escaped.
Geometries are simplified and rounded for display (see :mod:`cami_atlas.maps.layers`).

Examples
--------
>>> import geopandas as gpd, shapely, tempfile, pathlib
>>> from cami_atlas.maps import build_map, add_points, save_map
>>> fences = gpd.GeoDataFrame({"infra_type": ["fence"], "barrier_class": ["complete barrier"]},
...     geometry=[shapely.LineString([(105, 44), (108, 45)])], crs="EPSG:4326")
>>> m = build_map([fences], title="Fences", basemap=None)
>>> pts = gpd.GeoDataFrame({"individual": ["G1"]}, geometry=[shapely.Point(106, 44.4)],
...                        crs="EPSG:4326")
>>> _ = add_points(m, pts, name="Crossings")
>>> path = save_map(m, pathlib.Path(tempfile.mkdtemp()) / "fences.html")
>>> path.stat().st_size > 500_000  # Leaflet and plugins inlined
True
"""

from __future__ import annotations

from .layers import (
    BARRIER_COLORS,
    BASEMAPS,
    COORD_DECIMALS,
    DEFAULT_SIMPLIFY_M,
    INFRA_STYLES,
    OUTSIDE_RANGE,
    OUTSIDE_RANGE_COLOR,
    MapLayer,
    add_choropleth,
    add_corridors,
    add_infrastructure,
    add_points,
    add_ranges,
    add_raster,
    add_vector,
    build_map,
    fix_view,
    layer_names,
)
from .offline import external_references, inline_assets, save_map, vendored_urls
from .overview import OVERVIEW_SIMPLIFY_M, REGION_MARGIN_DEG, overview_map

__all__ = [
    "BARRIER_COLORS",
    "BASEMAPS",
    "COORD_DECIMALS",
    "DEFAULT_SIMPLIFY_M",
    "INFRA_STYLES",
    "OUTSIDE_RANGE",
    "OUTSIDE_RANGE_COLOR",
    "OVERVIEW_SIMPLIFY_M",
    "REGION_MARGIN_DEG",
    "MapLayer",
    "add_choropleth",
    "add_corridors",
    "add_infrastructure",
    "add_points",
    "add_ranges",
    "add_raster",
    "add_vector",
    "build_map",
    "external_references",
    "fix_view",
    "inline_assets",
    "layer_names",
    "overview_map",
    "save_map",
    "vendored_urls",
]
