"""Omniscape inputs of one species from an atlas, and the map quick-look.

The species' resistance is built from the atlas' base layers: the slope resistance
:func:`~cami_atlas.connectivity.workflow.run_connectivity` computes from a DEM (the
region-wide ETOPO5 layer ``dem_etopo5`` when the atlas has it, else ``dem``), the
infrastructure burned in by the species' barrier class of the CAMI expert matrix, times
the resistance of the land-cover class of each cell (layer ``landcover_modis``, IGBP
classes, through :func:`landcover_resistance_table`: an expert-judgement default,
overridable); outside the species' range it grows with the
distance to the range: ``r * (1 + d / radius)``, doubling one window radius away (a
choice of this package, stated in every settings file; ``d`` between cell centres, with
the range rasterized three radii beyond the window, so parts of the range outside the
window count). Sources are ``1 / resistance``
inside the range (with ``r_cutoff``), 0 outside. The window radius comes from the
species' movement scale (``data/species_movement_scale.csv``, a cited value per
species) unless given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..._atomic import atomic_path
from ...errors import OptionError, SchemaError, UnknownSpeciesError
from ...raster import Grid, read_decimated
from .core import _inside_mask, source_strength

__all__ = ["SpeciesInputs", "landcover_resistance_table", "movement_scale_table",
           "quicklook_png", "read_decimated", "species_inputs", "species_movement_km"]

#: Base layers :func:`species_inputs` uses when the atlas has them (region-wide DEM, land cover).
REGIONAL_DEM = "dem_etopo5"
LANDCOVER = "landcover_modis"


def landcover_resistance_table(table: Any = None) -> pd.Series:
    """Resistance per IGBP land-cover class code (0-16), ``inf`` for impassable.

    ``table`` may be a mapping ``{code: resistance}``, a Series, a DataFrame or CSV path
    with columns ``value, resistance``; default the shipped expert-judgement table
    ``cami_atlas/data/igbp_landcover_resistance.csv`` (its ``reasoning`` column says why
    each value). Codes the table leaves out are an error.

    Examples
    --------
    >>> t = landcover_resistance_table()
    >>> float(t[10]), float(t[12]), float(t[0])  # grassland, cropland, water
    (1.0, 5.0, inf)
    >>> float(landcover_resistance_table({**t.to_dict(), 12: 2.0})[12])
    2.0
    """
    if table is None:
        with resources.files("cami_atlas.data").joinpath(
                "igbp_landcover_resistance.csv").open() as fh:
            table = pd.read_csv(fh)
    elif isinstance(table, (str, os.PathLike)):
        path = Path(table)
        if not path.is_file():
            raise OptionError(f"land-cover resistance table {path} does not exist; give a CSV "
                              "with columns value, resistance.")
        table = pd.read_csv(path)
    if isinstance(table, pd.DataFrame):
        missing = {"value", "resistance"} - set(table.columns)
        if missing:
            raise SchemaError(f"the land-cover resistance table lacks column(s) "
                              f"{sorted(missing)}; it needs value (IGBP code 0-16) and "
                              "resistance.")
        series = pd.Series(table["resistance"].to_numpy(), index=table["value"].to_numpy())
    else:
        series = pd.Series(dict(table))
    series = pd.to_numeric(series, errors="coerce").astype(float)
    series.index = series.index.astype(int)
    bad = series[~(series >= 1)]
    if len(bad):
        raise SchemaError(f"land-cover resistances must be numbers >= 1 (inf: impassable); "
                          f"class(es) {bad.index.tolist()} have {bad.tolist()}.")
    missing_codes = sorted(set(range(17)) - set(series.index))
    if missing_codes:
        raise SchemaError(f"the land-cover resistance table has no value for IGBP class(es) "
                          f"{missing_codes}; give one for every class 0-16.")
    return series.sort_index()


def movement_scale_table() -> pd.DataFrame:
    """The shipped table of movement scales: ``species, movement_km, measure,
    published_value, source`` (empty ``movement_km`` where no published value was found).

    Examples
    --------
    >>> t = movement_scale_table()
    >>> float(t.set_index("species").loc["Equus_hemionus", "movement_km"])
    97.7
    """
    with resources.files("cami_atlas.data").joinpath("species_movement_scale.csv").open() as fh:
        return pd.read_csv(fh)


def species_movement_km(species: str) -> float | None:
    """The cited movement scale (km) of a species, or None if the table has none.

    Examples
    --------
    >>> species_movement_km("Panthera_uncia"), species_movement_km("Saiga_tatarica")
    (8.1, None)
    """
    from ...schema import canonical_species_name

    t = movement_scale_table().set_index("species")
    name = canonical_species_name(str(species))
    if name not in t.index:
        return None
    v = t.loc[name, "movement_km"]
    return None if pd.isna(v) else float(v)


@dataclass(frozen=True, eq=False)
class SpeciesInputs:
    """Resistance, sources and radius of one species (see :func:`species_inputs`)."""

    species: str
    resistance: Grid
    sources: Grid
    radius_km: float
    radius_source: str
    notes: list[str] = field(default_factory=list)
    dem: str = "dem"
    landcover: str = ""


def species_inputs(atlas: Any = None, *, species: str, radius_km: float | None = None,
                   bbox: Any = None, cell_size_m: float = 5000.0, crs: Any = None,
                   r_cutoff: float = float("inf"), outside_range: bool = True,
                   dem: str | None = None, landcover: str | None = None,
                   landcover_resistance: Any = None) -> SpeciesInputs:
    """The Omniscape inputs of one species from an atlas (default: the embedded atlas).

    Parameters
    ----------
    species : str
        Any name :func:`~cami_atlas.connectivity.workflow.run_connectivity` accepts
        (atlas range name, matrix name, common name); the species needs a range.
    radius_km : float, optional
        Window radius; default the species' movement scale from
        :func:`movement_scale_table` (an error if the table has no value for it).
    bbox, cell_size_m, crs
        Window (degrees; default the atlas region clipped to the DEM), cell size and
        projected CRS of the analysis grid (default: the UTM zone of the window's centre
        for windows up to 12 degrees wide, the atlas' analysis CRS, an equal-area
        Albers for Asia in the default atlas, for wider ones).
    r_cutoff : float
        Cells of higher resistance are not sources.
    outside_range : bool
        Raise the resistance outside the range with the distance to it (default).
    dem : str, optional
        DEM layer of the slope resistance; default ``dem_etopo5`` (region-wide ETOPO5,
        coarse: see ``data/layers/SOURCES.md``) if the atlas has it, else ``dem``.
    landcover : str, optional
        IGBP land-cover raster layer; default ``landcover_modis`` if the atlas has it
        (else no land-cover term). ``""`` leaves land cover out.
    landcover_resistance : mapping, DataFrame or path, optional
        Resistance per IGBP class (see :func:`landcover_resistance_table`); it multiplies
        the slope resistance with the barriers burned in.

    Examples
    --------
    >>> inp = species_inputs(species="khulan", cell_size_m=40000)
    >>> inp.radius_km, inp.radius_source.startswith("species_movement_scale.csv")
    (97.7, True)
    >>> inp.landcover, inp.dem
    ('landcover_modis', 'dem_etopo5')
    """
    import geopandas as gpd
    from shapely.geometry import box

    from ...barriers.overlay import species_polygons
    from ..workflow import run_connectivity

    if atlas is None:
        from ...atlas import Atlas

        atlas = Atlas.default()
    layers = atlas.layer_names()
    if dem is None:
        dem = REGIONAL_DEM if REGIONAL_DEM in layers else "dem"
    if landcover is None:
        landcover = LANDCOVER if LANDCOVER in layers else ""
    if landcover and landcover not in layers:
        raise OptionError(f"the atlas has no land-cover layer {landcover!r}; its layers are "
                          f"{layers}. Give one of them or landcover='' for none.")
    lc_table = landcover_resistance_table(landcover_resistance) if landcover else None
    # run_connectivity builds the species' resistance; with modes=() it solves nothing.
    # It also places habitat cores, which Omniscape does not use: two placeholder cores
    # (the window's halves) spare the automatic core rule, which can fail on a range.
    lon0, lat0, lon1, lat1 = _window_bbox(atlas, bbox, dem)
    if crs is None and lon1 - lon0 > 12.0:
        crs = atlas.analysis_crs
    dx, dy = (lon1 - lon0) * 0.1, (lat1 - lat0) * 0.1
    mid = (lon0 + lon1) / 2
    placeholder = gpd.GeoDataFrame(
        geometry=[box(lon0 + dx, lat0 + dy, mid - dx, lat1 - dy),
                  box(mid + dx, lat0 + dy, lon1 - dx, lat1 - dy)], crs="EPSG:4326")
    base = run_connectivity(atlas, species=species, bbox=(lon0, lat0, lon1, lat1),
                            cell_size_m=cell_size_m, crs=crs, modes=(), cores=placeholder,
                            dem=dem)
    name = base.species
    if radius_km is None:
        radius_km = species_movement_km(name)
        if radius_km is None:
            raise OptionError(
                f"the movement-scale table (cami_atlas/data/species_movement_scale.csv) has no "
                f"published value for {name}; give the window radius (radius_km=..., "
                "--radius-km or --radius-cells).")
        src_note = f"species_movement_scale.csv ({radius_km} km)"
    else:
        src_note = "given"
    if not (np.isfinite(radius_km) and radius_km > 0):
        raise OptionError(f"radius_km must be a positive number of km; got {radius_km}.")
    ranges = _ranges(atlas, base.crs)
    polys = species_polygons(ranges, crs=base.crs)
    if name not in polys.index:
        raise UnknownSpeciesError(f"the atlas has no range polygon for {name}.")
    rng = polys.loc[[name]]
    res = base.resistance
    inside = _inside_mask(res, rng)
    if not (inside & np.isfinite(res.values)).any():
        raise SchemaError(f"the range of {name} does not overlap the analysis window "
                          f"{tuple(round(v, 3) for v in base.bbox)}; choose a bbox over it.")
    notes = list(base.notes)
    values = np.asarray(res.values, dtype=float)
    if lc_table is not None:
        values = values * _landcover_factor(atlas.read(landcover), res, lc_table, notes)
        notes.append(f"resistance = slope resistance ({dem}) with barriers burned in x "
                     f"land-cover resistance ({landcover}, IGBP class table).")
    if outside_range and not inside.all():
        from affine import Affine
        from scipy.ndimage import distance_transform_edt

        # the range may go on beyond the window: rasterize it on the grid padded by three
        # radii, so that distances up to three radii (a factor of 4) are exact to a cell
        pad = int(np.ceil(3 * radius_km * 1000.0 / res.cell_size_m))
        shifted = res.transform * Affine.translation(-pad, -pad)
        big = Grid(np.zeros((res.shape[0] + 2 * pad, res.shape[1] + 2 * pad)), shifted,
                   res.crs)
        d_cells = distance_transform_edt(~_inside_mask(big, rng))[pad:-pad or None,
                                                                  pad:-pad or None]
        factor = 1.0 + d_cells * res.cell_size_m / (radius_km * 1000.0)
        values = np.where(np.isfinite(values), values * factor, values)
        notes.append("resistance outside the range multiplied by 1 + distance / radius "
                     f"(radius {radius_km} km; distances exact up to 3 radii).")
    res = res.with_values(values, name="resistance")
    src = source_strength(res, r_cutoff=r_cutoff, within=rng)
    return SpeciesInputs(species=name, resistance=res, sources=src, radius_km=float(radius_km),
                         radius_source=src_note, notes=notes, dem=dem, landcover=landcover)


def _landcover_factor(lc: Grid, grid: Grid, table: pd.Series, notes: list[str]) -> np.ndarray:
    """The resistance of the land-cover class of each cell of ``grid`` (mode resampling).

    Cells without a land-cover class (outside the layer) get factor 1 (a note says how
    many); class codes missing from ``table`` raise :class:`SchemaError`.
    """
    import rasterio.warp
    from rasterio.enums import Resampling

    src = np.where(np.isfinite(lc.values), lc.values, 255).astype("uint8")
    codes = np.full(grid.shape, 255, dtype="uint8")
    rasterio.warp.reproject(src, codes, src_transform=lc.transform, src_crs=lc.crs,
                            dst_transform=grid.transform, dst_crs=grid.crs, src_nodata=255,
                            dst_nodata=255, resampling=Resampling.mode)
    present = set(np.unique(codes).tolist()) - {255}
    unknown = sorted(present - set(table.index))
    if unknown:
        raise SchemaError(f"land-cover layer {lc.name!r} holds class code(s) {unknown} the "
                          "resistance table has no value for; add them to the table.")
    lookup = np.ones(256)
    lookup[table.index.to_numpy()] = table.to_numpy()
    factor = lookup[codes]
    n_missing = int(((codes == 255) & np.isfinite(grid.values)).sum())
    if n_missing:
        notes.append(f"{n_missing} cells have no land-cover class (outside the layer): "
                     "land-cover factor 1 there.")
    return factor


def _window_bbox(atlas: Any, bbox: Any, dem: str = "dem") -> tuple[float, float, float, float]:
    """The analysis window in degrees: ``bbox`` clipped to the DEM layer ``dem``
    (default: the DEM clipped to the atlas region)."""
    from pyproj import Transformer

    if dem not in atlas.layer_names():
        raise OptionError(f"the atlas has no {dem!r} raster layer; the species resistance is "
                          "built from it (add one with `cami-atlas layers import`).")
    grid = atlas.read(dem)
    left, bottom, right, top = grid.bounds
    if grid.crs is not None and not grid.crs.is_geographic:
        tr = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
        left, bottom, right, top = tr.transform_bounds(left, bottom, right, top)
    if bbox is None:
        region = getattr(atlas, "region", None)
        if region is not None:
            r0, r1, r2, r3 = region.bounds
            cut = (max(left, r0), max(bottom, r1), min(right, r2), min(top, r3))
            if cut[0] < cut[2] and cut[1] < cut[3]:
                return cut
        return (left, bottom, right, top)
    if isinstance(bbox, str):
        try:
            bbox = [float(v) for v in bbox.split(",")]
        except ValueError as exc:
            raise OptionError(f"bbox {bbox!r} is not 'lon0,lat0,lon1,lat1'.") from exc
    if len(bbox) != 4 or not bbox[0] < bbox[2] or not bbox[1] < bbox[3]:
        raise OptionError(f"bbox {bbox!r} must be (lon0, lat0, lon1, lat1) with lon0 < lon1 "
                          "and lat0 < lat1.")
    out = (max(bbox[0], left), max(bbox[1], bottom), min(bbox[2], right), min(bbox[3], top))
    if out[0] >= out[2] or out[1] >= out[3]:
        raise OptionError(f"bbox {tuple(bbox)} lies outside the DEM ({left:.3f}, {bottom:.3f}, "
                          f"{right:.3f}, {top:.3f}); choose a bbox inside it.")
    return out


def _ranges(atlas: Any, crs: Any) -> Any:
    import geopandas as gpd

    names = atlas.layer_names("species_range")
    if not names:
        raise UnknownSpeciesError("the atlas has no species_range layer; Omniscape sources "
                                  "come from the range.")
    frames = [atlas.read(n).to_crs("EPSG:4326") for n in names]
    ranges = pd.concat(frames, ignore_index=True)
    ranges = gpd.GeoDataFrame(ranges, geometry=ranges.geometry.name, crs="EPSG:4326")
    return ranges[ranges.geometry.notna() & ~ranges.geometry.is_empty]


def quicklook_png(cumulative: Grid, normalized: Grid, path: str | os.PathLike[str], *,
                  title: str = "", overwrite: bool = False) -> Path:
    """A PNG of the cumulative and the normalized current, each with its colour bar.

    ``cumulative`` and ``normalized`` are the maps of an
    :class:`~cami_atlas.connectivity.omniscape.OmniscapeResult` (or read back, decimated,
    with :func:`read_decimated`).

    Normalized current on a diverging scale centred on 1 (Omniscape's reading: below 1
    impeded, about 1 diffuse, above 1 channelled flow).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from affine import Affine
    >>> from cami_atlas.connectivity.omniscape import omniscape
    >>> r = Grid(np.ones((12, 12)), Affine(100, 0, 0, 0, -100, 1200), "EPSG:32643")
    >>> out = omniscape(r, radius=3)
    >>> png = quicklook_png(out.cumulative_current, out.normalized_current,
    ...                     pathlib.Path(tempfile.mkdtemp()) / "q.png")
    >>> png.read_bytes()[1:4]
    b'PNG'
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm, TwoSlopeNorm

    cum = np.asarray(cumulative.values, dtype=float)
    nrm = np.asarray(normalized.values, dtype=float)
    left, bottom, right, top = cumulative.bounds
    ext = [left / 1000, right / 1000, bottom / 1000, top / 1000]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    pos = cum[np.isfinite(cum) & (cum > 0)]
    if pos.size:
        norm = LogNorm(vmin=max(pos.min(), np.percentile(pos, 1)), vmax=pos.max())
        im = axes[0].imshow(np.where(cum > 0, cum, np.nan), extent=ext, cmap="viridis",
                            norm=norm)
        fig.colorbar(im, ax=axes[0], label="cumulative current (A, log scale)")
    axes[0].set_title("cumulative current")
    finite = nrm[np.isfinite(nrm)]
    hi = max(2.0, float(np.percentile(finite, 99))) if finite.size else 2.0
    im2 = axes[1].imshow(nrm, extent=ext, cmap="RdBu_r",
                         norm=TwoSlopeNorm(vcenter=1.0, vmin=0.0, vmax=hi))
    fig.colorbar(im2, ax=axes[1], label="normalized current (<1 impeded, >1 channelled)")
    axes[1].set_title("normalized current")
    for ax in axes:
        ax.set_xlabel("x (km)")
        ax.set_ylabel("y (km)")
    if title:
        fig.suptitle(title)
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return Path(path)
