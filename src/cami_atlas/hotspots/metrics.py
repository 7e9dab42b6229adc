"""Per-cell figures of a hotspot grid: infrastructure km, species, points, raster means.

Every function takes the cell layer first (polygons with a CRS, e.g. from
:func:`cami_atlas.hotspots.hex_grid`) and reprojects the other layers to the cells'
CRS. Overlays are vectorized: one ``shapely.STRtree`` bulk query gives the
(feature, cell) pairs and one array ``shapely.intersection`` cuts the pieces.
Lengths are geodesic km on WGS84 (:func:`cami_atlas.measure.geodesic_length_km`)
of the pieces cut in the cells' CRS; a line lying exactly on a shared cell edge
counts in both cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CRSError, SchemaError, UnknownValueError
from ..measure import MAX_SEGMENT_KM, area_km2, geodesic_length_km, to_crs
from ..raster import Grid
from ..schema import BARRIER_CLASSES, SPECIES_NAME_PATTERN, canonical_species_name
from ._common import (
    cell_keys,
    check_cells,
    check_frame,
    check_geom_types,
    geoms_in,
    interiors_meet,
    require_column,
)

__all__ = [
    "cell_infrastructure_km",
    "cell_point_counts",
    "cell_raster_mean",
    "cell_species_count",
]

_LINES = ("LineString", "MultiLineString")
_POLYGONS = ("Polygon", "MultiPolygon")


# --------------------------------------------------------------------------- infrastructure
def _infra_pieces(cells: gpd.GeoDataFrame, infra: gpd.GeoDataFrame
                  ) -> tuple[pd.DataFrame, np.ndarray]:
    """(cell_pos, infra_pos, length_km) of every non-empty piece, and the piece geometries."""
    cell_geoms = geoms_in(cells, cells.crs)
    infra_geoms = geoms_in(infra, cells.crs)
    tree = shapely.STRtree(cell_geoms)
    ok = ~(shapely.is_missing(infra_geoms) | shapely.is_empty(infra_geoms))
    infra_pos, cell_pos = tree.query(np.where(ok, infra_geoms, None), predicate="intersects")
    pieces = shapely.intersection(infra_geoms[infra_pos], cell_geoms[cell_pos])
    length = geodesic_length_km(gpd.GeoSeries(pieces, crs=cells.crs)).to_numpy()
    keep = length > 0
    table = pd.DataFrame({"cell_pos": cell_pos[keep].astype(np.int64),
                          "infra_pos": infra_pos[keep].astype(np.int64),
                          "length_km": length[keep]})
    return table, pieces[keep]


def _check_classes(values: pd.Series, where: str) -> None:
    bad = values[~values.isin(BARRIER_CLASSES) & values.notna()]
    if len(bad):
        counts = bad.astype(str).value_counts()
        listed = ", ".join(f"{v!r} ({n})" for v, n in counts.head(10).items())
        raise UnknownValueError(
            f"{where} holds values that are not barrier classes: {listed}. Valid classes: "
            f"{', '.join(map(repr, BARRIER_CLASSES))}. Classify the segments with "
            "cami_atlas.barriers.classify_barriers (a missing value means 'no class for "
            "this species': the segment does not cross its range)."
        )


def _classification(infra: gpd.GeoDataFrame, *, species: str | None,
                    species_columns: Sequence[str] | None) -> pd.DataFrame | None:
    """Barrier classes in long form: (infra_pos, species, barrier_class), or None if absent.

    Accepted layouts: a ``barrier_class`` column with a ``species`` column (one row per
    segment and species), a ``barrier_class`` column plus the ``species`` keyword, or one
    column per species (named like ``Saiga_tatarica``) holding barrier classes. A missing
    class means the segment has no class for that species (it does not cross the species'
    range, :func:`cami_atlas.barriers.classify_in_ranges`): the row is dropped.
    """
    positions = np.arange(len(infra), dtype=np.int64)
    if species_columns is not None:
        for col in species_columns:
            require_column(infra, col, "infra")
        cols = list(species_columns)
    elif "barrier_class" in infra.columns:
        if "species" in infra.columns:
            names = infra["species"].astype(str).map(canonical_species_name).to_numpy()
        elif species is not None:
            names = np.full(len(infra), canonical_species_name(species), dtype=object)
        else:
            raise SchemaError(
                "infra has a 'barrier_class' column but no 'species' column and no species "
                "was given; pass species='Genus_species' or add a 'species' column."
            )
        cls = infra["barrier_class"]
        _check_classes(cls, "infra column 'barrier_class'")
        keep = cls.notna().to_numpy()
        return pd.DataFrame({"infra_pos": positions[keep], "species": names[keep],
                             "barrier_class": cls.to_numpy()[keep]})
    else:
        cols = [c for c in infra.columns
                if isinstance(c, str) and SPECIES_NAME_PATTERN.match(c) and c != "geometry"]
        if not cols:
            return None
    frames = []
    for col in cols:  # one column per species (a handful), not a loop over geometries
        _check_classes(infra[col], f"infra column {col!r}")
        keep = infra[col].notna().to_numpy()
        frames.append(pd.DataFrame({"infra_pos": positions[keep],
                                    "species": canonical_species_name(col),
                                    "barrier_class": infra[col].to_numpy()[keep]}))
    return pd.concat(frames, ignore_index=True)


def _dissolve_by_species(layers: Sequence[tuple[gpd.GeoDataFrame, str]], crs: Any,
                         species_column: str, *, polygons_only: bool) -> pd.Series:
    """Union of the geometries of each species over ``layers``, in ``crs`` (Series by name)."""
    names, geoms = [], []
    for layer, what in layers:
        require_column(layer, species_column, what)
        g = geoms_in(layer, crs)
        n = layer[species_column].astype(str).map(canonical_species_name).to_numpy()
        ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
        if polygons_only:
            ok &= shapely.get_dimensions(np.where(ok, g, None)) == 2
        g, n = g[ok], n[ok]
        invalid = ~shapely.is_valid(g)
        if invalid.any():
            g = g.copy()
            g[invalid] = shapely.make_valid(g[invalid])
        names.append(n)
        geoms.append(g)
    all_names = np.concatenate(names) if names else np.array([], dtype=object)
    all_geoms = np.concatenate(geoms) if geoms else np.array([], dtype=object)
    if len(all_geoms) == 0:
        return pd.Series([], dtype=object, name="geometry")
    frame = gpd.GeoDataFrame({"species": all_names}, geometry=all_geoms, crs=crs)
    dissolved = frame.dissolve(by="species")
    return pd.Series(np.asarray(dissolved.geometry.values, dtype=object),
                     index=dissolved.index, name="geometry")


def _range_cells(cell_geoms: np.ndarray, habitat: pd.Series) -> pd.DataFrame:
    """(cell_pos, species, full, geom) for every cell whose interior meets a species' habitat.

    ``full`` is True where the habitat covers the whole cell; ``geom`` is the habitat
    part inside the cell (None where ``full``).
    """
    if len(habitat) == 0:
        return pd.DataFrame({"cell_pos": np.array([], dtype=np.int64), "species": [],
                             "full": np.array([], dtype=bool), "geom": []})
    hab = np.asarray(habitat.to_numpy(), dtype=object)
    shapely.prepare(hab)
    tree = shapely.STRtree(cell_geoms)
    sp_pos, cell_pos = tree.query(hab, predicate="intersects")
    meet = interiors_meet(hab[sp_pos], cell_geoms[cell_pos])
    sp_pos, cell_pos = sp_pos[meet], cell_pos[meet]
    full = shapely.covers(hab[sp_pos], cell_geoms[cell_pos])
    geom = np.full(len(sp_pos), None, dtype=object)
    part = ~full
    geom[part] = shapely.intersection(hab[sp_pos[part]], cell_geoms[cell_pos[part]])
    return pd.DataFrame({"cell_pos": cell_pos.astype(np.int64),
                         "species": habitat.index.to_numpy()[sp_pos],
                         "full": full, "geom": geom})


def _in_range_lengths(pieces: pd.DataFrame, piece_geoms: np.ndarray, range_cells: pd.DataFrame,
                      crs: Any) -> np.ndarray:
    """Geodesic km of each (piece, species) row inside that species' habitat in the cell.

    ``pieces`` holds ``piece_idx``, ``cell_pos`` and ``species`` columns.
    """
    rc = range_cells.reset_index(drop=True)
    rc["rc_pos"] = np.arange(len(rc))
    merged = pieces[["piece_idx", "cell_pos", "species"]].reset_index(drop=True).merge(
        rc[["cell_pos", "species", "full", "rc_pos"]], on=["cell_pos", "species"], how="left")
    out = np.zeros(len(merged))
    full = merged["full"].eq(True).to_numpy()
    lengths = pieces["length_km"].to_numpy()
    out[full] = lengths[full]
    part = merged["full"].eq(False).to_numpy()
    if part.any():
        geoms = rc["geom"].to_numpy()[merged.loc[part, "rc_pos"].to_numpy(np.int64)]
        cut = shapely.intersection(piece_geoms[merged.loc[part, "piece_idx"].to_numpy()], geoms)
        out[part] = geodesic_length_km(gpd.GeoSeries(cut, crs=crs)).to_numpy()
    return out


def _align_habitat(habitat: pd.Series, classified: set[str], what: str) -> pd.Series:
    """Habitat of each classified species, matching names exactly or through the synonyms
    of the barrier matrix (``Saiga_tatarica`` ranges serve a ``Saiga_spp`` classification).

    Raises :class:`SchemaError` for a classified species without any habitat.
    """
    out = {name: habitat[name] for name in sorted(classified) if name in habitat.index}
    missing = sorted(classified - set(out))
    if missing:
        try:
            from ..barriers import matrix_species
        except ImportError:  # pragma: no cover - barriers ships with the package
            mapping: dict[str, str | None] = {}
        else:
            mapping = matrix_species(list(habitat.index))
        for name in missing:  # a handful of species names
            sources = [h for h, m in mapping.items() if m == name]
            if sources:
                out[name] = shapely.union_all(habitat[sources].to_numpy())
    missing = sorted(classified - set(out))
    if missing:
        raise SchemaError(
            f"infra is classified for species {missing} but {what} has no polygon for them "
            f"(species there: {sorted(habitat.index)}). Add their ranges, or drop those "
            "species' classification columns/rows."
        )
    return pd.Series(out, name="geometry", dtype=object)


def _overlay(cells: gpd.GeoDataFrame, infra: gpd.GeoDataFrame, *,
             ranges: gpd.GeoDataFrame | None, corridors: gpd.GeoDataFrame | None,
             species: str | None, species_columns: Sequence[str] | None, type_column: str,
             species_column: str, require_classes: bool
             ) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Pieces of infrastructure per cell (x species/class), with in-range km where ranges are
    given: (table with cell_pos, piece_idx, infra_type, [species, barrier_class], length_km,
    [length_in_range_km]; the grouping keys; the value columns)."""
    infra = check_frame(infra, "infra")
    require_column(infra, type_column, "infra")
    check_geom_types(infra, _LINES, "infra", "Infrastructure must be lines.")
    classification = _classification(infra, species=species, species_columns=species_columns)
    if classification is None and require_classes:
        raise SchemaError(
            "infra carries no barrier classes: no 'barrier_class' column and no column named "
            "like a species ('Saiga_tatarica'). Classify it first, e.g. "
            "infra.join(cami_atlas.barriers.classify_barriers_many(infra, species))."
        )
    pieces, piece_geoms = _infra_pieces(cells, infra)
    pieces["piece_idx"] = np.arange(len(pieces))
    pieces["infra_type"] = infra[type_column].to_numpy()[pieces["infra_pos"].to_numpy()]
    keys = ["cell_pos", "infra_type"]
    habitat = None
    if ranges is not None:
        layers = [(check_frame(ranges, "ranges"), "ranges")]
        if corridors is not None:
            layers.append((check_frame(corridors, "corridors"), "corridors"))
        habitat = _dissolve_by_species(layers, cells.crs, species_column, polygons_only=True)
    if classification is not None:
        pieces = pieces.merge(classification, on="infra_pos", how="inner")
        keys += ["species", "barrier_class"]
        if habitat is not None:
            habitat = _align_habitat(habitat, set(classification["species"]), "ranges")
    elif habitat is not None:
        sp = pd.DataFrame({"species": habitat.index.to_numpy()})
        pieces = pieces.merge(sp, how="cross")
        keys += ["species"]
    values = ["length_km"]
    if habitat is not None:
        rc = _range_cells(geoms_in(cells, cells.crs), habitat)
        pieces["length_in_range_km"] = _in_range_lengths(pieces, piece_geoms, rc, cells.crs)
        values.append("length_in_range_km")
    return pieces, keys, values


def cell_infrastructure_km(
    cells: gpd.GeoDataFrame,
    infra: gpd.GeoDataFrame,
    *,
    ranges: gpd.GeoDataFrame | None = None,
    corridors: gpd.GeoDataFrame | None = None,
    species: str | None = None,
    species_columns: Sequence[str] | None = None,
    type_column: str = "infra_type",
    species_column: str = "species",
) -> pd.DataFrame:
    """Geodesic km of infrastructure in each cell, by type (and species and barrier class).

    Barrier classes are read from ``infra`` in one of three layouts: a
    ``barrier_class`` column plus a ``species`` column (one row per segment and
    species, e.g. ``pd.concat`` of per-species ``classify_barriers`` results), a
    ``barrier_class`` column plus the ``species`` keyword, or one column per species
    (``species_columns``; by default every column named like ``Genus_species``)
    holding that species' class. Without any of these, km are given by type only.

    With ``ranges`` (and optionally polygon ``corridors``), ``length_in_range_km`` is
    the part of each length inside the union of that species' range and corridor
    polygons, cut exactly in the cell; with ranges but no classification, there is one
    row per range species. A classified species is matched to the range species of the
    same name, or else to the range species that the barrier matrix' synonyms map onto
    it (``Saiga_tatarica`` and ``Saiga_mongolica`` ranges serve ``Saiga_spp``); a
    classified species without any range is an error.

    Parameters
    ----------
    cells : GeoDataFrame
        Grid cells (polygons); ``cell_id`` identifies them if present, else the index.
    infra : GeoDataFrame
        Infrastructure lines with ``type_column``.
    ranges, corridors : GeoDataFrame, optional
        Species ranges / corridors with ``species_column``.
    species : str, optional
        Species of a single ``barrier_class`` column.
    species_columns : sequence of str, optional
        Columns of ``infra`` that each hold one species' barrier class.
    type_column : str
        Column of the infrastructure type.
    species_column : str
        Species column of ``ranges`` and ``corridors``.

    Returns
    -------
    pandas.DataFrame
        Tidy: ``cell_id``, ``infra_type``, [``species``, ``barrier_class``],
        ``length_km``, [``length_in_range_km``]; only rows with length > 0.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> cells = gpd.GeoDataFrame({"cell_id": ["a", "b"]},
    ...     geometry=[box(60, 45, 61, 46), box(61, 45, 62, 46)], crs="EPSG:4326")
    >>> rail = gpd.GeoDataFrame({"infra_type": ["railway"],
    ...     "Saiga_tatarica": ["complete barrier"]},
    ...     geometry=[LineString([(60.5, 45.5), (62.0, 45.5)])], crs="EPSG:4326")
    >>> t = cell_infrastructure_km(cells, rail)
    >>> t[["cell_id", "species", "barrier_class"]].values.tolist()
    [['a', 'Saiga_tatarica', 'complete barrier'], ['b', 'Saiga_tatarica', 'complete barrier']]
    >>> t["length_km"].round(1).tolist()   # half a degree and one degree of longitude at 45.5 N
    [39.1, 78.2]
    """
    cells = check_cells(cells)
    pieces, keys, values = _overlay(
        cells, infra, ranges=ranges, corridors=corridors, species=species,
        species_columns=species_columns, type_column=type_column,
        species_column=species_column, require_classes=False)
    table = pieces.groupby(keys, sort=True, dropna=False)[values].sum().reset_index()
    table.insert(0, "cell_id", cell_keys(cells).to_numpy()[table.pop("cell_pos").to_numpy()])
    return table


# --------------------------------------------------------------------------- species
def _species_pairs(cells: gpd.GeoDataFrame, ranges: gpd.GeoDataFrame,
                   corridors: gpd.GeoDataFrame | None, species_column: str) -> pd.DataFrame:
    """Unique (cell_pos, species) pairs whose range or corridor meets the cell's interior."""
    layers = [(check_frame(ranges, "ranges"), "ranges")]
    if corridors is not None:
        layers.append((check_frame(corridors, "corridors"), "corridors"))
    habitat = _dissolve_by_species(layers, cells.crs, species_column, polygons_only=False)
    cell_geoms = geoms_in(cells, cells.crs)
    if len(habitat) == 0:
        return pd.DataFrame({"cell_pos": np.array([], dtype=np.int64), "species": []})
    hab = np.asarray(habitat.to_numpy(), dtype=object)
    shapely.prepare(hab)
    sp_pos, cell_pos = shapely.STRtree(cell_geoms).query(hab, predicate="intersects")
    meet = interiors_meet(hab[sp_pos], cell_geoms[cell_pos])
    return pd.DataFrame({"cell_pos": cell_pos[meet].astype(np.int64),
                         "species": habitat.index.to_numpy()[sp_pos[meet]]})


def cell_species_count(
    cells: gpd.GeoDataFrame,
    ranges: gpd.GeoDataFrame,
    corridors: gpd.GeoDataFrame | None = None,
    *,
    species_column: str = "species",
) -> pd.Series:
    """Number of species whose range or corridor meets the interior of each cell.

    A species counts once per cell however many of its polygons (or corridor
    lines) meet it; geometries that only touch the cell's edge do not count.

    Returns
    -------
    pandas.Series
        ``n_species`` (int), aligned to ``cells.index``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)],
    ...                          crs="ESRI:102025")
    >>> ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica", "Equus_hemionus"]},
    ...     geometry=[box(0, 0, 15, 5), box(0, 0, 10, 10)], crs="ESRI:102025")
    >>> cell_species_count(cells, ranges).tolist()
    [2, 1]
    """
    cells = check_cells(cells)
    pairs = _species_pairs(cells, ranges, corridors, species_column)
    counts = np.bincount(pairs["cell_pos"].to_numpy(np.int64), minlength=len(cells))
    return pd.Series(counts.astype(np.int64), index=cells.index, name="n_species")


# --------------------------------------------------------------------------- points
def _point_cells(cells: gpd.GeoDataFrame, points: gpd.GeoDataFrame, what: str) -> np.ndarray:
    """Position of the cell that holds each point (-1 outside); a point on a shared edge
    goes to the first cell in row order."""
    points = check_frame(points, what)
    check_geom_types(points, ("Point",), what,
                     "Pass crossing/event points (e.g. .representative_point() of lines).")
    pts = geoms_in(points, cells.crs)
    pt_pos, cell_pos = shapely.STRtree(geoms_in(cells, cells.crs)).query(
        pts, predicate="intersects")
    out = np.full(len(pts), -1, dtype=np.int64)
    order = np.lexsort((cell_pos, pt_pos))
    pt_pos, cell_pos = pt_pos[order], cell_pos[order]
    first = np.r_[True, pt_pos[1:] != pt_pos[:-1]] if len(pt_pos) else np.array([], dtype=bool)
    out[pt_pos[first]] = cell_pos[first]
    return out


def cell_point_counts(cells: gpd.GeoDataFrame, points: gpd.GeoDataFrame, *,
                      name: str = "n_points") -> pd.Series:
    """Number of points (crossings, track-crossing events) in each cell.

    Each point counts once: a point on an edge shared by two cells goes to the first
    of them in row order; points outside every cell are not counted.

    Returns
    -------
    pandas.Series
        Integer counts named ``name``, aligned to ``cells.index``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> cells = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)],
    ...                          crs="ESRI:102025")
    >>> pts = gpd.GeoDataFrame(geometry=[Point(1, 1), Point(10, 5), Point(15, 5),
    ...                                  Point(50, 50)], crs="ESRI:102025")
    >>> cell_point_counts(cells, pts, name="crossings").tolist()
    [2, 1]
    """
    cells = check_cells(cells)
    pos = _point_cells(cells, points, "points")
    counts = np.bincount(pos[pos >= 0], minlength=len(cells))
    return pd.Series(counts.astype(np.int64), index=cells.index, name=name)


# --------------------------------------------------------------------------- rasters
def cell_raster_mean(cells: gpd.GeoDataFrame, grid: Grid, *, name: str = "raster_mean"
                     ) -> pd.Series:
    """Mean of the raster pixels whose centres fall in each cell.

    Non-finite pixels (``NaN`` outside the study area, ``inf``) are ignored; a cell
    with no finite pixel centre gets ``NaN``. The cells are projected to the grid's
    CRS (edges densified to a tenth of the cell width first). For a 0/1 corridor
    grid the mean is the share of the cell in the corridor; for a current-density
    grid it is the cell's mean current density.

    Returns
    -------
    pandas.Series
        Float means named ``name``, aligned to ``cells.index``.

    Examples
    --------
    >>> import numpy as np, geopandas as gpd
    >>> from affine import Affine
    >>> from shapely import box
    >>> from cami_atlas.raster import Grid
    >>> g = Grid(np.array([[1.0, 2.0], [3.0, np.nan]]), Affine(10, 0, 0, 0, -10, 20),
    ...          "ESRI:102025")
    >>> cells = gpd.GeoDataFrame(geometry=[box(0, 0, 20, 10), box(0, 10, 20, 20)],
    ...                          crs="ESRI:102025")
    >>> cell_raster_mean(cells, g).tolist()
    [3.0, 1.5]
    """
    from rasterio.features import rasterize

    cells = check_cells(cells)
    if not isinstance(grid, Grid):
        raise SchemaError(f"grid must be a cami_atlas.raster.Grid; got {type(grid).__name__}.")
    if grid.crs is None:
        raise CRSError("the raster grid has no CRS; give the CRS its values are in.")
    geoms = cells.geometry
    if not cells.crs.equals(grid.crs):
        # edges densified to a tenth of a cell's width (at most 10 km), then reprojected
        width_km = float(np.sqrt(np.median(area_km2(geoms).to_numpy())))
        step_km = min(MAX_SEGMENT_KM, width_km / 10.0) if width_km > 0 else MAX_SEGMENT_KM
        geoms = to_crs(geoms, grid.crs, max_segment_km=step_km)
    labels = rasterize(
        zip(np.asarray(geoms.values, dtype=object), range(1, len(cells) + 1), strict=True),
        out_shape=grid.shape, transform=grid.transform, fill=0, dtype="int32",
        all_touched=False)
    values = np.asarray(grid.values, dtype="float64")
    ok = (labels > 0) & np.isfinite(values)
    lab = labels[ok] - 1
    sums = np.bincount(lab, weights=values[ok], minlength=len(cells))
    counts = np.bincount(lab, minlength=len(cells))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return pd.Series(mean, index=cells.index, name=name)
