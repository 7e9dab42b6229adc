"""Write a QGIS project (``.qgz``) and one ``.qml`` style per layer, as plain XML.

The XML follows what QGIS 3 writes itself (``.qgs`` project format, renderer-v2 symbology,
single-band pseudocolour raster renderer); paths are relative (``<Absolute>false``) so a
project opens wherever its folder is.
"""

from __future__ import annotations

import math
import os
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree as ET

import matplotlib as mpl
import matplotlib.colors as mcolors
import numpy as np
import pyogrio
import rasterio
from pyproj import CRS

from .._atomic import atomic_path, check_writable
from .._options import check_option
from ..errors import (
    LayerNotFoundError,
    LayerReadError,
    MissingColumnError,
    OptionError,
    SchemaError,
)
from ..maps.layers import BARRIER_COLORS, INFRA_STYLES
from ..raster import read_decimated
from ..schema import BARRIER_CLASSES

__all__ = ["STYLES", "LayerSpec", "write_qgis_project"]

#: Styles a layer can have (see :class:`LayerSpec`).
STYLES: tuple[str, ...] = ("infrastructure", "barrier_class", "range", "corridor",
                           "graduated", "raster", "single")
Style = Literal["infrastructure", "barrier_class", "range", "corridor", "graduated", "raster",
                "single"]

_QGIS_VERSION = "3.22.0-Białowieża"
_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
_OTHER_INFRA = {"color": "#666666", "weight": 2.0, "dashArray": "4 3"}
_USE_CLASS_COLORS = {"high": "#08519c", "medium": "#3182bd", "low": "#9ecae1"}
_RANGE = ("#c7e9c0", "#41ab5d")  # fill, outline (as the figures draw ranges)
_PX_TO_MM = 0.26  # a Leaflet pixel weight as millimetres at 96 dpi (0.2646), rounded
_DEFAULT_COLUMN = {"infrastructure": "infra_type", "corridor": "use_class",
                   "graduated": "score"}
_STRETCH_SIDE = 2000  # rasters are read at most this many cells a side for their stretch
_DEFAULT_CMAP = {"graduated": "YlOrRd", "raster": "viridis"}


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a QGIS project and how it is styled.

    Parameters
    ----------
    path : path-like
        The data file (GeoPackage, GeoJSON, FlatGeobuf, Shapefile, GeoTIFF, ...).
    name : str
        Layer name shown in QGIS.
    style : str
        One of :data:`STYLES`:
        ``infrastructure``: lines by ``infra_type`` in the map colours and dash patterns;
        ``barrier_class``: lines by a barrier-class column (``column``, e.g. the class of
        one species) in :data:`cami_atlas.maps.BARRIER_COLORS`; ``range``: translucent
        green fill; ``corridor``: blue fill by ``use_class`` (high / medium / low) when
        the column exists; ``graduated``: a numeric ``column`` (default ``score``) in
        ``classes`` quantile classes of ``cmap`` (default ``YlOrRd``); ``raster``: band 1
        with ``cmap`` (default ``viridis``) stretched over its finite values;
        ``single``: one symbol of ``color``.
    layer : str, optional
        Layer inside a multi-layer file (GeoPackage); default: its only layer.
    column : str, optional
        Attribute for ``infrastructure`` (default ``infra_type``), ``barrier_class``
        (required), ``corridor`` (default ``use_class``) and ``graduated`` (default ``score``).
    cmap : str, optional
        matplotlib colormap of ``graduated`` and ``raster`` styles.
    classes : int
        Number of ``graduated`` classes.
    color : str, optional
        Colour of ``single`` and ``range`` styles (any matplotlib colour).
    visible : bool
        Whether the layer is switched on when the project opens.
    qml : bool
        Write the layer's ``.qml`` style beside its file (a second style of a file that
        already has one, e.g. the class of each species, can stay in the project only).
    """

    path: str | os.PathLike[str]
    name: str
    style: Style
    layer: str | None = None
    column: str | None = None
    cmap: str | None = None
    classes: int = 5
    color: str | None = None
    visible: bool = True
    qml: bool = True


# -- small XML helpers --------------------------------------------------------------------
def _rgba(color: str, alpha: float = 1.0) -> str:
    r, g, b, a = mcolors.to_rgba(color, alpha)
    return f"{round(r * 255)},{round(g * 255)},{round(b * 255)},{round(a * 255)}"


def _props(parent: ET.Element, props: dict[str, str]) -> None:
    """Symbol-layer properties in both forms QGIS 3 reads (Option map and legacy prop)."""
    opt = ET.SubElement(parent, "Option", type="Map")
    for k, v in props.items():
        ET.SubElement(opt, "Option", name=k, type="QString", value=str(v))
    for k, v in props.items():
        ET.SubElement(parent, "prop", k=k, v=str(v))


def _symbol(kind: str, name: str, *, color: str, outline: str | None = None,
            width_mm: float = 0.5, dash: str | None = None, fill_alpha: float = 1.0
            ) -> ET.Element:
    sym = ET.Element("symbol", type=kind, name=name, alpha="1", clip_to_extent="1",
                     force_rhr="0")
    if kind == "line":
        layer = ET.SubElement(sym, "layer", attrib={"class": "SimpleLine", "enabled": "1",
                                                    "locked": "0", "pass": "0"})
        props = {"line_color": _rgba(color), "line_width": f"{width_mm:.2f}",
                 "line_width_unit": "MM", "line_style": "solid", "capstyle": "round",
                 "joinstyle": "round", "offset": "0", "use_custom_dash": "0"}
        if dash:
            mm = [float(x) * _PX_TO_MM for x in dash.replace(",", " ").split()]
            props.update(use_custom_dash="1", customdash=";".join(f"{x:.2f}" for x in mm),
                         customdash_unit="MM")
        _props(layer, props)
    elif kind == "fill":
        layer = ET.SubElement(sym, "layer", attrib={"class": "SimpleFill", "enabled": "1",
                                                    "locked": "0", "pass": "0"})
        _props(layer, {"color": _rgba(color, fill_alpha), "style": "solid",
                       "outline_color": _rgba(outline or color), "outline_style": "solid",
                       "outline_width": f"{width_mm:.2f}", "outline_width_unit": "MM",
                       "joinstyle": "round"})
    else:
        layer = ET.SubElement(sym, "layer", attrib={"class": "SimpleMarker", "enabled": "1",
                                                    "locked": "0", "pass": "0"})
        _props(layer, {"color": _rgba(color), "name": "circle", "size": "2.4",
                       "size_unit": "MM", "outline_color": _rgba(outline or "#222222"),
                       "outline_style": "solid", "outline_width": "0.2",
                       "outline_width_unit": "MM"})
    return sym


def _symbol_for(geom: str, name: str, color: str, *, width_mm: float = 0.5,
                dash: str | None = None, outline: str | None = None,
                fill_alpha: float = 0.75) -> ET.Element:
    kind = {"Line": "line", "Polygon": "fill", "Point": "marker"}[geom]
    return _symbol(kind, name, color=color, outline=outline, width_mm=width_mm, dash=dash,
                   fill_alpha=fill_alpha)


def _renderer(kind: str, **attrs: str) -> ET.Element:
    return ET.Element("renderer-v2", type=kind, symbollevels="0", forceraster="0",
                      enableorderby="0", **attrs)


def _categorized(column: str, geom: str, cats: list[tuple[str, str, dict[str, Any]]],
                 other: dict[str, Any] | None) -> ET.Element:
    """Categories ``(value, label, symbol kwargs)``; ``other``: symbol of all other values."""
    r = _renderer("categorizedSymbol", attr=column)
    categories = ET.SubElement(r, "categories")
    symbols = ET.SubElement(r, "symbols")
    items = list(cats) + ([("", "other", other)] if other is not None else [])
    for i, (value, label, kw) in enumerate(items):
        ET.SubElement(categories, "category", symbol=str(i), value=value, label=label,
                      render="true")
        symbols.append(_symbol_for(geom, str(i), **kw))
    return r


def _single(geom: str, **kw: Any) -> ET.Element:
    r = _renderer("singleSymbol")
    ET.SubElement(r, "symbols").append(_symbol_for(geom, "0", **kw))
    return r


def _ramp(cmap: str, n: int) -> list[str]:
    try:
        colormap = mpl.colormaps[cmap]
    except KeyError:
        raise OptionError(f"cmap={cmap!r} is not a matplotlib colormap; e.g. 'viridis', "
                          "'YlOrRd', 'magma'.") from None
    return [mcolors.to_hex(colormap(x)) for x in np.linspace(0, 1, n)]


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _graduated(column: str, geom: str, values: np.ndarray, cmap: str, classes: int
               ) -> ET.Element:
    v = values[np.isfinite(values)]
    if v.size == 0:
        raise SchemaError(f"column {column!r} has no finite value to grade; fill it, or style "
                          "the layer with a single symbol (style='single').")
    edges = np.unique(np.quantile(v, np.linspace(0, 1, classes + 1)))
    if edges.size < 2:  # one value everywhere
        edges = np.array([edges[0], edges[0]])
    colors = _ramp(cmap, max(edges.size - 1, 1))
    r = _renderer("graduatedSymbol", attr=column, graduatedMethod="GraduatedColor")
    ranges = ET.SubElement(r, "ranges")
    symbols = ET.SubElement(r, "symbols")
    for i in range(edges.size - 1):
        lo, hi = float(edges[i]), float(edges[i + 1])
        ET.SubElement(ranges, "range", symbol=str(i), lower=_fmt(lo), upper=_fmt(hi),
                      label=f"{_fmt(lo)} – {_fmt(hi)}", render="true")
        outline = "#555555" if geom == "Polygon" else None
        symbols.append(_symbol_for(geom, str(i), colors[i], outline=outline, width_mm=0.2
                                   if geom == "Polygon" else 0.6, fill_alpha=0.8))
    ET.SubElement(r, "mode", name="quantile")
    ET.SubElement(r, "classificationMethod", id="Quantile")
    return r


def _raster_pipe(lo: float, hi: float, cmap: str) -> ET.Element:
    pipe = ET.Element("pipe")
    rr = ET.SubElement(pipe, "rasterrenderer", type="singlebandpseudocolor", band="1",
                       opacity="1", alphaBand="-1", classificationMin=_fmt(lo),
                       classificationMax=_fmt(hi), nodataColor="")
    ET.SubElement(rr, "rasterTransparency")
    mmo = ET.SubElement(rr, "minMaxOrigin")
    for tag, text in (("limits", "None"), ("extent", "WholeRaster"),
                      ("statAccuracy", "Estimated"), ("cumulativeCutLower", "0.02"),
                      ("cumulativeCutUpper", "0.98"), ("stdDevFactor", "2")):
        ET.SubElement(mmo, tag).text = text
    shader = ET.SubElement(ET.SubElement(rr, "rastershader"), "colorrampshader",
                           colorRampType="INTERPOLATED", classificationMode="1", clip="0",
                           minimumValue=_fmt(lo), maximumValue=_fmt(hi))
    colors = _ramp(cmap, 11)
    for i, c in enumerate(colors):
        value = lo + (hi - lo) * i / (len(colors) - 1)
        ET.SubElement(shader, "item", alpha="255", value=_fmt(value), label=_fmt(value),
                      color=c)
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    ET.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0",
                  colorizeOn="0", colorizeRed="255", colorizeGreen="128", colorizeBlue="128",
                  colorizeStrength="100")
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    return pipe


def _srs(parent: ET.Element, crs: CRS | None) -> None:
    srs = ET.SubElement(parent, "spatialrefsys")
    if crs is None:
        ET.SubElement(srs, "wkt")
        return
    auth = crs.to_authority()
    authid = f"{auth[0]}:{auth[1]}" if auth else ""
    # QGIS needs the WKT (the authid alone leaves the CRS invalid); WKT1 (GDAL flavour)
    # because the PROJ inside QGIS may be older than pyproj's and reject newer WKT2
    # (e.g. datum-ensemble members it does not know)
    ET.SubElement(srs, "wkt").text = crs.to_wkt("WKT1_GDAL")
    ET.SubElement(srs, "srsid").text = "0"
    ET.SubElement(srs, "srid").text = auth[1] if auth and auth[0] == "EPSG" else "0"
    ET.SubElement(srs, "authid").text = authid
    ET.SubElement(srs, "description").text = crs.name or ""
    ET.SubElement(srs, "projectionacronym")
    ET.SubElement(srs, "ellipsoidacronym")
    ET.SubElement(srs, "geographicflag").text = "true" if crs.is_geographic else "false"


# -- reading what a layer holds ---------------------------------------------------------
@dataclass
class _Resolved:
    spec: LayerSpec
    path: Path
    kind: str  # "vector" | "raster"
    geom: str | None
    wkb: str | None
    crs: CRS | None
    extent: tuple[float, float, float, float]
    renderer: ET.Element
    layer_id: str
    source: str = ""


_GEOMS = {"Point": "Point", "MultiPoint": "Point", "LineString": "Line",
          "MultiLineString": "Line", "Polygon": "Polygon", "MultiPolygon": "Polygon"}


def _vector(spec: LayerSpec, path: Path) -> tuple[str, str, CRS | None, tuple, list, Any]:
    layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    name = spec.layer
    if name is None:
        if len(layers) != 1:
            raise SchemaError(f"{path} holds {len(layers)} layers ({', '.join(layers)}); give "
                              f"LayerSpec(layer=...) for layer {spec.name!r}.")
        name = layers[0]
    elif name not in layers:
        raise LayerNotFoundError(f"{path} has no layer {name!r}; it has {', '.join(layers)}.")
    info = pyogrio.read_info(path, layer=name, force_total_bounds=True)
    gtype = str(info["geometry_type"]).replace(" Z", "").replace("25D", "")
    if gtype not in _GEOMS:
        raise SchemaError(f"layer {name!r} of {path} has geometry type {gtype}; a styled "
                          "project layer needs points, lines or polygons of one family.")
    crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None
    bounds = info.get("total_bounds")
    extent = tuple(float(v) for v in bounds) if bounds is not None else (0.0, 0.0, 0.0, 0.0)
    return name, gtype, crs, extent, list(info["fields"]), info


def _column_values(path: Path, layer: str, column: str) -> np.ndarray:
    df = pyogrio.read_dataframe(path, layer=layer, columns=[column], read_geometry=False)
    return df[column].to_numpy()


def _resolve(spec: LayerSpec, out_dir: Path) -> _Resolved:
    check_option("style", spec.style, STYLES)
    path = Path(spec.path)
    path = path if path.is_absolute() else out_dir / path
    if not path.exists():
        raise LayerReadError(f"layer {spec.name!r}: file {path} does not exist.")
    layer_id = f"{_slug(spec.name)}_{uuid.uuid4().hex[:12]}"
    if spec.style == "raster":
        try:
            # the stretch of a large raster from a preview
            preview = read_decimated(path, max_side=_STRETCH_SIDE)
        except rasterio.errors.RasterioIOError as exc:
            raise LayerReadError(f"layer {spec.name!r}: {path} is not a raster ({exc}).") \
                from exc
        v = preview.values[np.isfinite(preview.values)]
        if v.size == 0:
            raise SchemaError(f"raster {path} has no finite value to colour (every cell is "
                              "nodata); check the nodata value of the file or leave the layer "
                              "out.")
        lo, hi = float(v.min()), float(v.max())
        renderer = _raster_pipe(lo, hi if hi > lo else lo + 1.0,
                                spec.cmap or _DEFAULT_CMAP["raster"])
        return _Resolved(spec, path, "raster", None, None, preview.crs, preview.bounds,
                         renderer, layer_id)
    try:
        name, gtype, crs, extent, fields, _ = _vector(spec, path)
    except pyogrio.errors.DataSourceError as exc:
        raise LayerReadError(f"layer {spec.name!r}: could not open {path} as vector data "
                             f"({exc}); a raster needs style='raster'.") from exc
    geom = _GEOMS[gtype]
    column = spec.column or _DEFAULT_COLUMN.get(spec.style)
    if spec.style == "barrier_class" and column is None:
        raise MissingColumnError(f"layer {spec.name!r}: style='barrier_class' needs "
                                 "column= (the barrier class of one species).")
    needs_column = spec.style in ("infrastructure", "barrier_class", "graduated")
    if needs_column and column not in fields:
        raise MissingColumnError(f"layer {spec.name!r}: {path} (layer {name!r}) has no column "
                                 f"{column!r}; columns: {', '.join(fields)}.")
    if spec.style == "infrastructure":
        cats = []
        for value in sorted(set(map(str, _column_values(path, name, column))) - {"None"}):
            st = INFRA_STYLES.get(value, _OTHER_INFRA)
            cats.append((value, value.replace("_", " "),
                         {"color": st["color"], "width_mm": st["weight"] * _PX_TO_MM,
                          "dash": st.get("dashArray")}))
        renderer = _categorized(column, geom, cats,
                                {"color": _OTHER_INFRA["color"], "dash": "4 3",
                                 "width_mm": _OTHER_INFRA["weight"] * _PX_TO_MM})
    elif spec.style == "barrier_class":
        cats = [(c, c, {"color": BARRIER_COLORS[c], "width_mm": 0.8}) for c in BARRIER_CLASSES]
        renderer = _categorized(column, geom, cats, {"color": "#bdbdbd", "width_mm": 0.4})
    elif spec.style == "corridor" and column in fields:
        cats = [(k, f"{k} use", {"color": c, "outline": "#08306b", "width_mm": 0.3,
                                 "fill_alpha": 0.55}) for k, c in _USE_CLASS_COLORS.items()]
        renderer = _categorized(column, geom, cats, {"color": "#6baed6", "outline": "#08306b",
                                                     "width_mm": 0.3, "fill_alpha": 0.55})
    elif spec.style == "corridor":
        renderer = _single(geom, color="#6baed6", outline="#08306b", width_mm=0.3,
                           fill_alpha=0.55)
    elif spec.style == "range":
        fill = spec.color or _RANGE[0]
        renderer = _single(geom, color=fill, outline=spec.color or _RANGE[1], width_mm=0.4,
                           fill_alpha=0.55)
    elif spec.style == "graduated":
        values = _column_values(path, name, column)
        try:
            values = values.astype("float64")
        except (TypeError, ValueError):
            raise SchemaError(f"layer {spec.name!r}: column {column!r} is not numeric; "
                              "style='graduated' grades numbers.") from None
        if spec.classes < 1:
            raise SchemaError(f"classes must be >= 1; got {spec.classes}.")
        renderer = _graduated(column, geom, values, spec.cmap or _DEFAULT_CMAP["graduated"],
                              spec.classes)
    else:  # single
        renderer = _single(geom, color=spec.color or "#3388ff",
                           outline="#333333" if geom != "Line" else None, fill_alpha=0.5)
    wkb = {"Point": "MultiPoint", "Line": "MultiLineString", "Polygon": "MultiPolygon"}[geom]
    if not gtype.startswith("Multi"):
        wkb = gtype
    res = _Resolved(spec, path, "vector", geom, wkb, crs, extent, renderer, layer_id)
    res.source = name
    return res


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_") or "layer"


# -- writing ---------------------------------------------------------------------------------
def _datasource(r: _Resolved, out_dir: Path) -> str:
    rel = Path(os.path.relpath(r.path, out_dir)).as_posix()
    rel = rel if rel.startswith(".") else f"./{rel}"
    if r.kind == "vector":
        return f"{rel}|layername={r.source}"
    return rel


def _maplayer(r: _Resolved, out_dir: Path) -> ET.Element:
    attrs = {"type": r.kind, "hasScaleBasedVisibilityFlag": "0", "minScale": "100000000",
             "maxScale": "0", "autoRefreshEnabled": "0", "autoRefreshTime": "0",
             "refreshOnNotifyEnabled": "0", "styleCategories": "AllStyleCategories"}
    if r.kind == "vector":
        attrs.update(geometry=r.geom, wkbType=r.wkb, simplifyDrawingHints="1",
                     simplifyDrawingTol="1", simplifyLocal="1", simplifyMaxScale="1",
                     simplifyAlgorithm="0", labelsEnabled="0", readOnly="0")
    ml = ET.Element("maplayer", attrs)
    ext = ET.SubElement(ml, "extent")
    for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), r.extent, strict=True):
        ET.SubElement(ext, tag).text = _fmt(v) if math.isfinite(v) else "0"
    ET.SubElement(ml, "id").text = r.layer_id
    ET.SubElement(ml, "datasource").text = _datasource(r, out_dir)
    ET.SubElement(ml, "layername").text = r.spec.name
    _srs(ET.SubElement(ml, "srs"), r.crs)
    ET.SubElement(ml, "provider", encoding="UTF-8").text = "ogr" if r.kind == "vector" \
        else "gdal"
    ml.append(r.renderer)
    if r.kind == "vector":
        ET.SubElement(ml, "blendMode").text = "0"
        ET.SubElement(ml, "featureBlendMode").text = "0"
        ET.SubElement(ml, "layerOpacity").text = "1"
    else:
        ET.SubElement(ml, "blendMode").text = "0"
    return ml


def _qml(r: _Resolved) -> str:
    root = ET.Element("qgis", version=_QGIS_VERSION, styleCategories="Symbology")
    root.append(r.renderer)
    if r.kind == "vector":
        ET.SubElement(root, "blendMode").text = "0"
        ET.SubElement(root, "featureBlendMode").text = "0"
        ET.SubElement(root, "layerOpacity").text = "1"
    ET.indent(root)
    return _DOCTYPE + ET.tostring(root, encoding="unicode") + "\n"


def _qml_path(r: _Resolved) -> Path:
    if r.kind == "vector":
        layers = [str(n) for n, _ in pyogrio.list_layers(r.path)]
        if len(layers) > 1:
            return r.path.with_name(f"{r.path.stem}_{_slug(r.source)}.qml")
    return r.path.with_suffix(".qml")


def _qgs(title: str, resolved: list[_Resolved], out_dir: Path, crs: CRS) -> str:
    root = ET.Element("qgis", projectname=title, version=_QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    _srs(ET.SubElement(root, "projectCrs"), crs)
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    for r in resolved:
        node = ET.SubElement(tree, "layer-tree-layer", id=r.layer_id, name=r.spec.name,
                             source=_datasource(r, out_dir),
                             providerKey="ogr" if r.kind == "vector" else "gdal",
                             checked="Qt::Checked" if r.spec.visible else "Qt::Unchecked",
                             expanded="1", legend_exp="")
        ET.SubElement(node, "customproperties")
    order = ET.SubElement(root, "layerorder")
    for r in resolved:
        ET.SubElement(order, "layer", id=r.layer_id)
    layers = ET.SubElement(root, "projectlayers")
    for r in resolved:
        layers.append(_maplayer(r, out_dir))
    props = ET.SubElement(root, "properties")
    # QGIS reads <projectCrs> only when this (historical "on the fly") flag is set
    ET.SubElement(ET.SubElement(props, "SpatialRefSys"), "ProjectionsEnabled",
                  type="int").text = "1"
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    ET.indent(root)
    return _DOCTYPE + ET.tostring(root, encoding="unicode") + "\n"


def write_qgis_project(
    out_dir: str | os.PathLike[str],
    layers: Sequence[LayerSpec],
    *,
    name: str = "project",
    title: str | None = None,
    crs: Any = "EPSG:4326",
    overwrite: bool = False,
) -> Path:
    """Write ``<out_dir>/<name>.qgz`` and a ``.qml`` style beside each layer file.

    Layers are drawn in list order, the first on top. Every output (the ``.qgz`` and
    the ``.qml`` files) is checked before anything is written and written atomically;
    existing files are replaced only with ``overwrite=True``.

    Parameters
    ----------
    out_dir : path-like
        Folder of the project (usually the output folder holding the layers); layer
        paths that are relative are taken relative to it, and the project refers to
        every layer by a path relative to it.
    layers : sequence of LayerSpec
        The layers and their styles.
    name : str
        File name of the project, without ``.qgz``.
    title : str, optional
        Project title (default ``name``).
    crs : CRS-like
        Project (map) CRS; layers in another CRS are reprojected on the fly by QGIS.
    overwrite : bool
        Replace existing project and style files.

    Returns
    -------
    Path
        The ``.qgz`` file.

    Raises
    ------
    OptionError
        An unknown style or colormap.
    LayerReadError, LayerNotFoundError
        A layer file or GeoPackage layer that does not exist or cannot be read.
    MissingColumnError, SchemaError
        A style's column is missing or unsuitable; no layer given; two layers with one name.
    OutputExistsError
        An output exists and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, pathlib, zipfile, geopandas as gpd
    >>> from shapely import LineString
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> roads = gpd.GeoDataFrame({"infra_type": ["road", "railway"]},
    ...     geometry=[LineString([(60, 45), (61, 45)]), LineString([(60, 44), (61, 46)])],
    ...     crs="EPSG:4326")
    >>> roads.to_file(out / "infrastructure.gpkg", layer="infrastructure")
    >>> qgz = write_qgis_project(out, [LayerSpec("infrastructure.gpkg", "Infrastructure",
    ...                                           "infrastructure")])
    >>> zipfile.ZipFile(qgz).namelist(), (out / "infrastructure.qml").exists()
    (['project.qgs'], True)
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise LayerReadError(f"output folder {out} does not exist; write the layers first.")
    if not layers:
        raise SchemaError("a QGIS project needs at least one LayerSpec.")
    names = [spec.name for spec in layers]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SchemaError(f"layer names must be unique in a project; repeated: {dup}.")
    try:
        project_crs = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError
        raise OptionError(f"crs={crs!r} is not a CRS ({exc}).") from None
    resolved = [_resolve(spec, out) for spec in layers]
    qgz = out / f"{name}.qgz"
    qmls: dict[Path, str] = {}
    for r in resolved:  # the first style of a file gets the name QGIS loads by default
        if not r.spec.qml:
            continue
        target = _qml_path(r)
        if target in qmls:
            target = target.with_name(f"{target.stem}_{_slug(r.spec.name)}.qml")
        qmls[target] = _qml(r)
    for target in [qgz, *qmls]:
        check_writable(target, overwrite=overwrite)
    for target, text in qmls.items():
        with atomic_path(target, overwrite=overwrite) as tmp:
            tmp.write_text(text, encoding="utf-8")
    text = _qgs(title or name, resolved, out, project_crs)
    with atomic_path(qgz, overwrite=overwrite) as tmp, \
            zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{name}.qgs", text)
    return qgz
