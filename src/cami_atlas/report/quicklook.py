"""Quick-look PNGs of raster results, and the contact sheet of a run.

Every GeoTIFF a command writes gets a quick-look beside it, ``<name>_quicklook.png``:
the map with a colour bar that names the quantity and its units, a scale bar, axes in
km (projected CRS) or degrees (geographic CRS) and a title with the species. What a file
holds is known from its name (:data:`RASTER_KINDS`: ``resistance.tif``,
``cumulative_current.tif``, ``corridor_share.tif``, ...), from the GeoTIFF tags
``quantity``, ``units`` and ``species`` where a writer set them, and from the folder a
species' maps are written into (``connectivity/Saiga_tatarica/...``).

Cells that are ``inf`` (impassable, unreachable) are drawn dark grey and said so in the
legend; nodata cells are left white. Quantities that span more than three orders of
magnitude (currents) are drawn on a log scale; the normalized current on a diverging
scale centred on 1 (Omniscape's reading). Large rasters are read decimated (nearest, at
most ``max_side`` cells on the long side), for display only.

:func:`contact_sheet_markdown` lays out the PNGs of a folder as a Markdown table of
thumbnails, the contact sheet of ``summary.md``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap, LogNorm, Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from pyproj import CRS

from .._atomic import atomic_path, check_writable
from ..errors import LayerReadError, SchemaError
from ..raster import read_decimated

__all__ = [
    "QUICKLOOK_SUFFIX",
    "RASTER_KINDS",
    "SPECIES_STEM",
    "RasterKind",
    "colour_scale",
    "contact_sheet_markdown",
    "describe_raster",
    "quicklook_path",
    "raster_quicklook",
]

#: Suffix of the quick-look of ``name.tif``: ``name_quicklook.png``.
QUICKLOOK_SUFFIX = "_quicklook.png"


@dataclass(frozen=True)
class RasterKind:
    """What a raster holds: ``quantity`` (plain words), ``units``, colour map and scale.

    ``scale`` is ``"linear"``, ``"log"`` (log when the finite positive values span more
    than three orders of magnitude) or ``"diverging"`` (centred on ``center``).
    """

    quantity: str
    units: str
    cmap: str = "viridis"
    scale: str = "linear"
    center: float = 1.0


#: What the rasters written by cami_atlas hold, by file stem (a stem ending in
#: ``_<Species>``, as ``ssf_resistance_Saiga_tatarica``, matches its prefix).
RASTER_KINDS: dict[str, RasterKind] = {
    "resistance": RasterKind("resistance", "per cell, 1 = open ground", "YlOrBr", "log"),
    "sources": RasterKind("source strength", "relative", "Greens"),
    "cost_distance": RasterKind("cost distance from the cores",
                                "cost units (resistance x m)", "viridis", "log"),
    "corridors": RasterKind("least-cost corridors (normalised)",
                            "cost above the least-cost path (resistance x m)", "magma_r"),
    "current": RasterKind("current density", "A (1 A per pair of cores)", "inferno", "log"),
    "pinch_points": RasterKind("pinch points (current)", "A", "inferno", "log"),
    "cumulative_current": RasterKind("cumulative current", "A", "viridis", "log"),
    "flow_potential": RasterKind("flow potential", "A (uniform resistance)", "viridis", "log"),
    "normalized_current": RasterKind("normalized current",
                                     "ratio: <1 impeded, 1 diffuse, >1 channelled",
                                     "RdBu_r", "diverging", 1.0),
    "corridor_share": RasterKind("population corridor", "share of individuals", "Blues"),
    "stopover_share": RasterKind("stopovers", "share of individuals", "Purples"),
    "ssf_resistance": RasterKind("resistance from step selection", "relative", "YlOrBr",
                                 "log"),
    "elevation": RasterKind("elevation", "m", "terrain"),
    "dem": RasterKind("elevation", "m", "terrain"),
    # the base layers of the default atlas (data/layers)
    "dem_etopo5": RasterKind("elevation (ETOPO5)", "m", "terrain"),
    "landcover_modis": RasterKind("land cover class (MODIS IGBP)", "class 1-17", "tab20"),
    "impact_surface": RasterKind("impact of a new line",
                                 "barrier-class x Red List weight, summed over species",
                                 "OrRd"),
    "construction_cost": RasterKind("construction cost", "per metre, 1 = flat ground",
                                    "Greys"),
}
_GENERIC = RasterKind("value", "", "viridis")
_INF_COLOR = "#404040"
#: A species written as a file or folder name: ``Saiga_tatarica``.
SPECIES_STEM = re.compile(r"^[A-Z][a-z]+_[a-z]+(?:_[a-z]+)?$")


def quicklook_path(raster: str | os.PathLike[str]) -> Path:
    """Where the quick-look of ``raster`` goes.

    Examples
    --------
    >>> quicklook_path("out/cumulative_current.tif").as_posix()
    'out/cumulative_current_quicklook.png'
    """
    path = Path(raster)
    return path.with_name(path.stem + QUICKLOOK_SUFFIX)


def describe_raster(path: str | os.PathLike[str],
                    tags: dict[str, str] | None = None) -> tuple[RasterKind, str | None]:
    """The :class:`RasterKind` of a raster file and its species (or ``None``).

    Examples
    --------
    >>> kind, sp = describe_raster("maps/Saiga_tatarica/normalized_current.tif")
    >>> kind.quantity, kind.scale, sp
    ('normalized current', 'diverging', 'Saiga tatarica')
    >>> describe_raster("ssf_resistance_Equus_hemionus.tif")[1]
    'Equus hemionus'
    """
    path = Path(path)
    tags = tags or {}
    stem = path.stem
    kind, species = None, None
    for key in sorted(RASTER_KINDS, key=len, reverse=True):
        if stem == key:
            kind = RASTER_KINDS[key]
            break
        if stem.startswith(key + "_") and SPECIES_STEM.match(stem[len(key) + 1:]):
            kind, species = RASTER_KINDS[key], stem[len(key) + 1:]
            break
    if kind is None:
        kind = RasterKind(stem.replace("_", " "), "", _GENERIC.cmap)
    if species is None and SPECIES_STEM.match(path.parent.name):
        species = path.parent.name
    if tags.get("quantity") or tags.get("units"):
        kind = RasterKind(tags.get("quantity") or kind.quantity, tags.get("units", kind.units),
                          kind.cmap, kind.scale, kind.center)
    species = tags.get("species") or species
    return kind, species.replace("_", " ") if species else None


def _read(path: Path, max_side: int) -> tuple[np.ndarray, tuple[float, float, float, float],
                                               CRS | None, dict[str, str]]:
    try:
        grid = read_decimated(path, max_side=max_side)
        with rasterio.open(path) as ds:
            tags = {k.lower(): v for k, v in ds.tags().items()}
    except rasterio.errors.RasterioIOError as exc:
        raise LayerReadError(f"{path} is not a readable raster ({exc}); a quick-look needs a "
                             "GeoTIFF.") from None
    return grid.values, grid.bounds, grid.crs, tags


def _nice(x: float) -> float:
    """The largest 1, 2 or 5 x 10^n not above ``x``."""
    exp = 10 ** math.floor(math.log10(x))
    return max(m * exp for m in (1, 2, 5) if m * exp <= x)


def colour_scale(kind: RasterKind, finite: np.ndarray) -> tuple[Any, Normalize]:
    """The colour map (transparent where values are missing) and the normalisation a
    raster of ``kind`` with these finite values is drawn with, in quick-looks and in the
    served atlas' map tiles.

    Examples
    --------
    >>> import numpy as np
    >>> cmap, norm = colour_scale(RASTER_KINDS["dem"], np.array([100.0, 300.0]))
    >>> cmap.name, float(norm(200.0))
    ('terrain', 0.5)
    """
    return _cmap(kind.cmap), _norm(kind, finite)


def _norm(kind: RasterKind, finite: np.ndarray) -> Normalize:
    if kind.scale == "diverging":
        hi = max(2 * kind.center, float(np.percentile(finite, 99)))
        lo = min(0.0, float(finite.min()))
        return TwoSlopeNorm(vcenter=kind.center, vmin=lo, vmax=hi)
    pos = finite[finite > 0]
    if kind.scale == "log" and pos.size and pos.max() / pos.min() > 1e3:
        return LogNorm(vmin=max(pos.min(), float(np.percentile(pos, 1))), vmax=pos.max())
    lo, hi = float(finite.min()), float(finite.max())
    return Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0)


def raster_quicklook(raster: str | os.PathLike[str], png: str | os.PathLike[str] | None = None,
                     *, title: str | None = None, species: str | None = None,
                     kind: RasterKind | None = None, max_side: int = 1200,
                     overwrite: bool = False) -> Path:
    """Draw a PNG quick-look of band 1 of a raster file.

    Parameters
    ----------
    raster : path-like
        A GeoTIFF (any raster GDAL reads).
    png : path-like, optional
        Output (default :func:`quicklook_path`).
    title : str, optional
        Default: the quantity, with the species when known (:func:`describe_raster`).
    species : str, optional
        Overrides the species found from the file.
    kind : RasterKind, optional
        Overrides what :func:`describe_raster` finds (quantity, units, colours, scale).
    max_side : int
        Longest side, in cells, read for the picture (decimated, nearest).
    overwrite : bool
        Replace an existing PNG.

    Returns
    -------
    Path
        The PNG, written atomically.

    Raises
    ------
    LayerReadError
        The file is not a raster.
    OutputExistsError
        The PNG exists and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from affine import Affine
    >>> from cami_atlas.raster import Grid
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "Saiga_tatarica"
    >>> folder.mkdir()
    >>> values = np.arange(1.0, 101.0).reshape(10, 10)
    >>> tif = Grid(values, Affine(1000, 0, 0, 0, -1000, 10000), "EPSG:32643").to_geotiff(
    ...     folder / "cumulative_current.tif")
    >>> png = raster_quicklook(tif)
    >>> png.name, png.read_bytes()[1:4]
    ('cumulative_current_quicklook.png', b'PNG')
    """
    path = Path(raster)
    target = Path(png) if png is not None else quicklook_path(path)
    check_writable(target, overwrite=overwrite)
    values, (left, bottom, right, top), crs, tags = _read(path, max_side)
    found, found_species = describe_raster(path, tags)
    kind = kind or found
    species = species or found_species
    finite = values[np.isfinite(values)]
    inf = np.isinf(values)
    geographic = crs is None or crs.is_geographic
    k = 1.0 if geographic else 1000.0
    extent = (left / k, right / k, bottom / k, top / k)

    fig = Figure(figsize=(7.5, 6.0))  # fixed axes: much faster than a layout engine
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.1, 0.66, 0.8))
    cax = fig.add_axes((0.8, 0.14, 0.025, 0.72))
    if finite.size:
        cmap, norm = colour_scale(kind, finite)
        shown = np.where(np.isfinite(values), values, np.nan)
        if isinstance(norm, LogNorm):
            shown = np.where(shown > 0, shown, np.nan)
        im = ax.imshow(shown, extent=extent, cmap=cmap, norm=norm, interpolation="nearest")
        label = kind.quantity + (f" ({kind.units})" if kind.units else "")
        if isinstance(norm, LogNorm):
            label += ", log scale"
        fig.colorbar(im, cax=cax, label=label)
    else:
        cax.set_axis_off()
        ax.text(0.5, 0.5, "no finite value", transform=ax.transAxes, ha="center")
    handles = []
    if inf.any():
        ax.imshow(np.where(inf, 1.0, np.nan), extent=extent,
                  cmap=ListedColormap([_INF_COLOR]), interpolation="nearest")
        handles.append(Patch(color=_INF_COLOR, label="impassable / unreachable (inf)"))
    if np.isnan(values).any():
        handles.append(Patch(facecolor="white", edgecolor="#999999", label="no data"))
    _scale_bar(ax, extent, geographic, (bottom + top) / 2)
    if handles:
        ax.legend(handles=handles, loc="lower right", fontsize=7, framealpha=0.85)
    ax.set_xlabel("longitude (°)" if geographic else "x (km)")
    ax.set_ylabel("latitude (°)" if geographic else "y (km)")
    if title is None:
        title = kind.quantity[:1].upper() + kind.quantity[1:]
        title += f": {species}" if species else ""
    ax.set_title(title)
    crs_name = crs.name if crs is not None else "no CRS"
    fig.text(0.01, 0.005, f"{path.name} · {values.shape[1]} x {values.shape[0]} cells shown "
             f"· {crs_name}", fontsize=6, color="#555555")
    with atomic_path(target, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return target


def _cmap(name: str):
    import matplotlib as mpl

    return mpl.colormaps[name].with_extremes(bad=(0.0, 0.0, 0.0, 0.0))


def _scale_bar(ax, extent: tuple[float, float, float, float], geographic: bool,
               lat: float) -> None:
    """A bar of a round number of km in the lower left corner."""
    left, right, bottom, top = extent
    width = right - left
    km_per_unit = 111.32 * math.cos(math.radians(lat)) if geographic else 1.0
    if width <= 0 or km_per_unit <= 0:
        return
    bar_km = _nice(width * km_per_unit / 5)
    bar = bar_km / km_per_unit
    x0 = left + 0.05 * width
    y0 = bottom + 0.05 * (top - bottom)
    ax.add_line(Line2D([x0, x0 + bar], [y0, y0], color="black", linewidth=3,
                       solid_capstyle="butt"))
    ax.text(x0 + bar / 2, y0 + 0.02 * (top - bottom), f"{bar_km:g} km", ha="center",
            va="bottom", fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})


def contact_sheet_markdown(pngs: Sequence[str | os.PathLike[str]],
                           folder: str | os.PathLike[str], *, columns: int = 3,
                           width_px: int = 260) -> str:
    """A Markdown table of thumbnails of ``pngs``, each linked to the full picture.

    Paths are written relative to ``folder`` (where the Markdown file lives).

    Examples
    --------
    >>> print(contact_sheet_markdown(["out/a_quicklook.png", "out/m/b.png"], "out",
    ...                              columns=1, width_px=99))
    | |
    |---|
    | [<img src="a_quicklook.png" width="99">](a_quicklook.png)<br>a |
    | [<img src="m/b.png" width="99">](m/b.png)<br>m/b |
    <BLANKLINE>
    """
    if columns < 1:
        raise SchemaError(f"columns must be >= 1; got {columns}.")
    rel = [Path(os.path.relpath(p, folder)).as_posix() for p in pngs]
    if not rel:
        return ""
    n = min(columns, len(rel))
    lines = ["|" + " |" * n, "|" + "---|" * n]
    for start in range(0, len(rel), columns):
        row = rel[start:start + columns]
        cells = [f'[<img src="{r}" width="{width_px}">]({r})<br>'
                 f'{r.removesuffix(".png").removesuffix(QUICKLOOK_SUFFIX[:-4])}' for r in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
