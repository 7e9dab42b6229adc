"""Where to put crossing structures: the k openings of a line that restore most connectivity.

A line (a planned route, or an existing fence or railway) is cut into candidate pieces of
``step_m`` along its length. Opening a piece (a crossing structure, a fence opening)
gives its cells their base resistance back. The gain of an opening is the connectivity
regained between habitat cores, computed with the barrier-impact machinery
(:func:`cami_atlas.connectivity.impact.barrier_impact` in ``remove`` mode: summed
effective conductance between the cores, or ECA with core attributes). Openings are chosen

* **greedily** (default): at each step the piece with the largest gain given the
  openings already chosen, at least ``min_spacing_m`` (along the line, centre to
  centre) from each of them; the gains of the successive picks form the curve of gain
  against k, which shows where more structures stop paying;
* or **exhaustively** (``search="exhaustive"``, small instances): every admissible set
  of k pieces, the best total gain.

Examples
--------
>>> import numpy as np
>>> from affine import Affine
>>> from shapely import LineString
>>> from cami_atlas.raster import Grid
>>> base = Grid(np.ones((9, 9)), Affine(100, 0, 0, 0, -100, 900), "EPSG:32643")
>>> fence = LineString([(450, 0), (450, 900)])          # cuts the grid in two
>>> cores = np.array([[150.0, 450.0], [750.0, 450.0]])  # one core on each side
>>> out = crossing_placement(base, fence, cores, k=2, step_m=300, min_spacing_m=300,
...                          method="direct")
>>> float(out.chosen["along_m"].iloc[0])                # the middle piece first
450.0
>>> bool(out.chosen["gain"].iloc[0] >= out.chosen["gain"].iloc[1] > 0)
True
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from ..errors import SchemaError
from ..raster import Grid

__all__ = ["CrossingPlacement", "candidate_pieces", "crossing_placement"]

#: Largest number of k-subsets evaluated by ``search="exhaustive"``.
EXHAUSTIVE_MAX_SETS = 5_000


@dataclass
class CrossingPlacement:
    """Output of :func:`crossing_placement`.

    Attributes
    ----------
    chosen : GeoDataFrame
        The openings in the order chosen: ``order``, ``piece``, ``along_m`` (centre of
        the piece along the line), ``gain`` (connectivity regained by this opening given
        the earlier ones), ``cumulative_gain``, ``structure_type``; piece geometry.
    curve : DataFrame
        ``k`` and ``cumulative_gain`` (0 at k = 0): the curve of gain against k.
    candidates : GeoDataFrame
        Every candidate piece with ``piece``, ``along_m`` and ``first_gain`` (its gain
        when opened alone).
    metric : str
        ``delta_conductance`` (summed effective conductance between the cores) or
        ``delta_eca`` (with core attributes).
    reference : float
        The metric's value with the whole line closed (conductance sum or ECA).
    """

    chosen: gpd.GeoDataFrame
    curve: pd.DataFrame
    candidates: gpd.GeoDataFrame
    metric: str
    reference: float


def candidate_pieces(line: Any, step_m: float, *, crs: Any = None) -> gpd.GeoDataFrame:
    """Cut a line into pieces of ``step_m`` along its length (the last one shorter).

    Parameters
    ----------
    line : LineString, GeoSeries or GeoDataFrame
        One line (several features are merged; a MultiLineString's parts are taken in
        order), in a projected CRS.
    step_m : float
        Length of a piece in metres.
    crs : CRS, optional
        CRS of a bare shapely line.

    Returns
    -------
    GeoDataFrame
        ``piece`` (0, 1, ...), ``along_m`` (centre of the piece along the line),
        ``length_m`` and the piece geometry.

    Examples
    --------
    >>> from shapely import LineString
    >>> candidate_pieces(LineString([(0, 0), (1000, 0)]), 400, crs="EPSG:32643")[
    ...     ["along_m", "length_m"]].values.tolist()
    [[200.0, 400.0], [600.0, 400.0], [900.0, 200.0]]
    """
    if isinstance(line, (gpd.GeoDataFrame, gpd.GeoSeries)):
        crs = line.crs
        geoms = [g for g in np.asarray(line.geometry.values if isinstance(
            line, gpd.GeoDataFrame) else line.values, dtype=object) if g is not None]
        line = shapely.line_merge(shapely.union_all(geoms)) if len(geoms) > 1 else geoms[0]
    if not isinstance(line, shapely.Geometry) or line.is_empty or \
            shapely.get_type_id(line) not in (1, 5):
        raise SchemaError("crossing placement needs a line (LineString or MultiLineString); "
                          f"got {getattr(line, 'geom_type', type(line).__name__)}.")
    if not step_m > 0:
        raise SchemaError(f"step_m must be > 0; got {step_m}.")
    parts = list(line.geoms) if shapely.get_type_id(line) == 5 else [line]
    rows, geoms, offset = [], [], 0.0
    for part in parts:
        n = max(1, int(np.ceil(part.length / step_m - 1e-9)))
        for i in range(n):
            a, b = i * step_m, min((i + 1) * step_m, part.length)
            geoms.append(substring(part, a, b))
            rows.append({"along_m": offset + (a + b) / 2, "length_m": b - a})
        offset += part.length
    out = gpd.GeoDataFrame(rows, geometry=geoms, crs=crs)
    out.insert(0, "piece", np.arange(len(out)))
    return out


def _piece_masks(base: Grid, pieces: gpd.GeoDataFrame) -> dict[Hashable, np.ndarray]:
    """The cells of the burned line, each given to the piece nearest to its centre.

    The whole line is burned once (:func:`burn_infrastructure`, with its guard against
    diagonal leaks); burning the pieces one by one would make neighbouring pieces share
    the cells at their common end, so that opening one piece alone would open nothing."""
    from ..connectivity.resistance import burn_infrastructure

    ones = base.with_values(np.ones(base.shape), name="ones")
    burned = burn_infrastructure(ones, gpd.GeoDataFrame(
        {"barrier_class": ["complete barrier"] * len(pieces)},
        geometry=list(pieces.geometry), crs=pieces.crs))
    rows, cols = np.nonzero(np.isinf(burned.values))
    xs, ys = base.transform * (cols + 0.5, rows + 0.5)
    centres = shapely.points(np.asarray(xs), np.asarray(ys))
    geoms = np.asarray(pieces.geometry.values, dtype=object)
    owner = np.argmin(shapely.distance(centres[:, None], geoms[None, :]), axis=1)
    masks = {}
    for i, piece in enumerate(pieces["piece"].to_numpy()):
        m = np.zeros(base.shape, dtype=bool)
        m[rows[owner == i], cols[owner == i]] = True
        masks[int(piece)] = m
    return masks


def _admissible(along: pd.Series, chosen: list[int], spacing_m: float) -> list[int]:
    if not chosen:
        return along.index.tolist()
    taken = along.loc[chosen].to_numpy()
    ok = np.abs(along.to_numpy()[:, None] - taken[None, :]).min(axis=1) >= spacing_m - 1e-9
    return [p for p, good in zip(along.index, ok, strict=True) if good and p not in chosen]


def crossing_placement(
    base: Grid,
    line: Any,
    cores: Any,
    k: int,
    *,
    step_m: float | None = None,
    min_spacing_m: float = 0.0,
    structure_type: str = "crossing structure",
    search: Literal["greedy", "exhaustive"] = "greedy",
    barrier_resistance: float = np.inf,
    attributes: pd.Series | None = None,
    dispersal_distance: float | None = None,
    neighbours: int = 8,
    method: str = "mixed",
    id_column: str | None = None,
) -> CrossingPlacement:
    """Choose where to open k crossings of a line to restore the most connectivity.

    Parameters
    ----------
    base : Grid
        Resistance of the landscape *without* the line (projected CRS).
    line : LineString, GeoSeries or GeoDataFrame
        The route or existing line, in the grid's CRS.
    cores : see :func:`cami_atlas.connectivity.circuit.focal_labels`
        Habitat cores (at least 2) on the sides of the line.
    k : int
        Number of openings.
    step_m : float, optional
        Length of a candidate piece (default: one cell). An opening gives the cells of
        its piece their base resistance back.
    min_spacing_m : float, default 0
        Least distance along the line between the centres of two openings.
    structure_type : str, default "crossing structure"
        The structure the openings stand for (an underpass, an overpass, a fence
        opening; the allowed types of the mitigation catalogue), written in ``chosen``.
    search : {"greedy", "exhaustive"}
        Greedy (one impact analysis per pick) or every admissible set of k pieces (at
        most :data:`EXHAUSTIVE_MAX_SETS` sets).
    barrier_resistance : float, default inf
        Resistance of the closed line (``inf``: impassable, e.g. a fence).
    attributes, dispersal_distance : optional
        Core attributes (e.g. ``area_km2``) and the dispersal distance for ECA: the gain
        is then ``delta_eca``, else ``delta_conductance``.
    neighbours, method, id_column
        As in :func:`cami_atlas.connectivity.impact.barrier_impact`.

    Returns
    -------
    CrossingPlacement

    Raises
    ------
    SchemaError
        ``k`` larger than the number of openings the spacing allows (the message gives
        the largest possible k), a line that is not a line, fewer than 2 cores.
    """
    from ..connectivity.impact import barrier_impact

    if not isinstance(k, (int, np.integer)) or k < 1:
        raise SchemaError(f"k must be a whole number >= 1; got {k!r}.")
    pieces = candidate_pieces(line, step_m if step_m is not None else base.cell_size_m,
                              crs=getattr(line, "crs", None) or base.crs)
    along = pieces.set_index("piece")["along_m"]
    # the most openings the spacing allows: greedy from the start of the line is optimal
    # for points on a line (take every piece at least min_spacing_m after the last one)
    most, last = 0, -np.inf
    for a in along.to_numpy():
        if a - last >= min_spacing_m - 1e-9:
            most, last = most + 1, a
    if k > most:
        raise SchemaError(
            f"k = {k} openings do not fit: the line has {len(pieces)} candidate pieces of "
            f"{pieces['length_m'].max():g} m and at most {most} can be "
            f"{min_spacing_m:g} m apart; ask for k <= {most}, or lower min_spacing_m or "
            "step_m.")
    masks = _piece_masks(base, pieces)
    metric = "delta_eca" if attributes is not None else "delta_conductance"
    options = dict(mode="remove", barrier_resistance=barrier_resistance,
                   attributes=attributes, dispersal_distance=dispersal_distance,
                   neighbours=neighbours, method=method, id_column=id_column)

    def gains(open_: list[int], evaluate: list[int]) -> tuple[pd.Series, float]:
        closed = {p: m for p, m in masks.items() if p not in open_}
        res = barrier_impact(base, closed, cores, evaluate=evaluate, **options)
        ref = res.reference_eca if metric == "delta_eca" else _conductance(res.reference)
        return res.table[metric].astype(float), float(ref)

    first, reference = gains([], list(masks))
    if search == "exhaustive":
        sets = [s for s in itertools.combinations(list(masks), k)
                if all(abs(along[a] - along[b]) >= min_spacing_m - 1e-9
                       for a, b in itertools.combinations(s, 2))]
        if len(sets) > EXHAUSTIVE_MAX_SETS:
            raise SchemaError(f"exhaustive search would evaluate {len(sets):,} sets of "
                              f"{k} openings (at most {EXHAUSTIVE_MAX_SETS:,}); use "
                              "search='greedy' or a coarser step_m.")
        totals = {s: _set_gain(base, masks, s, cores, metric, reference, options)
                  for s in sets}
        best = max(totals, key=lambda s: (totals[s], [-p for p in s]))
        order = sorted(best, key=lambda p: -first[p])
        picked, step_gains, running = [], [], 0.0
        for p in order:
            total = _set_gain(base, masks, (*picked, p), cores, metric, reference,
                              options) if picked else first[p]
            step_gains.append(total - running)
            running = total
            picked.append(p)
    elif search == "greedy":
        picked, step_gains = [], []
        current = first
        for _ in range(k):
            allowed = _admissible(along, picked, min_spacing_m)
            if picked:
                current, _ = gains(picked, allowed)
            cand = current.loc[allowed]
            best_p = int(cand.index[np.argmax(cand.to_numpy())])
            picked.append(best_p)
            step_gains.append(float(cand.loc[best_p]))
    else:
        raise SchemaError(f"search must be 'greedy' or 'exhaustive'; got {search!r}.")
    chosen = pieces.set_index("piece").loc[picked].reset_index()
    chosen.insert(0, "order", np.arange(1, len(picked) + 1))
    chosen["gain"] = step_gains
    chosen["cumulative_gain"] = np.cumsum(step_gains)
    chosen["structure_type"] = structure_type
    curve = pd.DataFrame({"k": np.arange(len(picked) + 1),
                          "cumulative_gain": np.concatenate([[0.0], np.cumsum(step_gains)])})
    cands = pieces.assign(first_gain=pieces["piece"].map(first))
    return CrossingPlacement(gpd.GeoDataFrame(chosen, geometry="geometry", crs=pieces.crs),
                             curve, cands, metric, reference)


def _conductance(reff: pd.DataFrame) -> float:
    """Summed effective conductance over core pairs, as barrier_impact sums it."""
    from ..connectivity.impact import _connectivity

    return _connectivity(reff.to_numpy(dtype=float))[0]


def _set_gain(base: Grid, masks: dict, opened: tuple, cores: Any, metric: str,
              reference: float, options: dict) -> float:
    """Gain of opening every piece of ``opened`` together, against the closed line."""
    from ..connectivity.impact import barrier_impact

    keep = {p: m for p, m in masks.items() if p not in opened[1:]}
    res = barrier_impact(base, keep, cores, evaluate=[opened[0]], **options)
    # res's reference has opened[1:] open already: add what that alone regains
    here = res.reference_eca if metric == "delta_eca" else _conductance(res.reference)
    return float(here - reference + res.table[metric].iloc[0])
