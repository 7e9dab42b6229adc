"""Interactive maps (folium / Leaflet): one builder plus helpers that add layers.

:func:`build_map` makes a map with a scale bar, full-screen and measure controls and
a layer control, adds the given layers and returns the ``folium.Map`` so a notebook
can add more (with the ``add_*`` helpers or folium itself; the layer control lists
layers added later too). :func:`~cami_atlas.maps.save_map` writes it to one HTML file.

Display simplification
----------------------
Vector layers are drawn in EPSG:4326 after two reductions that keep files small:

* Douglas-Peucker simplification with topology preserved (``shapely.simplify``),
  tolerance ``simplify_m`` metres applied as ``simplify_m / 111 320`` degrees, so no
  vertex moves by more than about ``simplify_m`` metres (less east-west away from the
  equator). Default :data:`DEFAULT_SIMPLIFY_M` (100 m); ``None`` or 0 switches it off.
* Coordinates rounded to :data:`COORD_DECIMALS` (5) decimals: at most 0.56 m.

These affect only the drawing, never the data of the caller.

Escaping
--------
Every attribute value, column name, layer name, legend caption and title shown in the
page is HTML-escaped on the Python side (a species named ``<script>`` shows as that
text). Layer names in the layer control are escaped too, so ``Layer.layer_name`` of a
layer added here holds the escaped text.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import matplotlib as mpl
import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import shapely
from folium.plugins import Fullscreen, MeasureControl
from pyproj import CRS, Transformer

from .._options import check_option
from ..errors import CRSError, GeometryTypeError, SchemaError, UnknownValueError
from ..figures import Classifier, matrix_classifier
from ..raster import Grid
from ..schema import BARRIER_CLASSES
from ._elements import (
    ClusteredPoints,
    DeferredLayerControl,
    Legend,
    Panes,
    StyleSheet,
    Title,
    VectorFeatures,
)
from ._html import (
    PopupTable,
    categorical_legend,
    colorbar_legend,
    esc,
    format_value,
    popup_table,
    require_columns,
    script_json,
    swatch,
    text_column,
)

__all__ = [
    "BARRIER_COLORS",
    "BASEMAPS",
    "COORD_DECIMALS",
    "DEFAULT_SIMPLIFY_M",
    "INFRA_STYLES",
    "OUTSIDE_RANGE",
    "OUTSIDE_RANGE_COLOR",
    "MapLayer",
    "add_choropleth",
    "add_corridors",
    "add_infrastructure",
    "add_points",
    "add_ranges",
    "add_raster",
    "add_vector",
    "build_map",
    "fix_view",
    "layer_names",
]

#: Default display simplification tolerance, metres.
DEFAULT_SIMPLIFY_M = 100.0
#: Decimals kept in displayed lon/lat coordinates (1e-5 degree <= 1.1 m).
COORD_DECIMALS = 5
_M_PER_DEGREE = 111_320.0

#: Basemaps accepted by :func:`build_map` (xyzservices names known to folium).
BASEMAPS: tuple[str, ...] = ("OpenStreetMap", "CartoDB positron", "CartoDB voyager",
                             "OpenTopoMap", "Esri.WorldImagery")

#: Line colour of each barrier class (``cami_atlas.schema.BARRIER_CLASSES``).
BARRIER_COLORS: dict[str, str] = {
    "complete barrier": "#d7191c",
    "partial barrier": "#fdae61",
    "not a barrier": "#1a9641",
    "unknown": "#7f7f7f",
}

#: Class value of a segment that does not cross the mapped species' range (∪ corridor):
#: it has no barrier class for that species and is drawn grey (:func:`add_infrastructure`).
OUTSIDE_RANGE = "outside range"
#: Line colour of :data:`OUTSIDE_RANGE` segments (lighter than ``unknown``).
OUTSIDE_RANGE_COLOR = "#bdbdbd"

#: Line style of each infrastructure type (colour used when no barrier class is shown).
INFRA_STYLES: dict[str, dict[str, Any]] = {
    "road": {"color": "#444444", "weight": 1.8},
    "railway": {"color": "#7b3294", "weight": 2.4, "dashArray": "8 5"},
    "fence": {"color": "#a6611a", "weight": 2.2, "dashArray": "2 5"},
    "pipeline": {"color": "#0571b0", "weight": 2.2, "dashArray": "10 4 2 4"},
    "canal": {"color": "#2b83ba", "weight": 2.4},
    "power_line": {"color": "#e66101", "weight": 1.5, "dashArray": "1 4"},
}
_OTHER_INFRA = {"color": "#666666", "weight": 2.0, "dashArray": "4 3"}
#: Line pattern of infrastructure that is not (yet) built, by ``status`` (overrides the type's
#: pattern so planned and proposed lines read as future at a glance).
STATUS_STYLES: dict[str, dict[str, Any]] = {
    "under construction": {"dashArray": "12 4"},
    "planned": {"dashArray": "12 8", "opacity": 0.75},
    "proposed": {"dashArray": "3 9", "opacity": 0.7},
}

_USE_CLASS_COLORS = {"high": "#08519c", "medium": "#3182bd", "low": "#9ecae1"}
_POLYGONS = ("Polygon", "MultiPolygon")
_LINES = ("LineString", "MultiLineString", "LinearRing")
_POINTS = ("Point", "MultiPoint")


# -- map -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MapLayer:
    """A layer for :func:`build_map`: the data, which ``add_*`` helper draws it, its options.

    ``kind``: ``"ranges"``, ``"corridors"``, ``"infrastructure"``, ``"choropleth"``,
    ``"points"``, ``"raster"`` or ``"vector"``; ``None`` infers it (a ``Grid`` is a
    raster; a GeoDataFrame with ``infra_type`` is infrastructure; polygons with
    ``species`` are ranges; points are points; else vector).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pts = gpd.GeoDataFrame(geometry=[shapely.Point(70, 45)], crs="EPSG:4326")
    >>> MapLayer(pts, name="Crossings").resolved_kind()
    'points'
    """

    data: Any
    kind: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None

    def resolved_kind(self) -> str:
        """The ``kind`` given, or the one inferred from the data."""
        if self.kind is not None:
            return check_option("kind", self.kind, tuple(_ADDERS))
        return _infer_kind(self.data)


def _infer_kind(data: Any) -> str:
    if isinstance(data, Grid):
        return "raster"
    if not isinstance(data, gpd.GeoDataFrame):
        raise SchemaError(
            f"a map layer is a GeoDataFrame or a cami_atlas.raster.Grid; got "
            f"{type(data).__name__}. Wrap it as MapLayer(data, kind=...) if needed.")
    types = set(data.geom_type.dropna())
    if "infra_type" in data.columns:
        return "infrastructure"
    if types and types <= set(_POLYGONS) and "species" in data.columns:
        return "ranges"
    if types and types <= set(_POINTS):
        return "points"
    return "vector"


def build_map(layers: Sequence[Any] = (), *, title: str | None = None,
              basemap: str | None = "OpenStreetMap", offline: bool = False,
              location: tuple[float, float] | None = None, zoom_start: int | None = None,
              measure: bool = True, fullscreen: bool = True,
              renderer: str = "svg") -> folium.Map:
    """A Leaflet map with the given layers, a layer control, scale bar, full-screen and
    measure controls.

    Parameters
    ----------
    layers : sequence of GeoDataFrame, Grid or MapLayer
        Drawn in order with the matching ``add_*`` helper (see :class:`MapLayer`).
    title : str, optional
        Shown at the top of the map and as the page title (escaped).
    basemap : str or None, default "OpenStreetMap"
        One of :data:`BASEMAPS`; ``None`` draws no tiles (a map that then makes no
        network request at all when saved self-contained).
    offline : bool, default False
        Mark the map as one that must open without internet: :func:`save_map` then
        refuses ``self_contained=False``. Basemap tiles, if any, still need a network.
    location, zoom_start : optional
        Initial centre (lat, lon) and zoom; by default the map fits its layers.
    measure, fullscreen : bool, default True
        Add the distance/area measure control and the full-screen button.
    renderer : {"svg", "canvas"}, default "svg"
        How Leaflet draws vector layers. SVG keeps rasters under polygons under lines
        under points in separate panes; ``"canvas"`` draws every vector layer on one
        canvas (polygons sent to the back, points to the front), a little quicker to
        load (10,000 lines: 1.3 s against 1.5 s, ``benchmarks/RESULTS.md``). Either
        way, keep a map to about 10,000 features (the default-atlas overview has ~10,000
        and loads in ~2 s); 50,000 take 20 s or more.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> roads = gpd.GeoDataFrame({"infra_type": ["road"]},
    ...     geometry=[shapely.LineString([(70, 45), (71, 46)])], crs="EPSG:4326")
    >>> m = build_map([roads], title="Roads", basemap=None)
    >>> [layer_names(m)]
    [['Infrastructure']]
    """
    if basemap is not None:
        check_option("basemap", basemap, BASEMAPS)
    check_option("renderer", renderer, ("svg", "canvas"))
    kwargs: dict[str, Any] = {"tiles": basemap, "control_scale": True,
                              "prefer_canvas": renderer == "canvas"}
    if location is not None:
        kwargs["location"] = list(location)
    if zoom_start is not None:
        kwargs["zoom_start"] = zoom_start
    m = folium.Map(**kwargs)
    m.options["max_zoom"] = 18  # marker clustering needs it, and with no tiles none is set
    m._cami_offline = bool(offline)
    m._cami_renderer = renderer
    m._cami_bounds = None
    m._cami_fit = location is None and zoom_start is None
    if m._cami_fit:
        m.location = [45.0, 75.0]  # until layers give bounds: the CAMI region
        m.options["zoom"] = 4
    _ensure_css(m)
    if title is not None:
        m.get_root().title = esc(title)
        m.add_child(Title(str(title)), name="cami_title")
    if fullscreen:
        Fullscreen(position="topleft").add_to(m)
    if measure:
        MeasureControl(position="topleft", primary_length_unit="kilometers",
                       secondary_length_unit="meters", primary_area_unit="hectares",
                       secondary_area_unit="sqmeters").add_to(m)
    m.add_child(DeferredLayerControl(collapsed=False), name="cami_layer_control")
    for item in layers:
        layer = item if isinstance(item, MapLayer) else MapLayer(item)
        options = dict(layer.options)
        if layer.name is not None:
            options.setdefault("name", layer.name)
        _ADDERS[layer.resolved_kind()](m, layer.data, **options)
    return m


def layer_names(m: folium.Map) -> list[str]:
    """Names of the toggleable overlay layers of ``m``, as the layer control shows them.

    Names are HTML-escaped text (see the module notes).

    Examples
    --------
    >>> layer_names(build_map(basemap=None))
    []
    """
    return [child.layer_name for child in m._children.values()
            if isinstance(child, folium.map.Layer) and child.control and child.overlay]


def _ensure_css(m: folium.Map) -> None:
    """Add the style sheet and the layer panes once (panes before any layer)."""
    if "cami_atlas_css" not in m._children:
        m.add_child(StyleSheet(), name="cami_atlas_css")
    if "cami_panes" not in m._children:
        m.add_child(Panes(), name="cami_panes", index=0)


def _extend_bounds(m: folium.Map, bounds: tuple[float, float, float, float] | None) -> None:
    """Grow the map's fitted bounds (lon/lat) and refit, unless a view was fixed."""
    if bounds is None or not getattr(m, "_cami_fit", False):
        return
    old = getattr(m, "_cami_bounds", None)
    if old is not None:
        bounds = (min(old[0], bounds[0]), min(old[1], bounds[1]),
                  max(old[2], bounds[2]), max(old[3], bounds[3]))
    m._cami_bounds = bounds
    west, south, east, north = bounds
    m.add_child(folium.map.FitBounds([[south, west], [north, east]]), name="cami_fit_bounds")


def fix_view(m: folium.Map, bounds: tuple[float, float, float, float]) -> None:
    """Show ``bounds`` (west, south, east, north; degrees) when the map opens; layers
    added later no longer move the view.

    Examples
    --------
    >>> m = build_map(basemap=None)
    >>> fix_view(m, (44, 23, 125, 56))
    """
    west, south, east, north = (float(v) for v in bounds)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise SchemaError(f"bounds must be (west, south, east, north) in degrees with "
                          f"west < east and south < north; got {bounds}.")
    m._cami_fit = False
    m._cami_bounds = (west, south, east, north)
    m.add_child(folium.map.FitBounds([[south, west], [north, east]]), name="cami_fit_bounds")


def _finish_layer(m: folium.Map, layer: folium.map.Layer) -> None:
    """Add the layer and keep the layer control after it."""
    m.add_child(layer)
    control = m._children.pop("cami_layer_control", None)
    if control is not None:
        m._children["cami_layer_control"] = control


# -- vector preparation ---------------------------------------------------------------------
def _check_frame(data: Any, what: str) -> gpd.GeoDataFrame:
    if not isinstance(data, gpd.GeoDataFrame):
        raise SchemaError(f"{what}: expected a GeoDataFrame, got {type(data).__name__}.")
    if data.crs is None:
        raise CRSError(
            f"{what} has no CRS; set the CRS the data is actually in "
            "(e.g. gdf.set_crs('EPSG:4326')) before mapping it.")
    return data


def _display(gdf: gpd.GeoDataFrame, what: str, *, simplify_m: float | None,
             allowed: tuple[str, ...] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Attributes and display geometries (EPSG:4326, simplified, rounded); empties dropped."""
    gdf = _check_frame(gdf, what)
    if simplify_m is not None and (not np.isfinite(simplify_m) or simplify_m < 0):
        raise SchemaError(f"simplify_m must be a finite number >= 0 (metres); got {simplify_m}.")
    geoms = gdf.geometry.to_crs("EPSG:4326").values.to_numpy() if not \
        CRS.from_user_input(gdf.crs).equals(CRS.from_epsg(4326)) else \
        gdf.geometry.values.to_numpy()
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = geoms[keep]
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).loc[keep]
    if allowed is not None and len(geoms):
        types = shapely.get_type_id(geoms)
        names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                          "MultiLineString", "MultiPolygon", "GeometryCollection"])[types]
        bad = sorted(set(names) - set(allowed))
        if bad:
            raise GeometryTypeError(
                f"{what} holds {', '.join(bad)} geometries; this layer draws "
                f"{', '.join(allowed)} only. Select or convert the geometries first.")
    if simplify_m:
        geoms = shapely.simplify(geoms, simplify_m / _M_PER_DEGREE, preserve_topology=True)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, COORD_DECIMALS))
    ok = ~shapely.is_empty(geoms)
    return attrs.loc[ok], geoms[ok]


def _bounds(geoms: np.ndarray) -> tuple[float, float, float, float] | None:
    if len(geoms) == 0:
        return None
    b = shapely.bounds(geoms)
    return (float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1])),
            float(np.nanmax(b[:, 2])), float(np.nanmax(b[:, 3])))


def _features_json(geoms: np.ndarray, props: list[dict[str, Any]]) -> str:
    """GeoJSON features (one string) from display geometries and per-feature properties."""
    geo = shapely.to_geojson(geoms)
    return ",".join('{"type":"Feature","geometry":' + g + ',"properties":' + script_json(p)
                    + "}" for g, p in zip(geo, props, strict=True))


def _table(attrs: pd.DataFrame, what: str, *, popup_columns: Sequence[str] | None,
           tooltip_column: str | None = None, figure_column: str | None = None,
           extra: Sequence[tuple[str, pd.Series]] = (), titles: pd.Series | None = None,
           tooltips: pd.Series | None = None, default_first: str | None = None,
           ) -> PopupTable:
    """Popup table of a layer: ``popup_columns`` (default: up to 12 columns, with
    ``default_first`` first), tooltip from ``tooltip_column`` or ``tooltips``."""
    if popup_columns is None:
        cols = [str(c) for c in attrs.columns if c not in (figure_column, default_first)]
        cols = ([default_first] if default_first is not None else []) + cols
        cols = cols[:12]
    else:
        cols = list(popup_columns)
    needed = cols + [c for c in (tooltip_column, figure_column) if c is not None]
    require_columns(attrs, needed, what, "popup_columns/tooltip_column/figure_column")
    if tooltip_column is not None:
        tooltips = text_column(attrs, tooltip_column)
    return popup_table(attrs, cols, extra=extra, titles=titles, tooltips=tooltips,
                       figure_column=figure_column)


def _first_column(attrs: pd.DataFrame, names: Sequence[str]) -> str | None:
    return next((n for n in names if n in attrs.columns), None)


def _palette(n: int) -> list[str]:
    cmap = mpl.colormaps["tab20" if n > 10 else "tab10"]
    return [mcolors.to_hex(cmap(i % cmap.N)) for i in range(n)]


def _check_color(color: str, option: str) -> str:
    try:
        return mcolors.to_hex(color)
    except ValueError as exc:
        raise SchemaError(f"{option}={color!r} is not a colour (use a name or '#rrggbb').") \
            from exc


def _pane(geoms: np.ndarray) -> str:
    """The pane of a layer: polygons if it has any, else lines, else points."""
    types = set(shapely.get_type_id(geoms).tolist())
    if types & {3, 6}:
        return "camiPolygons"
    if types & {1, 2, 5}:
        return "camiLines"
    return "camiPoints" if types else "camiLines"


def _add_features(m: folium.Map, geoms: np.ndarray, *, name: str, keys: pd.Series | str,
                  styles: dict[str, dict[str, Any]], table: PopupTable,
                  fill_colors: pd.Series | None = None, show: bool = True,
                  legend: str | None = None, label_html: str = "") -> folium.FeatureGroup:
    props = table.feature_props()
    key_list = [keys] * len(geoms) if isinstance(keys, str) else keys.tolist()
    codes, uniques = pd.factorize(pd.Series(key_list, dtype=object))
    styles = {str(i): styles[key] for i, key in enumerate(uniques)}  # short, text-free keys
    for prop, code in zip(props, codes.tolist(), strict=True):
        prop["k"] = str(code)
    if fill_colors is not None:
        for prop, color in zip(props, fill_colors.tolist(), strict=True):
            if color is not None:
                prop["c"] = color
    group = folium.FeatureGroup(name=label_html + esc(name), show=show)
    pane = _pane(geoms)
    if getattr(m, "_cami_renderer", "svg") == "canvas":
        # one canvas for every vector layer (a canvas per pane would catch the mouse
        # events of the panes under it): order by bringing layers to back or front
        order = {"camiPolygons": "bringToBack", "camiPoints": "bringToFront"}.get(pane)
        vf = VectorFeatures(_features_json(geoms, props), styles, table.js(), pane=None,
                            order=order)
    else:
        vf = VectorFeatures(_features_json(geoms, props), styles, table.js(), pane=pane)
    group.add_child(vf)
    _ensure_css(m)
    _finish_layer(m, group)
    if legend is not None:
        m.add_child(Legend(legend, layer=group))
    _extend_bounds(m, _bounds(geoms))
    return group


# -- public helpers -------------------------------------------------------------------------
def add_vector(m: folium.Map, gdf: gpd.GeoDataFrame, *, name: str = "Layer",
               color: str = "#3388ff", weight: float = 2.0, fill_opacity: float = 0.2,
               popup_columns: Sequence[str] | None = None, tooltip_column: str | None = None,
               figure_column: str | None = None, show: bool = True,
               simplify_m: float | None = DEFAULT_SIMPLIFY_M) -> folium.FeatureGroup:
    """Add any vector layer (points, lines, polygons) in one colour as one toggleable layer.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Any CRS (drawn in EPSG:4326).
    name : str
        Layer-control entry (escaped).
    color, weight, fill_opacity
        Leaflet path style.
    popup_columns : list of str, optional
        Columns in the popup table (default: the first 12 columns); ``[]`` for none.
    tooltip_column : str, optional
        Column shown on hover.
    figure_column : str, optional
        Column of per-feature figures (PNG bytes, matplotlib Figures or PNG data URIs)
        shown under the table.
    show : bool
        Whether the layer is on when the map opens.
    simplify_m : float or None
        Display simplification tolerance in metres (module notes).

    Returns
    -------
    folium.FeatureGroup
        The layer added.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> lakes = gpd.GeoDataFrame({"name": ["Balkhash"]},
    ...     geometry=[shapely.box(73, 45, 79, 47)], crs="EPSG:4326")
    >>> m = build_map(basemap=None)
    >>> add_vector(m, lakes, name="Lakes", tooltip_column="name").layer_name
    'Lakes'
    """
    attrs, geoms = _display(gdf, f"layer {name!r}", simplify_m=simplify_m)
    color = _check_color(color, "color")
    table = _table(attrs, f"layer {name!r}", popup_columns=popup_columns,
                   tooltip_column=tooltip_column, figure_column=figure_column)
    style = {"color": color, "weight": float(weight), "fillColor": color,
             "fillOpacity": float(fill_opacity), "opacity": 0.9, "radius": 5}
    return _add_features(m, geoms, name=name, keys="a", styles={"a": style}, table=table,
                         show=show)


def _species_label(value: Any) -> str:
    return str(value).replace("_", " ")


def add_ranges(m: folium.Map, ranges: gpd.GeoDataFrame, *, by: str | None = "species",
               name: str = "Range", colors: Mapping[str, str] | None = None,
               popup_columns: Sequence[str] | None = None, show: bool = True,
               simplify_m: float | None = DEFAULT_SIMPLIFY_M) -> list[folium.FeatureGroup]:
    """Add species ranges: one toggleable layer per value of ``by`` (one species each).

    Parameters
    ----------
    ranges : GeoDataFrame
        Polygons (kind ``species_range``), any CRS.
    by : str or None, default "species"
        Column that splits the ranges into layers; ``None``: one layer.
    name : str, default "Range"
        Layer names are ``"<name>: <value>"`` (underscores shown as spaces).
    colors : mapping, optional
        Colour per value of ``by``; default a qualitative palette.

    Returns
    -------
    list of folium.FeatureGroup

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> r = gpd.GeoDataFrame({"species": ["Saiga_tatarica", "Equus_hemionus"]},
    ...     geometry=[shapely.box(50, 45, 60, 50), shapely.box(60, 40, 70, 45)],
    ...     crs="EPSG:4326")
    >>> m = build_map(basemap=None)
    >>> [g.layer_name.split("</span>")[-1] for g in add_ranges(m, r)]
    ['Range: Equus hemionus', 'Range: Saiga tatarica']
    """
    what = "species ranges"
    attrs, geoms = _display(ranges, what, simplify_m=simplify_m, allowed=_POLYGONS)
    if by is not None:
        require_columns(attrs, [by], what, "by")
        values = attrs[by].astype(object).where(attrs[by].notna(), "(none)").astype(str)
    else:
        values = pd.Series(name, index=attrs.index)
    uniques = sorted(values.unique())
    palette = dict(zip(uniques, _palette(len(uniques)), strict=True))
    if colors:
        palette.update({str(k): _check_color(v, f"colors[{k!r}]") for k, v in colors.items()})
    labels = values.map(lambda v: esc(_species_label(v)))
    if popup_columns is None:
        popup_columns = [str(c) for c in attrs.columns if c != by][:10]
    table = _table(attrs, what, popup_columns=popup_columns, titles=labels, tooltips=labels)
    groups = []
    for value in uniques:
        sel = (values == value).to_numpy()
        color = palette[value]
        style = {"color": color, "weight": 1.5, "fillColor": color, "fillOpacity": 0.25}
        label = name if by is None else f"{name}: {_species_label(value)}"
        groups.append(_add_features(
            m, geoms[sel], name=label, keys="r", styles={"r": style},
            table=_subset(table, sel), show=show, label_html=_swatch_span(color)))
    return groups


def _subset(table: PopupTable, sel: np.ndarray) -> PopupTable:
    """The rows ``sel`` of a popup table (dictionaries shared)."""
    return PopupTable(
        table.cols, table.dicts, table.codes[sel], table.titles,
        None if table.title_codes is None else table.title_codes[sel], table.tips,
        None if table.tip_codes is None else table.tip_codes[sel],
        None if table.figures is None else [f for f, k in zip(table.figures, sel,
                                                              strict=True) if k])


def _swatch_span(color: str) -> str:
    return f'<span class="cami-swatch" style="background:{esc(color)}"></span>'


def add_corridors(m: folium.Map, corridors: gpd.GeoDataFrame, *, name: str = "Corridors",
                  popup_columns: Sequence[str] | None = None, show: bool = True,
                  simplify_m: float | None = DEFAULT_SIMPLIFY_M) -> folium.FeatureGroup:
    """Add migration corridors (polygons or route lines) as one toggleable layer,
    coloured by ``use_class`` (high / medium / low) where the column exists.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> c = gpd.GeoDataFrame({"species": ["Saiga_tatarica"], "use_class": ["high"]},
    ...     geometry=[shapely.LineString([(50, 45), (55, 48)])], crs="EPSG:4326")
    >>> add_corridors(build_map(basemap=None), c).layer_name
    'Corridors'
    """
    what = f"corridor layer {name!r}"
    attrs, geoms = _display(corridors, what, simplify_m=simplify_m,
                            allowed=_POLYGONS + _LINES)
    if "use_class" in attrs.columns:
        keys = attrs["use_class"].astype(object).where(
            attrs["use_class"].isin(list(_USE_CLASS_COLORS)), "other").astype(str)
    else:
        keys = pd.Series("other", index=attrs.index)
    colors = {**_USE_CLASS_COLORS, "other": "#6baed6"}
    styles = {k: {"color": c, "weight": 4.0, "fillColor": c, "fillOpacity": 0.35,
                  "opacity": 0.9} for k, c in colors.items()}
    tooltip = _first_column(attrs, ("species", "name", "use_class"))
    table = _table(attrs, what, popup_columns=popup_columns, tooltip_column=tooltip)
    present = [k for k in colors if (keys == k).any()]
    legend = None
    if "use_class" in attrs.columns and present:
        legend = categorical_legend(f"{name}: use class",
                                    [(swatch("polygon", styles[k]), k) for k in present])
    return _add_features(m, geoms, name=name, keys=keys, styles=styles, table=table,
                         show=show, legend=legend)


def _barrier_classes(infra: pd.DataFrame, full: gpd.GeoDataFrame, species: str | None,
                     barrier_column: str | None, what: str,
                     classify: Classifier | None = None) -> pd.Series | None:
    if barrier_column is not None:
        require_columns(infra, [barrier_column], what, "barrier_column")
        classes = infra[barrier_column]
    elif species is not None:
        column = next((c for c in (f"barrier_class_{species}", species) if c in infra.columns),
                      None)
        if column is not None:
            classes = infra[column]
        else:
            if classify is None:
                classify = matrix_classifier("add_infrastructure")
            classes = classify(full, species).reindex(infra.index).rename(
                f"barrier class for {species} (CAMI matrix)")
    elif "barrier_class" in infra.columns:
        classes = infra["barrier_class"]
    else:
        return None
    classes = classes.astype(object).where(classes.notna(), "unknown")
    bad = sorted(set(classes) - {*BARRIER_CLASSES, OUTSIDE_RANGE}, key=str)
    if bad:
        raise UnknownValueError(
            f"{what}: barrier classes {bad[:5]} are not among {list(BARRIER_CLASSES)} "
            f"or {OUTSIDE_RANGE!r} (column {classes.name!r}). Use "
            "cami_atlas.barriers.classify_barriers.")
    return classes.astype(str)


def add_infrastructure(m: folium.Map, infra: gpd.GeoDataFrame, *,
                       name: str = "Infrastructure", species: str | None = None,
                       barrier_column: str | None = None,
                       popup_columns: Sequence[str] | None = None,
                       tooltip_column: str | None = None, show: bool = True,
                       simplify_m: float | None = DEFAULT_SIMPLIFY_M,
                       classify: Classifier | None = None) -> folium.FeatureGroup:
    """Add linear infrastructure as one toggleable layer: dash pattern and width by
    ``infra_type`` (:data:`INFRA_STYLES`), colour by barrier class for a species
    (:data:`BARRIER_COLORS`) when one is known, else by type.

    The barrier class comes from ``barrier_column`` if given; else, with ``species``,
    from a column ``barrier_class_<species>`` or ``<species>`` or, failing both, from
    ``classify(infra, species)`` (e.g. :func:`cami_atlas.barriers.classify_barriers`;
    deprecated without ``classify``: the CAMI matrix, with a warning); else from a
    ``barrier_class`` column if present. A class value :data:`OUTSIDE_RANGE`
    (``"outside range"``: the segment does not cross the species' range, so it has no
    class for it) is drawn in light grey (:data:`OUTSIDE_RANGE_COLOR`) with its own
    legend entry; missing values are drawn as ``unknown``. With a ``status`` column,
    lines under construction, planned or proposed are drawn dashed (:data:`STATUS_STYLES`)
    with a legend entry per status; a missing status means existing.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> infra = gpd.GeoDataFrame(
    ...     {"infra_type": ["railway", "fence"],
    ...      "barrier_class": ["complete barrier", "partial barrier"]},
    ...     geometry=[shapely.LineString([(60, 45), (62, 46)]),
    ...               shapely.LineString([(61, 44), (61, 47)])], crs="EPSG:4326")
    >>> add_infrastructure(build_map(basemap=None), infra, name="Rail & fences").layer_name
    'Rail &amp; fences'
    """
    what = f"infrastructure layer {name!r}"
    full = _check_frame(infra, what)
    attrs, geoms = _display(full, what, simplify_m=simplify_m, allowed=_LINES)
    require_columns(attrs, ["infra_type"], what, "infra_type")
    types = attrs["infra_type"].astype(object).where(attrs["infra_type"].notna(), "other")
    types = types.astype(str)
    classes = _barrier_classes(attrs, full, species, barrier_column, what, classify)
    styles: dict[str, dict[str, Any]] = {}
    status = (attrs["status"].astype(object).where(attrs["status"].notna(), "existing")
              .astype(str) if "status" in attrs.columns else pd.Series("existing", attrs.index))
    keys = (types if classes is None else types + "|" + classes) + "#" + status
    for key in pd.unique(keys):
        tc, _, st = key.partition("#")
        t, _, cls = tc.partition("|")
        style = {**INFRA_STYLES.get(t, _OTHER_INFRA), "opacity": 0.9}
        if cls == OUTSIDE_RANGE:
            style.update(color=OUTSIDE_RANGE_COLOR, opacity=0.7)
        elif cls:
            style["color"] = BARRIER_COLORS[cls]
        style.update(STATUS_STYLES.get(st, {}))
        styles[key] = style
    tooltips = None
    if tooltip_column is None:
        tooltips = types.map(esc)
        if classes is not None:
            tooltips = tooltips + ": " + classes.map(esc)
    extra = []
    shown = popup_columns if popup_columns is not None else list(attrs.columns)[:12]
    if classes is not None and classes.name not in shown:
        label = f"barrier class ({_species_label(species)})" if species else "barrier class"
        extra.append((label, classes.map(esc)))
    table = _table(attrs, what, popup_columns=popup_columns, tooltip_column=tooltip_column,
                   tooltips=tooltips, extra=extra)
    entries = []
    present_types = [t for t in pd.unique(types)]
    if classes is not None:
        for cls in BARRIER_CLASSES[::-1]:
            if (classes == cls).any():
                entries.append((swatch("line", {"color": BARRIER_COLORS[cls], "weight": 3}),
                                cls))
        if (classes == OUTSIDE_RANGE).any():
            entries.append((swatch("line", {"color": OUTSIDE_RANGE_COLOR, "weight": 3}),
                            OUTSIDE_RANGE))
    for t in present_types:
        style = dict(INFRA_STYLES.get(t, _OTHER_INFRA))
        if classes is not None:
            style["color"] = "#333333"
        entries.append((swatch("line", style), t))
    for st, st_style in STATUS_STYLES.items():
        if (status == st).any():
            entries.append((swatch("line", {"color": "#333333", "weight": 2, **st_style}), st))
    title = name if species is None else f"{name} — barrier class for {_species_label(species)}"
    legend = categorical_legend(title, entries)
    return _add_features(m, geoms, name=name, keys=keys, styles=styles, table=table,
                         show=show, legend=legend)


def _norm(values: np.ndarray, vmin: float | None, vmax: float | None, scale: str,
          what: str) -> mcolors.Normalize:
    check_option("scale", scale, ("linear", "log"))
    finite = values[np.isfinite(values)]
    if scale == "log":
        finite = finite[finite > 0]
    lo = float(np.min(finite)) if vmin is None and finite.size else vmin
    hi = float(np.max(finite)) if vmax is None and finite.size else vmax
    if lo is None or hi is None:
        lo, hi = (1.0, 10.0) if scale == "log" else (0.0, 1.0)
    if scale == "log" and lo <= 0:
        raise SchemaError(f"{what}: scale='log' needs vmin > 0; got {lo}.")
    if hi < lo:
        raise SchemaError(f"{what}: vmax ({hi}) is below vmin ({lo}); swap them, or leave both "
                          "out to use the data range.")
    if hi == lo:
        hi = lo + (abs(lo) * 1e-9 or 1.0)
    return mcolors.LogNorm(lo, hi) if scale == "log" else mcolors.Normalize(lo, hi)


def _colorbar(cmap: mcolors.Colormap, norm: mcolors.Normalize, caption: str,
              note: str | None = None) -> str:
    colors = [mcolors.to_hex(cmap(x)) for x in np.linspace(0, 1, 11)]
    lo, hi = norm.vmin, norm.vmax
    mid = float(np.sqrt(lo * hi)) if isinstance(norm, mcolors.LogNorm) else (lo + hi) / 2
    return colorbar_legend(caption, colors, [lo, mid, hi], note=note)


def _cmap(name: str) -> mcolors.Colormap:
    try:
        return mpl.colormaps[name]
    except KeyError as exc:
        raise SchemaError(
            f"cmap={name!r} is not a matplotlib colormap; e.g. 'viridis', 'magma', "
            "'YlOrRd', 'RdYlGn_r'.") from exc


def add_choropleth(m: folium.Map, cells: gpd.GeoDataFrame, column: str, *,
                   name: str | None = None, cmap: str = "YlOrRd", vmin: float | None = None,
                   vmax: float | None = None, scale: str = "linear",
                   caption: str | None = None, fill_opacity: float = 0.7,
                   popup_columns: Sequence[str] | None = None, show: bool = True,
                   simplify_m: float | None = None) -> folium.FeatureGroup:
    """Add polygons (e.g. hotspot cells) filled by a numeric ``column``, with a colour bar.

    Cells whose value is missing are drawn unfilled (outline only) and listed in the
    legend as "no data".

    Parameters
    ----------
    cells : GeoDataFrame
        Polygons with a numeric ``column``.
    cmap : str
        matplotlib colormap name.
    vmin, vmax : float, optional
        Colour range (default: the data's finite min and max).
    scale : {"linear", "log"}
    caption : str, optional
        Colour-bar caption (default: ``column``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> cells = gpd.GeoDataFrame({"score": [0.2, 0.9]},
    ...     geometry=[shapely.box(60, 45, 61, 46), shapely.box(61, 45, 62, 46)],
    ...     crs="EPSG:4326")
    >>> add_choropleth(build_map(basemap=None), cells, "score").layer_name
    'score'
    """
    name = column if name is None else name
    what = f"choropleth layer {name!r}"
    attrs, geoms = _display(cells, what, simplify_m=simplify_m, allowed=_POLYGONS)
    require_columns(attrs, [column], what, "column")
    if not (pd.api.types.is_numeric_dtype(attrs[column])
            and not pd.api.types.is_bool_dtype(attrs[column])):
        raise SchemaError(f"{what}: column {column!r} must be numeric; it is "
                          f"{attrs[column].dtype}.")
    values = attrs[column].to_numpy(dtype=float)
    norm = _norm(values, vmin, vmax, scale, what)
    colormap = _cmap(cmap)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.ma.filled(norm(np.where(np.isfinite(values), values, np.nan)), np.nan)
    rgba = colormap(np.clip(np.nan_to_num(scaled, nan=0.0), 0, 1))
    hexes = np.array([mcolors.to_hex(c) for c in rgba[:, :3]], dtype=object)
    valid = np.isfinite(values) & ~((scale == "log") & (values <= 0))
    fills = pd.Series(np.where(valid, hexes, None), index=attrs.index, dtype=object)
    keys = pd.Series(np.where(valid, "v", "n"), index=attrs.index)
    styles = {"v": {"color": "#555555", "weight": 0.6, "fillOpacity": float(fill_opacity)},
              "n": {"color": "#888888", "weight": 0.6, "fillOpacity": 0.0,
                    "dashArray": "3 3"}}
    tooltips = f"{esc(column)}: " + text_column(attrs, column)
    table = _table(attrs, what, popup_columns=popup_columns, tooltips=tooltips,
                   default_first=column)
    n_missing = int((~valid).sum())
    note = f"{n_missing} cell(s) without a value: outline only" if n_missing else None
    legend = _colorbar(colormap, norm, caption if caption is not None else column, note)
    return _add_features(m, geoms, name=name, keys=keys, styles=styles, table=table,
                         fill_colors=fills, show=show, legend=legend)


def add_points(m: folium.Map, points: gpd.GeoDataFrame, *, name: str = "Points",
               color_column: str | None = None, colors: Mapping[str, str] | None = None,
               color: str = "#e6550d", popup_columns: Sequence[str] | None = None,
               tooltip_column: str | None = None, figure_column: str | None = None,
               cluster: bool = True, show: bool = True) -> folium.map.Layer:
    """Add points (crossings, track events, ...) as clustered markers (MarkerCluster).

    Multi-points are drawn part by part with the attributes of their feature.

    Parameters
    ----------
    color_column : str, optional
        Category column: one colour per value (``colors`` or a palette) and a legend.
    cluster : bool, default True
        Cluster markers (Leaflet.markercluster); ``False`` draws circle markers.

    Returns
    -------
    folium.map.Layer
        The marker-cluster layer (or a FeatureGroup with ``cluster=False``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pts = gpd.GeoDataFrame({"kind": ["road", "rail"]},
    ...     geometry=[shapely.Point(70, 45), shapely.Point(71, 46)], crs="EPSG:4326")
    >>> add_points(build_map(basemap=None), pts, name="Crossings",
    ...            color_column="kind").layer_name
    'Crossings'
    """
    what = f"point layer {name!r}"
    gdf = _check_frame(points, what)
    if (gdf.geom_type == "MultiPoint").any():
        gdf = gdf.explode(index_parts=False)
    attrs, geoms = _display(gdf, what, simplify_m=None, allowed=("Point",))
    if color_column is not None:
        require_columns(attrs, [color_column], what, "color_column")
        cats = attrs[color_column].map(format_value)
        uniques = sorted(cats.unique())
        palette = dict(zip(uniques, _palette(len(uniques)), strict=True))
        if colors:
            palette.update({str(k): _check_color(v, f"colors[{k!r}]")
                            for k, v in colors.items()})
        index_of = {u: f"c{i}" for i, u in enumerate(uniques)}
        keys = cats.map(index_of)
        color_of = {index_of[u]: palette[u] for u in uniques}
        legend = categorical_legend(
            f"{name}: {color_column}",
            [(swatch("point", {"fillColor": palette[u]}), u or "(none)") for u in uniques])
    else:
        keys = pd.Series("c0", index=attrs.index)
        color_of = {"c0": _check_color(color, "color")}
        legend = None
    if tooltip_column is None:
        tooltip_column = color_column
    table = _table(attrs, what, popup_columns=popup_columns, tooltip_column=tooltip_column,
                   figure_column=figure_column)
    if not cluster:
        styles = {k: {"radius": 6, "color": "#222222", "weight": 1, "fillColor": c,
                      "fillOpacity": 0.9} for k, c in color_of.items()}
        return _add_features(m, geoms, name=name, keys=keys, styles=styles, table=table,
                             show=show, legend=legend)
    if "max_zoom" not in m.options and "maxZoom" not in m.options:
        m.options["max_zoom"] = 18  # Leaflet.markercluster fails on a map without it
    lon = shapely.get_x(geoms)
    lat = shapely.get_y(geoms)
    props = table.feature_props()
    for prop, key in zip(props, keys.tolist(), strict=True):
        prop["k"] = key
    data = [[y, x, prop] for y, x, prop in zip(lat.tolist(), lon.tolist(), props, strict=True)]
    layer = ClusteredPoints(data, color_of, table.js(), name=esc(name), show=show)
    _ensure_css(m)
    _finish_layer(m, layer)
    if legend is not None:
        m.add_child(Legend(legend, layer=layer))
    _extend_bounds(m, _bounds(geoms))
    return layer


def add_raster(m: folium.Map, grid: Grid, *, name: str | None = None, cmap: str = "viridis",
               vmin: float | None = None, vmax: float | None = None, scale: str = "linear",
               caption: str | None = None, opacity: float = 0.7, max_cells: int = 1_000_000,
               resampling: str = "nearest", show: bool = True) -> folium.raster_layers.ImageOverlay:
    """Add a raster (current, corridors, cost distance, ...) as an image overlay with a
    colour bar.

    The grid is warped to Web Mercator (EPSG:3857, what Leaflet draws), at a coarser
    cell if it would exceed ``max_cells``; non-finite cells (``NaN`` outside the study
    area, ``inf`` impassable) are transparent.

    Parameters
    ----------
    grid : cami_atlas.raster.Grid
    cmap : str
        matplotlib colormap name.
    vmin, vmax : float, optional
        Colour range (default: finite min and max).
    scale : {"linear", "log"}
        ``"log"`` suits current density; values <= 0 are then transparent.
    max_cells : int
        Upper bound of displayed cells.
    resampling : str
        ``cami_atlas.raster.Grid.to_crs`` resampling (``"nearest"`` keeps values).

    Returns
    -------
    folium.raster_layers.ImageOverlay

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> g = Grid(np.arange(12.0).reshape(3, 4), Affine(0.5, 0, 70, 0, -0.5, 46),
    ...          "EPSG:4326", name="cost")
    >>> add_raster(build_map(basemap=None), g).layer_name
    'cost'
    """
    if not isinstance(grid, Grid):
        raise SchemaError(f"add_raster needs a cami_atlas.raster.Grid; got "
                          f"{type(grid).__name__}.")
    name = name if name is not None else (grid.name or "Raster")
    what = f"raster layer {name!r}"
    if grid.crs is None:
        raise CRSError(f"{what} has no CRS; give the CRS the grid is actually in "
                       "(Grid(..., crs=...)).")
    if not (isinstance(max_cells, int | np.integer) and max_cells >= 4):
        raise SchemaError(f"max_cells must be an integer >= 4; got {max_cells!r}.")
    check_option("resampling", resampling, _RESAMPLING)
    lo_lat, hi_lat = _lat_range(grid)
    if lo_lat < -85.05 or hi_lat > 85.05:
        raise CRSError(f"{what} reaches latitude {lo_lat:.2f}..{hi_lat:.2f}; Web Mercator "
                       "maps stop at ±85.05°. Clip the grid first.")
    merc = _to_mercator(grid, max_cells, resampling)
    values = merc.values.astype(float)
    norm = _norm(values, vmin, vmax, scale, what)
    colormap = _cmap(cmap)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.ma.filled(norm(np.where(np.isfinite(values), values, np.nan)), np.nan)
    rgba = colormap(np.clip(np.nan_to_num(scaled, nan=0.0), 0, 1), bytes=True)
    transparent = ~np.isfinite(values) | ((scale == "log") & (values <= 0))
    rgba[..., 3] = np.where(transparent, 0, 255)
    west, south, east, north = merc.bounds
    to_ll = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    (w, e), (s, n) = to_ll.transform([west, east], [south, north])
    overlay = folium.raster_layers.ImageOverlay(
        _png_data_uri(rgba), bounds=[[float(s), float(w)], [float(n), float(e)]],
        opacity=float(opacity), name=esc(name), overlay=True, control=True, show=show,
        interactive=False, cross_origin=False, zindex=1, pane="camiRasters")
    _ensure_css(m)
    _finish_layer(m, overlay)
    n_inf = int(np.isinf(grid.values).sum())
    note = "transparent: outside study area" + (" or impassable (inf)" if n_inf else "")
    m.add_child(Legend(_colorbar(colormap, norm, caption if caption is not None else name,
                                 note), layer=overlay))
    _extend_bounds(m, (float(w), float(s), float(e), float(n)))
    return overlay


_RESAMPLING = ("nearest", "bilinear", "average", "max", "min")
#: Small grids are drawn on at least this many Web-Mercator pixels, so that cell edges
#: fall within a small fraction of a cell of where they are.
_MIN_DISPLAY_CELLS = 512 * 512


def _to_mercator(grid: Grid, max_cells: int, resampling: str) -> Grid:
    """``grid`` warped to EPSG:3857 on exactly its bounding box, with between
    ``min(max_cells, 512**2)`` and ``max_cells`` pixels (and at least its own count)."""
    import rasterio.warp
    from rasterio.enums import Resampling
    from rasterio.transform import from_bounds

    rows, cols = grid.shape
    west, south, east, north = rasterio.warp.transform_bounds(
        grid.crs, "EPSG:3857", *grid.bounds, densify_pts=21)
    n = min(max_cells, max(rows * cols, _MIN_DISPLAY_CELLS))
    aspect = (east - west) / (north - south)
    width = max(1, round(float(np.sqrt(n * aspect))))
    height = max(1, min(round(n / width), max_cells // width))
    transform = from_bounds(west, south, east, north, width, height)
    dst = np.full((height, width), np.nan)
    rasterio.warp.reproject(
        grid.values.astype("float64"), dst, src_transform=grid.transform, src_crs=grid.crs,
        dst_transform=transform, dst_crs="EPSG:3857", src_nodata=np.nan, dst_nodata=np.nan,
        resampling=Resampling[resampling])
    return Grid(dst, transform, "EPSG:3857", None, grid.name)


def _lat_range(grid: Grid) -> tuple[float, float]:
    left, bottom, right, top = grid.bounds
    xs = np.linspace(left, right, 21)
    ys = np.linspace(bottom, top, 21)
    gx, gy = np.meshgrid(xs, ys)
    t = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    _, lat = t.transform(gx.ravel(), gy.ravel())
    lat = np.asarray(lat)
    return float(np.nanmin(lat)), float(np.nanmax(lat))


def _png_data_uri(rgba: np.ndarray) -> str:
    import base64
    import io

    import matplotlib.image

    buf = io.BytesIO()
    matplotlib.image.imsave(buf, rgba, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


_ADDERS: dict[str, Any] = {
    "ranges": add_ranges,
    "corridors": add_corridors,
    "infrastructure": add_infrastructure,
    "choropleth": add_choropleth,
    "points": add_points,
    "raster": add_raster,
    "vector": add_vector,
}


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)
