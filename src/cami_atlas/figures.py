"""Static figures (matplotlib) for species factsheets and reports.

The 2017 CAMI atlas published one PNG page per species: the range with the linear
infrastructure coloured by how much of a barrier it is to that species, and the km
of each barrier class. These functions draw the same figures from the library's
tables and layers:

* :func:`range_barrier_figure`  a species' range with the infrastructure coloured by
  barrier class (and country outlines);
* :func:`class_km_figure`       km of infrastructure in the range per barrier class,
  optionally one bar per infrastructure type split by class;
* :func:`hotspot_figure`        hotspot cells coloured by their Gi* class (or any
  numeric column, with a colour bar), transboundary cells outlined;
* :func:`figure_png`, :func:`figure_data_uri`  PNG bytes / data URI of a figure.

Every function returns a :class:`matplotlib.figure.Figure` made without ``pyplot``
(no global figure state; rendered by the Agg canvas, so no display is needed).
Maps are drawn in an equal-area CRS (default ``ESRI:102025``, the CRS of the 2017
atlas) so that areas look as large as they are; geometries are simplified for
drawing only (tolerance 1/1500 of the view), never for figures quoted as numbers.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from pyproj import CRS

from .errors import CRSError, EmptyLayerError, MissingColumnError, SchemaError, UnknownValueError
from .measure import EQUAL_AREA_CRS, to_crs
from .schema import BARRIER_CLASSES, canonical_species_name

__all__ = [
    "BARRIER_CLASS_COLORS",
    "GI_CLASS_COLORS",
    "class_km_figure",
    "figure_data_uri",
    "figure_png",
    "hotspot_figure",
    "range_barrier_figure",
]

#: Colour of each barrier class (the same as the interactive maps' line colours).
BARRIER_CLASS_COLORS: dict[str, str] = {
    "complete barrier": "#d7191c",
    "partial barrier": "#fdae61",
    "not a barrier": "#1a9641",
    "unknown": "#7f7f7f",
}
#: Fill colour of each Gi* class (``cami_atlas.hotspots.GI_CLASSES``), hot red, cold blue.
GI_CLASS_COLORS: dict[str, str] = {
    "hot spot 99%": "#b2182b",
    "hot spot 95%": "#ef8a62",
    "hot spot 90%": "#fddbc7",
    "not significant": "#f2f2f2",
    "cold spot 90%": "#d1e5f0",
    "cold spot 95%": "#67a9cf",
    "cold spot 99%": "#2166ac",
}
_DRAW_ORDER = ("not a barrier", "unknown", "partial barrier", "complete barrier")
_LINE_WIDTH = {"not a barrier": 0.7, "unknown": 0.8, "partial barrier": 1.0,
               "complete barrier": 1.3}
_LINES = ("LineString", "MultiLineString", "LinearRing")
_POLYGONS = ("Polygon", "MultiPolygon")


# -- helpers ---------------------------------------------------------------------------------
def figure_png(fig: Figure, *, dpi: int = 120, tight: bool = False) -> bytes:
    """The figure as PNG bytes (rendered with the Agg canvas; ``tight`` crops to the artists).

    Examples
    --------
    >>> fig = Figure(figsize=(2, 1))
    >>> figure_png(fig)[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    if not isinstance(fig, Figure):
        raise SchemaError(f"figure_png needs a matplotlib Figure; got {type(fig).__name__}.")
    buf = io.BytesIO()
    FigureCanvasAgg(fig)  # attach an Agg canvas: no pyplot, no display needed
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    return buf.getvalue()


def figure_data_uri(fig: Figure, *, dpi: int = 110, tight: bool = False) -> str:
    """The figure as a ``data:image/png;base64,...`` URI (for ``<img src>`` in reports).

    Examples
    --------
    >>> figure_data_uri(Figure(figsize=(2, 1))).startswith("data:image/png;base64,iVBOR")
    True
    """
    png = figure_png(fig, dpi=dpi, tight=tight)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _new_figure(figsize: tuple[float, float]) -> tuple[Figure, Any]:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _check_frame(data: Any, what: str, types: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    if not isinstance(data, gpd.GeoDataFrame):
        raise SchemaError(f"{what} must be a GeoDataFrame; got {type(data).__name__}.")
    if data.crs is None:
        raise CRSError(f"{what} has no CRS; set the CRS the data is actually in "
                       "(e.g. .set_crs('EPSG:4326')).")
    if types is not None:
        present = set(data.geom_type.dropna())
        bad = sorted(present - set(types))
        if bad:
            raise SchemaError(f"{what} must hold {' or '.join(types)} geometries; it also holds "
                              f"{', '.join(bad)}.")
    return data


def _geoms(data: gpd.GeoDataFrame, crs: Any) -> np.ndarray:
    g = to_crs(data.geometry, crs)  # edges densified: drawn as measured
    arr = np.asarray(g.values, dtype=object)
    ok = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    return arr[ok]


def _polygon_patch(geoms: np.ndarray, **style: Any) -> PatchCollection | None:
    """One PatchCollection of polygons (holes kept) without a loop over features."""
    polys = shapely.get_parts(geoms)
    polys = polys[shapely.get_type_id(polys) == 3]
    if len(polys) == 0:
        return None
    rings, ring_owner = shapely.get_rings(polys, return_index=True)
    coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
    starts = np.r_[0, np.flatnonzero(np.diff(ring_idx)) + 1]
    codes = np.full(len(coords), MplPath.LINETO, dtype=np.uint8)
    codes[starts] = MplPath.MOVETO
    ends = np.r_[starts[1:], len(coords)] - 1
    codes[ends] = MplPath.CLOSEPOLY
    owner = ring_owner[ring_idx]
    cuts = np.flatnonzero(np.diff(owner)) + 1
    patches = [PathPatch(MplPath(v, c))
               for v, c in zip(np.split(coords, cuts), np.split(codes, cuts), strict=True)]
    return PatchCollection(patches, **style)


def _line_segments(geoms: np.ndarray) -> list[np.ndarray]:
    parts = shapely.get_parts(geoms)
    parts = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
    if len(parts) == 0:
        return []
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    return np.split(coords, np.flatnonzero(np.diff(idx)) + 1)


def _simplify(geoms: np.ndarray, extent: float) -> np.ndarray:
    if extent <= 0 or len(geoms) == 0:
        return geoms
    return shapely.simplify(geoms, extent / 1500.0, preserve_topology=True)


def _view(bounds: np.ndarray, margin: float) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = bounds
    dx, dy = (maxx - minx) or 1.0, (maxy - miny) or 1.0
    return (minx - margin * dx, miny - margin * dy, maxx + margin * dx, maxy + margin * dy)


def _map_size(view: tuple[float, float, float, float], figsize: tuple[float, float] | None,
              extra_width: float = 0.0) -> tuple[float, float]:
    """7 inches wide (+ a colour bar), as high as the view's aspect needs (2.5 to 8)."""
    if figsize is not None:
        return figsize
    width = 7.0
    ratio = (view[3] - view[1]) / max(view[2] - view[0], 1e-9)
    return (width + extra_width, float(np.clip(width * ratio + 0.6, 2.5, 8.0)))


def _finish_map(ax: Any, view: tuple[float, float, float, float], crs: Any,
                title: str | None) -> None:
    ax.set_xlim(view[0], view[2])
    ax.set_ylim(view[1], view[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_color("#999999")
    width_km = (view[2] - view[0]) / 1000.0
    ax.text(0.01, 0.01, f"{CRS.from_user_input(crs).to_string()}; "
            f"view {width_km:,.0f} km wide", transform=ax.transAxes, fontsize=6,
            color="#555555", va="bottom")
    if title:
        ax.set_title(title, fontsize=10)


def _draw_countries(ax: Any, countries: gpd.GeoDataFrame | None, crs: Any,
                    view: tuple[float, float, float, float]) -> None:
    if countries is None:
        return
    countries = _check_frame(countries, "countries", _POLYGONS)
    g = _geoms(countries, crs)
    g = shapely.clip_by_rect(g, *view)
    g = g[~shapely.is_empty(g)]
    coll = _polygon_patch(_simplify(g, view[2] - view[0]), facecolor="#fbfbf8",
                          edgecolor="#9a9a9a", linewidth=0.5, zorder=0)
    if coll is not None:
        ax.add_collection(coll)


#: A barrier classifier handed to a renderer: ``classify(infra, species)`` -> the barrier
#: class of each line (e.g. :func:`cami_atlas.barriers.classify_barriers`).
Classifier = Callable[[gpd.GeoDataFrame, str], pd.Series]


def matrix_classifier(caller: str, *, stacklevel: int = 4) -> Classifier:
    """The deprecated fallback of renderers asked to colour lines by barrier class for a
    species when neither a class column nor a ``classify`` function was handed in.

    Renderers draw, they do not classify: pass ``classify=`` (e.g.
    :func:`cami_atlas.barriers.classify_barriers`) or a class column instead. Until then
    this returns :func:`cami_atlas.barriers.classify_barriers` with a
    :class:`DeprecationWarning` naming ``caller``; it is the only place where a renderer
    reaches the barrier matrix.
    """
    warnings.warn(
        f"{caller} classified the infrastructure with the barrier matrix itself; this is "
        "deprecated: classify first and pass a barrier-class column, or pass "
        "classify=cami_atlas.barriers.classify_barriers.", DeprecationWarning,
        stacklevel=stacklevel)
    from .barriers import classify_barriers  # deprecated fallback only (see above)

    return classify_barriers


def _classes_for(infra: gpd.GeoDataFrame, species: str, barrier_column: str | None,
                 classify: Classifier | None = None) -> pd.Series:
    if barrier_column is not None:
        if barrier_column not in infra.columns:
            raise MissingColumnError(
                f"infra has no column {barrier_column!r} (barrier_column); columns: "
                f"{[str(c) for c in infra.columns if c != infra.geometry.name]}.")
        classes = infra[barrier_column]
    else:
        column = next((c for c in (species, f"barrier_{species}", "barrier_class")
                       if c in infra.columns), None)
        if column is not None:
            classes = infra[column]
        else:
            if classify is None:
                classify = matrix_classifier("range_barrier_figure")
            classes = classify(infra, species)
    classes = classes.astype(object).where(classes.notna(), "unknown")
    bad = sorted(set(classes) - set(BARRIER_CLASSES), key=str)
    if bad:
        raise UnknownValueError(
            f"barrier classes {bad[:5]} of column {classes.name!r} are not among "
            f"{list(BARRIER_CLASSES)}; classify with cami_atlas.barriers.classify_barriers.")
    return classes.astype(str)


# -- figures ---------------------------------------------------------------------------------
def range_barrier_figure(
    ranges: gpd.GeoDataFrame,
    infra: gpd.GeoDataFrame,
    *,
    species: str,
    barrier_column: str | None = None,
    countries: gpd.GeoDataFrame | None = None,
    crs: Any = EQUAL_AREA_CRS,
    title: str | None = None,
    margin: float = 0.06,
    figsize: tuple[float, float] | None = None,
    classify: Classifier | None = None,
) -> Figure:
    """Map of a species' range with the infrastructure coloured by barrier class.

    Parameters
    ----------
    ranges : GeoDataFrame
        Range polygons with a ``species`` column (several species allowed; only
        ``species`` is drawn).
    infra : GeoDataFrame
        Infrastructure lines. The barrier class for ``species`` comes from
        ``barrier_column`` if given, else from a column named ``<species>``,
        ``barrier_<species>`` or ``barrier_class``, else from ``classify(infra,
        species)`` (deprecated without ``classify``: the CAMI matrix,
        :func:`matrix_classifier`).
    species : str
        Species to draw (``"Saiga tatarica"`` and ``"Saiga_tatarica"`` both work).
    countries : GeoDataFrame, optional
        Country polygons drawn underneath.
    crs : CRS, default ``ESRI:102025``
        Map projection (projected, metres).
    title : str, optional
        Default: the species name.
    margin : float
        Margin around the range, as a share of its extent.
    figsize : (width, height) in inches, optional
        Default: 7 inches wide, as high as the view's shape needs.
    classify : callable, optional
        ``classify(infra, species)`` -> barrier class per line, used when ``infra`` has
        no class column (e.g. :func:`cami_atlas.barriers.classify_barriers`).

    Returns
    -------
    matplotlib.figure.Figure
        One axes; per barrier class present in the view one ``LineCollection`` of the
        lines touching the range (labelled with the class) and one, faded, of the lines
        away from it (label ``"_<class> outside"``); complete barriers on top.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> r = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
    ...     geometry=[box(0, 0, 100_000, 80_000)], crs="ESRI:102025")
    >>> rail = gpd.GeoDataFrame({"infra_type": ["railway"],
    ...     "barrier_class": ["complete barrier"]},
    ...     geometry=[LineString([(-10_000, 40_000), (110_000, 40_000)])], crs="ESRI:102025")
    >>> fig = range_barrier_figure(r, rail, species="Saiga tatarica")
    >>> [c.get_label() for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    ['complete barrier']
    >>> len(fig.axes[0].collections[-1].get_segments())
    1
    """
    ranges = _check_frame(ranges, "ranges", _POLYGONS)
    infra = _check_frame(infra, "infra", _LINES)
    if "species" not in ranges.columns:
        raise MissingColumnError("ranges has no column 'species'; it needs one naming the "
                                 "species of each polygon.")
    name = canonical_species_name(species)
    names = ranges["species"].astype(str).map(canonical_species_name)
    sel = ranges[(names == name).to_numpy()]
    if sel.empty:
        raise EmptyLayerError(
            f"ranges has no polygon of {name!r}; species there: "
            f"{', '.join(sorted(names.unique())[:20])}.")
    range_geoms = _geoms(sel, crs)
    if len(range_geoms) == 0:
        raise EmptyLayerError(f"the range of {name!r} has no geometry; repair or re-import "
                              "that species' range layer.")
    view = _view(shapely.total_bounds(range_geoms), margin)
    extent = view[2] - view[0]
    fig, ax = _new_figure(_map_size(view, figsize))
    _draw_countries(ax, countries, crs, view)
    coll = _polygon_patch(_simplify(range_geoms, extent), facecolor="#c7e9c0",
                          edgecolor="#41ab5d", linewidth=0.8, alpha=0.7, zorder=1)
    if coll is not None:
        ax.add_collection(coll)

    classes = _classes_for(infra, name, barrier_column, classify).to_numpy()
    lines = np.asarray(to_crs(infra.geometry, crs).values, dtype=object)
    ok = ~(shapely.is_missing(lines) | shapely.is_empty(lines))
    clipped = shapely.clip_by_rect(np.where(ok, lines, None), *view)
    ok &= ~(shapely.is_missing(clipped) | shapely.is_empty(clipped))
    whole = shapely.union_all(range_geoms)
    shapely.prepare(whole)
    inside = np.zeros(len(lines), dtype=bool)
    inside[ok] = shapely.intersects(whole, clipped[ok])
    handles: list[Any] = []
    for z, cls in enumerate(_DRAW_ORDER):  # four classes
        pick = ok & (classes == cls)
        if not pick.any():
            continue
        for touching in (False, True):  # lines away from the range faded
            part = pick & (inside == touching)
            if not part.any():
                continue
            segs = _line_segments(_simplify(clipped[part], extent))
            ax.add_collection(LineCollection(
                segs, colors=BARRIER_CLASS_COLORS[cls], linewidths=_LINE_WIDTH[cls],
                alpha=1.0 if touching else 0.35, label=cls if touching else f"_{cls} outside",
                zorder=2 + z + 4 * touching))
        handles.append(Line2D([], [], color=BARRIER_CLASS_COLORS[cls], lw=2, label=cls))
    handles = [*handles[::-1], Patch(facecolor="#c7e9c0", edgecolor="#41ab5d", label="range")]
    ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.9)
    _finish_map(ax, view, crs, title if title is not None else name.replace("_", " "))
    return fig


def class_km_figure(
    lengths: pd.DataFrame,
    *,
    species: str | None = None,
    by: str | None = None,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Horizontal bar chart of km of infrastructure per barrier class.

    Parameters
    ----------
    lengths : DataFrame
        Tidy table with ``barrier_class`` and ``length_km`` (e.g.
        :func:`cami_atlas.barriers.infrastructure_in_ranges`); rows are summed.
    species : str, optional
        Keep only the rows of this species (needs a ``species`` column).
    by : str, optional
        A column (e.g. ``"infra_type"``): one bar per value, split into the barrier
        classes (stacked, in class colours). Default: one bar per barrier class.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        The bar widths are the km (``ax.patches``).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"barrier_class": ["complete barrier", "complete barrier",
    ...                                     "unknown"], "length_km": [10.0, 5.0, 2.0]})
    >>> fig = class_km_figure(t)
    >>> sorted(float(p.get_width()) for p in fig.axes[0].patches)
    [2.0, 15.0]
    """
    if not isinstance(lengths, pd.DataFrame):
        raise SchemaError(f"lengths must be a DataFrame; got {type(lengths).__name__}.")
    need = ["barrier_class", "length_km"] + ([by] if by else []) + (
        ["species"] if species is not None else [])
    missing = [c for c in need if c not in lengths.columns]
    if missing:
        raise MissingColumnError(
            f"lengths lacks column(s) {missing}; it has {list(lengths.columns)}. Use the "
            "table of cami_atlas.barriers.infrastructure_in_ranges.")
    t = lengths
    if species is not None:
        t = t[t["species"].astype(str).map(canonical_species_name)
              == canonical_species_name(species)]
    bad = sorted(set(t["barrier_class"].astype(str)) - set(BARRIER_CLASSES))
    if bad:
        raise UnknownValueError(f"lengths column 'barrier_class' holds {bad[:5]}, not among "
                                f"{list(BARRIER_CLASSES)}.")
    order = list(BARRIER_CLASSES)  # bottom to top: unknown .. complete barrier
    if by is None:
        km = t.groupby("barrier_class")["length_km"].sum().reindex(order, fill_value=0.0)
        rows = [c for c in order if km[c] > 0] or order
        fig, ax = _new_figure(figsize or (6.0, 0.45 * len(rows) + 1.0))
        y = np.arange(len(rows))
        ax.barh(y, km[rows].to_numpy(), color=[BARRIER_CLASS_COLORS[c] for c in rows],
                edgecolor="#555555", linewidth=0.4)
        ax.set_yticks(y, rows)
        peak = float(km.max()) or 1.0
        for yi, c in zip(y, rows, strict=True):
            ax.text(km[c] + peak * 0.01, yi, f"{km[c]:,.0f} km", va="center", fontsize=7)
        ax.set_xlim(0, peak * 1.18)
    else:
        wide = (t.pivot_table(index=by, columns="barrier_class", values="length_km",
                              aggfunc="sum", fill_value=0.0)
                .reindex(columns=order, fill_value=0.0))
        wide = wide[wide.sum(axis=1) > 0].sort_values(by=order[::-1], ascending=True)
        labels = [str(v) for v in wide.index] or ["(none)"]
        fig, ax = _new_figure(figsize or (6.0, 0.45 * len(labels) + 1.2))
        y = np.arange(len(labels))
        left = np.zeros(len(wide))
        for c in order:  # four classes
            values = wide[c].to_numpy() if len(wide) else np.zeros(0)
            if values.sum() > 0:
                ax.barh(y[:len(values)], values, left=left, color=BARRIER_CLASS_COLORS[c],
                        edgecolor="#555555", linewidth=0.4, label=c)
            left = left + values
        ax.set_yticks(y, labels)
        peak = float(left.max()) if len(left) else 1.0
        for yi, total in zip(y, left, strict=False):
            ax.text(total + peak * 0.01, yi, f"{total:,.0f} km", va="center", fontsize=7)
        ax.set_xlim(0, (peak or 1.0) * 1.18)
        if len(wide):
            fig.legend(fontsize=7, loc="outside lower center", ncols=4, frameon=False)
    ax.set_xlabel("km (geodesic, WGS84)", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def hotspot_figure(
    cells: gpd.GeoDataFrame,
    *,
    column: str = "gi_class",
    countries: gpd.GeoDataFrame | None = None,
    ranges: gpd.GeoDataFrame | None = None,
    highlight: str | None = "transboundary",
    crs: Any = EQUAL_AREA_CRS,
    cmap: str = "YlOrRd",
    title: str | None = None,
    margin: float = 0.03,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Map of hotspot cells: Gi* classes (categorical colours) or a numeric column.

    Parameters
    ----------
    cells : GeoDataFrame
        Cell polygons (e.g. :func:`cami_atlas.hotspots.hotspot_grid`).
    column : str, default "gi_class"
        A column of Gi* class labels (:data:`GI_CLASS_COLORS`) or a numeric column
        (drawn with ``cmap`` and a colour bar).
    countries, ranges : GeoDataFrame, optional
        Country polygons underneath; range outlines on top.
    highlight : str or None, default "transboundary"
        Boolean column whose True cells get a black outline (ignored if absent).
    figsize : (width, height) in inches, optional
        Default: 7 inches wide, as high as the view's shape needs.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame({"gi_class": ["hot spot 99%", "not significant"]},
    ...     geometry=[box(0, 0, 1e4, 1e4), box(1e4, 0, 2e4, 1e4)], crs="ESRI:102025")
    >>> fig = hotspot_figure(cells)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['hot spot 99%', 'not significant']
    """
    cells = _check_frame(cells, "cells", _POLYGONS)
    if column not in cells.columns:
        raise MissingColumnError(
            f"cells has no column {column!r}; columns: "
            f"{[str(c) for c in cells.columns if c != cells.geometry.name]}.")
    valid = ~(cells.geometry.isna() | cells.geometry.is_empty).to_numpy()
    cells = cells[valid]
    if cells.empty:
        raise EmptyLayerError("cells has no geometry to draw; build the cells with "
                              "cami_atlas.hotspots.hex_grid or hotspot_grid first.")
    geoms = _geoms(cells, crs)
    view = _view(shapely.total_bounds(geoms), margin)
    values = cells[column]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    fig, ax = _new_figure(_map_size(view, figsize, extra_width=1.0 if numeric else 0.0))
    _draw_countries(ax, countries, crs, view)
    if numeric:
        import matplotlib as mpl
        from matplotlib.colors import Normalize

        v = values.to_numpy(dtype=float)
        finite = v[np.isfinite(v)]
        norm = Normalize(float(finite.min()) if finite.size else 0.0,
                         float(finite.max()) if finite.size and finite.max() > finite.min()
                         else (float(finite.min()) + 1.0 if finite.size else 1.0))
        colormap = mpl.colormaps[cmap]
        coll = _polygon_patch(geoms, edgecolor="#bbbbbb", linewidth=0.15, zorder=1)
        if coll is not None:
            polys, part_owner = shapely.get_parts(geoms, return_index=True)
            owner = part_owner[shapely.get_type_id(polys) == 3]
            colors = colormap(norm(np.nan_to_num(v[owner], nan=norm.vmin)))
            colors[~np.isfinite(v[owner])] = (1, 1, 1, 0)
            coll.set_facecolor(colors)
            ax.add_collection(coll)
        from matplotlib.cm import ScalarMappable

        fig.colorbar(ScalarMappable(norm=norm, cmap=colormap), ax=ax, shrink=0.7,
                     label=column)
    else:
        labels = values.astype(object).where(values.notna(), "no data").astype(str).to_numpy()
        unknown = sorted(set(labels) - set(GI_CLASS_COLORS) - {"no data"})
        if unknown:
            raise UnknownValueError(
                f"cells column {column!r} holds {unknown[:5]}, not Gi* classes "
                f"{list(GI_CLASS_COLORS)}; pass a numeric column or the gi_class column.")
        handles = []
        for label, color in [*GI_CLASS_COLORS.items(), ("no data", "#ffffff")]:
            pick = labels == label
            if not pick.any():
                continue
            coll = _polygon_patch(geoms[pick], facecolor=color, edgecolor="#bbbbbb",
                                  linewidth=0.15, zorder=1)
            if coll is not None:
                ax.add_collection(coll)
            handles.append(Patch(facecolor=color, edgecolor="#999999", label=label))
        ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.9)
    if highlight is not None and highlight in cells.columns:
        flag = cells[highlight].fillna(False).to_numpy(dtype=bool)
        if flag.any():
            coll = _polygon_patch(geoms[flag], facecolor="none", edgecolor="#000000",
                                  linewidth=0.9, zorder=3)
            if coll is not None:
                ax.add_collection(coll)
    if ranges is not None:
        ranges = _check_frame(ranges, "ranges", _POLYGONS)
        coll = _polygon_patch(_simplify(_geoms(ranges, crs), view[2] - view[0]),
                              facecolor="none", edgecolor="#41ab5d", linewidth=0.6, zorder=2)
        if coll is not None:
            ax.add_collection(coll)
    _finish_map(ax, view, crs, title)
    return fig
