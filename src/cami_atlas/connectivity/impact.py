"""Barrier impact: how much connectivity each infrastructure segment (or group) costs.

For every group of segments the effective-resistance matrix between habitat cores is
computed with and without the group, and the difference is ranked:

* ``mode="remove"`` (mitigation): the reference is the landscape with *all* barriers;
  each scenario removes one group (its cells get back what the other groups and the
  base give them). The connectivity *regained* is ranked, largest first.
* ``mode="add"`` (a proposed line): the reference is the base grid as given (plus
  the groups not evaluated, if ``evaluate=`` leaves some out); each scenario adds one
  group. The connectivity *lost* is ranked, largest first.

Connectivity is measured as the summed effective conductance between all pairs of
cores (``sum 1/R_ij``, 0 for disconnected pairs) and, when core attributes and a
dispersal distance (in effective-resistance units) are given, as the equivalent
connected area ECA of the patch graph with effective resistances as distances
(:mod:`.patchgraph`).

Landscapes
----------
Every landscape is burned from ``base`` and a set of groups, never on top of another
burned landscape: the reference burns *all* groups (``remove``) or the groups not
evaluated (``add``: they are already there), and each scenario burns the reference's
groups minus (``remove``) or plus (``add``) one group. A cell shared by several groups
therefore always gets the effect once (the highest of the groups burned there), the
reference is the same whichever groups are evaluated (``evaluate=``), and removing a
group gives back exactly what the remaining groups leave in its cells.

Cost
----
One circuit setup per scenario; the solver is chosen by the number of passable cells
``n`` of the reference:

* ``n <= DIRECT_MAX_CELLS`` (250,000): a sparse LU factorisation of each scenario's
  reduced Laplacian (``method="direct"``), whatever ``method`` says. It is exact and,
  measured on synthetic grids (``benchmarks/bench_impact.py``, 6 cores, a 2-CPU shared
  machine), the fastest there: 40,000 cells 0.2 s per scenario against 2.1 s for a fresh
  AMG hierarchy and 1.8-8.2 s for conjugate gradients preconditioned with the
  reference's LU or AMG setup (the former path); 100,000 cells 0.7 s against 2.9 and
  4.1-8.0 s. The reference is solved the same way, so differences are not solver noise.
* above: ``method`` (``"mixed"`` AMG by default) with a fresh hierarchy per scenario. At 250,000 to
  490,000 cells a fresh AMG setup and a fresh LU took comparable times (1.6-8.6 s and
  1.8-5.3 s), while the LU's fill-in memory grows faster than the cell count; reusing
  the reference's setup as a preconditioner was slower at every size measured.

A scenario whose cells are all unchanged reuses the reference's result. A low-rank
(Woodbury) update of the reference is not used: it needs one solve per node the group
touches (over a hundred for a segment of a few dozen cells), more than the ``k - 1``
solves of a fresh setup.
Memory: the reference matrix, one scenario's setup and ``k`` node vectors at a time.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from .._options import check_option
from ..errors import DisconnectedGraphWarning, SchemaError
from ..raster import Grid
from .circuit import Focal, Method, _prepare, focal_labels
from .graph import Average
from .patchgraph import connectivity_indices, patch_graph

__all__ = ["DIRECT_MAX_CELLS", "BarrierImpact", "apply_barrier_masks", "barrier_impact"]

Burn = Callable[[Grid, gpd.GeoDataFrame], Grid]
_HOW = ("replace", "multiply", "max")

#: Up to this many passable cells the reference and every scenario are solved with a
#: sparse LU factorisation (exact; measured faster than AMG up to at least 250,000
#: cells, see ``benchmarks/bench_impact.py``); above it, with ``method``.
DIRECT_MAX_CELLS = 250_000


@dataclass(frozen=True)
class BarrierImpact:
    """Output of :func:`barrier_impact`.

    Attributes
    ----------
    table : DataFrame
        One row per group (index: group id): ``n_cells`` (cells whose resistance the
        group changes), ``delta_conductance`` (scenario minus reference, summed effective
        conductance over core pairs; > 0 is a gain), ``disconnected_pairs`` (core pairs
        with no connection in the scenario), and with ECA inputs ``eca``,
        ``delta_eca`` and ``delta_eca_pct``; ``rank`` (1 = largest regained connectivity
        for ``remove``, largest loss for ``add``).
    reference : DataFrame
        Effective-resistance matrix of the reference landscape.
    reference_eca : float
        ECA of the reference (``NaN`` without ECA inputs).
    resistances : dict
        Effective-resistance matrix of each scenario, by group.
    mode : str
        ``"remove"`` or ``"add"``.
    """

    table: pd.DataFrame
    reference: pd.DataFrame
    reference_eca: float
    resistances: dict[Hashable, pd.DataFrame]
    mode: str


def apply_barrier_masks(base: Grid, masks: Mapping[Hashable, np.ndarray | Grid], *,
                        barrier_resistance: float | Mapping[Hashable, float] = np.inf,
                        how: Literal["replace", "multiply", "max"] = "replace") -> Grid:
    """Burn boolean masks into a resistance grid (where masks overlap the highest wins).

    Parameters
    ----------
    base : Grid
        Resistance without the barriers.
    masks : mapping of group -> boolean array or Grid of the grid's shape
        Cells of each group.
    barrier_resistance : float or mapping group -> float
        Resistance (``replace``), factor (``multiply``) or floor (``max``); ``inf``
        makes the cells impassable.
    how : {"replace", "multiply", "max"}

    Examples
    --------
    >>> from affine import Affine
    >>> g = Grid(np.ones((1, 3)), Affine.identity(), None)
    >>> apply_barrier_masks(g, {"a": np.array([[0, 1, 0]], bool)}, barrier_resistance=50
    ...                     ).values.tolist()
    [[1.0, 50.0, 1.0]]
    """
    groups = _mask_groups(base, masks, barrier_resistance, how)
    return base.with_values(_burn_groups(base, groups, list(groups)), name=base.name)


def _mask_groups(base: Grid, masks: Mapping[Hashable, np.ndarray | Grid],
                 barrier_resistance: float | Mapping[Hashable, float],
                 how: str) -> dict[Hashable, tuple[np.ndarray, np.ndarray]]:
    check_option("how", how, _HOW)
    if not isinstance(masks, Mapping) or not masks:
        raise SchemaError("masks must be a non-empty mapping group -> boolean mask.")
    res = np.asarray(base.values, dtype=float).ravel()
    out = {}
    for key, m in masks.items():
        arr = np.asarray(m.values if isinstance(m, Grid) else m)
        if arr.shape != base.shape:
            raise SchemaError(f"the mask of group {key!r} has shape {arr.shape}; the grid is "
                              f"{base.shape}. Rasterise each group on the resistance grid "
                              "(same transform and shape).")
        if arr.dtype != bool:
            raise SchemaError(f"the mask of group {key!r} must be boolean; got {arr.dtype}.")
        value = (barrier_resistance[key] if isinstance(barrier_resistance, Mapping)
                 else barrier_resistance)
        value = float(value)
        if not value > 0:
            raise SchemaError(f"barrier_resistance of group {key!r} must be > 0 (inf allowed); "
                              f"got {value}.")
        cells = np.flatnonzero(arr.ravel())
        cells = cells[~np.isnan(res[cells])]  # outside the study area stays outside
        b = res[cells]
        vals = (np.full(len(cells), value) if how == "replace" else
                b * value if how == "multiply" else np.maximum(b, value))
        out[key] = (cells, vals)
    return out


def _burn_groups(base: Grid, groups: dict[Hashable, tuple[np.ndarray, np.ndarray]],
                 keys: list[Hashable]) -> np.ndarray:
    out = np.array(base.values, dtype=float)
    flat = out.ravel()
    if not keys:
        return out
    cells = np.concatenate([groups[k][0] for k in keys])
    vals = np.concatenate([groups[k][1] for k in keys])
    uniq, inv = np.unique(cells, return_inverse=True)
    best = np.full(len(uniq), -np.inf)
    np.maximum.at(best, inv, vals)
    flat[uniq] = best
    return out


def _connectivity(r: np.ndarray) -> tuple[float, int]:
    iu = np.triu_indices(r.shape[0], 1)
    rr = r[iu]
    with np.errstate(divide="ignore"):
        cond = np.where(np.isfinite(rr) & (rr > 0), 1.0 / rr, 0.0)
    return float(cond.sum()), int(np.isinf(rr).sum())


def barrier_impact(
    base: Grid,
    barriers: gpd.GeoDataFrame | Mapping[Hashable, np.ndarray | Grid],
    cores: Focal,
    *,
    mode: Literal["remove", "add"] = "remove",
    evaluate: Sequence[Hashable] | None = None,
    group_column: str | None = None,
    burn: Burn | None = None,
    burn_options: Mapping[str, Any] | None = None,
    barrier_resistance: float | Mapping[Hashable, float] = np.inf,
    how: Literal["replace", "multiply", "max"] = "replace",
    attributes: pd.Series | None = None,
    dispersal_distance: float | None = None,
    probability: float = 0.5,
    neighbours: int = 8,
    average: Average = "resistance",
    method: Method = "mixed",
    tol: float = 1e-6,
    id_column: str | None = None,
) -> BarrierImpact:
    """Rank infrastructure groups by the connectivity they cost (or would cost).

    Parameters
    ----------
    base : Grid
        Resistance *without* the barriers analysed (``mode="remove"``), or the current
        landscape that a proposed line would be added to (``mode="add"``). Never a
        grid with ``barriers`` already burned in: every landscape is burned from it.
    barriers : GeoDataFrame or mapping group -> boolean mask
        Either infrastructure features in the grid's CRS, burned with ``burn`` (default
        :func:`cami_atlas.connectivity.resistance.burn_infrastructure` with
        ``burn_options``, e.g. a ``barrier_class`` column), grouped by ``group_column``
        (default: every feature is its own group); or precomputed boolean masks per
        group, burned with ``barrier_resistance`` and ``how`` (see
        :func:`apply_barrier_masks`).
    cores : see :func:`cami_atlas.connectivity.circuit.focal_labels`
        Habitat cores (at least 2).
    mode : {"remove", "add"}
    evaluate : sequence of group ids, optional
        Groups whose impact is computed (default: all). The others are part of every
        landscape: burned into the reference and every scenario, never removed
        (``remove``) or already built (``add``). The reference does not depend on
        this choice.
    attributes : Series, optional
        Core attribute (e.g. area_km2) indexed like the core ids, for ECA.
    dispersal_distance : float, optional
        Effective resistance at which the dispersal probability is ``probability``
        (needed with ``attributes``).
    neighbours, average, method, tol, id_column
        As in :func:`cami_atlas.connectivity.circuit.effective_resistance`. With at most
        :data:`DIRECT_MAX_CELLS` passable cells the direct solver is used whatever
        ``method`` says (exact and faster there; see the module notes).

    Returns
    -------
    BarrierImpact

    Notes
    -----
    Longer than 120 lines only through this documentation of its 18 parameters; the code
    is about 70 lines (one reference, one scenario per group, the table).

    Examples
    --------
    >>> from affine import Affine
    >>> base = Grid(np.ones((1, 4)), Affine(1, 0, 0, 0, -1, 0), None)
    >>> cut = np.array([[False, True, False, False]])
    >>> out = barrier_impact(base, {"fence": cut}, np.array([[0.5, -0.5], [3.5, -0.5]]),
    ...                      barrier_resistance=3.0, neighbours=4, method="direct")
    >>> float(out.reference.iloc[0, 1])   # edges (1+3)/2 + (3+1)/2 + (1+1)/2
    5.0
    >>> round(float(out.table.loc["fence", "delta_conductance"]), 6)   # 1/3 - 1/5
    0.133333
    """
    check_option("mode", mode, ("remove", "add"))
    if (attributes is None) != (dispersal_distance is None):
        raise SchemaError("give both attributes= and dispersal_distance= for ECA, or neither.")
    if isinstance(barriers, (gpd.GeoDataFrame, gpd.GeoSeries)):
        landscape, keys = _vector_landscapes(base, barriers, group_column, burn, burn_options)
    else:
        groups = _mask_groups(base, barriers, barrier_resistance, how)
        keys = list(groups)

        def landscape(burned: list[Hashable]) -> np.ndarray:
            return _burn_groups(base, groups, burned)

    chosen = _evaluated(keys, evaluate)
    fixed = [k for k in keys if k not in set(chosen)]  # burned into every landscape
    # the reference burns every group (remove) or the groups not evaluated (add), from base
    in_reference = keys if mode == "remove" else fixed

    def scenario(key: Hashable) -> np.ndarray:
        if mode == "add":
            return landscape([*fixed, key])
        return landscape([k for k in keys if k != key])

    reference = landscape(in_reference)
    ref_grid = base.with_values(reference, name="reference resistance")
    labels, ids = focal_labels(ref_grid, cores, id_column=id_column)
    n_cells = int(np.isfinite(reference).sum())
    solver = "direct" if n_cells <= DIRECT_MAX_CELLS else method
    opts = dict(neighbours=neighbours, average=average, method=solver, tol=tol)

    def solve(values: np.ndarray, quiet: bool) -> np.ndarray:
        grid = base.with_values(values, name="resistance")
        with warnings.catch_warnings():
            if quiet:
                warnings.simplefilter("ignore", DisconnectedGraphWarning)
            f = _prepare(grid, labels, **opts)  # type: ignore[arg-type]
        return f.resistance_matrix()

    r_ref = solve(reference, quiet=False)

    def eca(r: np.ndarray) -> float:
        if attributes is None:
            return float("nan")
        a = attributes.reindex(ids)
        if a.isna().any():
            raise SchemaError(f"attributes lack cores {list(ids[a.isna().to_numpy()][:5])}; give "
                              "an attribute (e.g. area) for every core id of the cores layer.")
        g = patch_graph(a, r)
        return float(connectivity_indices(g, dispersal_distance=dispersal_distance,  # type: ignore[arg-type]
                                          probability=probability)["ECA"])

    eca_ref = eca(r_ref)
    c_ref, _ = _connectivity(r_ref)
    recs = []
    mats: dict[Hashable, pd.DataFrame] = {}
    for key in chosen:
        scn = scenario(key)
        changed = ~((scn == reference) | (np.isnan(scn) & np.isnan(reference)))
        n_changed = int(changed.sum())
        r = r_ref if n_changed == 0 else solve(scn, quiet=True)
        mats[key] = pd.DataFrame(r, index=ids, columns=ids)
        c, n_disc = _connectivity(r)
        e = eca(r)
        recs.append({"group": key, "n_cells": n_changed, "delta_conductance": c - c_ref,
                     "disconnected_pairs": n_disc, "eca": e, "delta_eca": e - eca_ref,
                     "delta_eca_pct": 100.0 * (e - eca_ref) / eca_ref if eca_ref else np.nan})
    table = pd.DataFrame.from_records(recs).set_index("group")
    if attributes is None:
        table = table.drop(columns=["eca", "delta_eca", "delta_eca_pct"])
    score = table["delta_eca"] if attributes is not None else table["delta_conductance"]
    if mode == "add":
        score = -score
    table["rank"] = score.rank(ascending=False, method="min").astype(int)
    table = table.sort_values("rank", kind="stable")
    return BarrierImpact(table, pd.DataFrame(r_ref, index=ids, columns=ids), eca_ref, mats, mode)


def _evaluated(keys: list[Hashable], evaluate: Sequence[Hashable] | None) -> list[Hashable]:
    """The groups to evaluate, in the barriers' order."""
    if evaluate is None:
        return list(keys)
    if isinstance(evaluate, (str, bytes)) or not isinstance(evaluate, (Sequence, np.ndarray,
                                                                        pd.Index, pd.Series)):
        raise SchemaError(f"evaluate must be a list of group ids; got {evaluate!r}.")
    wanted = list(pd.unique(pd.Series(list(evaluate), dtype=object)))
    known = set(keys)
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise SchemaError(f"evaluate lists groups that are not among the barriers: "
                          f"{unknown[:10]}; groups look like {keys[:3]}.")
    if not wanted:
        raise SchemaError("evaluate is empty; give at least one group id (or None for all).")
    chosen = set(wanted)
    return [k for k in keys if k in chosen]


def _vector_landscapes(base: Grid, infra: gpd.GeoDataFrame | gpd.GeoSeries,
                       group_column: str | None, burn: Burn | None,
                       burn_options: Mapping[str, Any] | None
                       ) -> tuple[Callable[[list[Hashable]], np.ndarray], list[Hashable]]:
    """A function burning the features of some groups into ``base``, and the groups."""
    if len(infra) == 0:
        raise SchemaError("the barrier layer is empty: there is no segment to evaluate; pass the "
                          "infrastructure lines (or masks) whose impact you want ranked.")
    if isinstance(infra, gpd.GeoSeries):
        infra = infra.to_frame("geometry")
    if group_column is not None:
        if group_column not in infra.columns:
            raise SchemaError(f"the barrier layer has no column {group_column!r} (columns: "
                              f"{list(infra.columns)}).")
        labels = pd.Index(infra[group_column].to_numpy())
    else:
        labels = pd.Index(infra.index.to_numpy())
    keys = list(pd.unique(labels.to_numpy()))
    if burn is None:
        from .resistance import burn_infrastructure

        def burn(grid: Grid, sub: gpd.GeoDataFrame) -> Grid:
            return burn_infrastructure(grid, sub, **dict(burn_options or {}))

    def landscape(groups: list[Hashable]) -> np.ndarray:
        sub = infra[labels.isin(groups)]
        if len(sub) == 0:
            return np.array(base.values, dtype=float)
        out = burn(base, sub)  # type: ignore[misc]
        if not isinstance(out, Grid) or out.shape != base.shape:
            raise SchemaError("the burn function must return a Grid of the base grid's shape.")
        return np.asarray(out.values, dtype=float)

    return landscape, keys
