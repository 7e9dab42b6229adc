"""Barrier impact: how much connectivity each infrastructure segment (or group) costs.

For every group of segments the effective-resistance matrix between habitat cores is
computed with and without the group, and the difference is ranked:

* ``mode="remove"`` (mitigation): the reference is the landscape with *all* barriers;
  each scenario removes one group (its cells get back what the other groups and the
  base give them). The connectivity *regained* is ranked, largest first.
* ``mode="add"`` (a proposed line): the reference is the base grid as given; each
  scenario adds one group. The connectivity *lost* is ranked, largest first.

Connectivity is measured as the summed effective conductance between all pairs of
cores (``sum 1/R_ij``, 0 for disconnected pairs) and, when core attributes and a
dispersal distance (in effective-resistance units) are given, as the equivalent
connected area ECA of the patch graph with effective resistances as distances
(:mod:`.patchgraph`).

Cost
----
The reference solver (AMG hierarchy or sparse LU) is set up once. A scenario that keeps
the same cells passable (finite barrier resistances) reuses it: the scenario's reduced
Laplacian is re-assembled (``O(cells)``, no Python loops) and its ``k - 1`` core
right-hand sides are solved by conjugate gradients *preconditioned with the reference
setup*. Because a group changes only a few edges (a low-rank change), these converge in
a few iterations, and with the LU preconditioner the result is exact to the tolerance
after about as many iterations as the change has independent edges. A scenario that
changes which cells are passable (``inf`` barriers: the graph's connectivity changes)
needs its own setup; its cost is then that of one :func:`effective_resistance` call.
Memory: the reference solver, ``k`` node vectors, and one scenario grid at a time.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from .._options import check_option
from ..errors import DisconnectedGraphWarning, SchemaError
from ..raster import Grid
from .circuit import Focal, Method, _Focal, _prepare
from .graph import Average
from .patchgraph import connectivity_indices, patch_graph

__all__ = ["BarrierImpact", "apply_barrier_masks", "barrier_impact"]

Burn = Callable[[Grid, gpd.GeoDataFrame], Grid]
_HOW = ("replace", "multiply", "max")


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
                              f"{base.shape}.")
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
    method: Method = "amg",
    tol: float = 1e-6,
    id_column: str | None = None,
) -> BarrierImpact:
    """Rank infrastructure groups by the connectivity they cost (or would cost).

    Parameters
    ----------
    base : Grid
        Resistance *without* the barriers analysed (``mode="remove"``), or the current
        landscape that a proposed line would be added to (``mode="add"``).
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
    attributes : Series, optional
        Core attribute (e.g. area_km2) indexed like the core ids, for ECA.
    dispersal_distance : float, optional
        Effective resistance at which the dispersal probability is ``probability``
        (needed with ``attributes``).
    neighbours, average, method, tol, id_column
        As in :func:`cami_atlas.connectivity.circuit.effective_resistance`.

    Returns
    -------
    BarrierImpact

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
        scenario, keys, reference = _vector_scenarios(base, barriers, mode, group_column, burn,
                                                      burn_options)
    else:
        groups = _mask_groups(base, barriers, barrier_resistance, how)
        keys = list(groups)

        def scenario(key: Hashable) -> np.ndarray:
            if mode == "add":
                return _burn_groups(base, groups, [key])
            return _burn_groups(base, groups, [k for k in keys if k != key])

        reference = (_burn_groups(base, groups, keys) if mode == "remove"
                     else np.array(base.values, dtype=float))
    ref_grid = base.with_values(reference, name="reference resistance")
    opts = dict(neighbours=neighbours, average=average, method=method, tol=tol,
                id_column=id_column)
    ref = _prepare(ref_grid, cores, **opts)  # type: ignore[arg-type]
    r_ref = ref.resistance_matrix()
    ids = ref.ids

    def eca(r: np.ndarray) -> float:
        if attributes is None:
            return float("nan")
        a = attributes.reindex(ids)
        if a.isna().any():
            raise SchemaError(f"attributes lack cores {list(ids[a.isna().to_numpy()][:5])}.")
        g = patch_graph(a, r)
        return float(connectivity_indices(g, dispersal_distance=dispersal_distance,  # type: ignore[arg-type]
                                          probability=probability)["ECA"])

    eca_ref = eca(r_ref)
    c_ref, _ = _connectivity(r_ref)
    ref_finite = np.isfinite(reference)
    recs = []
    mats: dict[Hashable, pd.DataFrame] = {}
    for key in keys:
        scn = scenario(key)
        changed = ~((scn == reference) | (np.isnan(scn) & np.isnan(reference)))
        n_changed = int(changed.sum())
        if n_changed == 0:
            r = r_ref
        elif np.array_equal(np.isfinite(scn[changed]), ref_finite[changed]):
            r = _same_topology(ref, base.with_values(scn))
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DisconnectedGraphWarning)
                r = _prepare(base.with_values(scn), cores, **opts).resistance_matrix()  # type: ignore[arg-type]
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


def _same_topology(ref: _Focal, scn_grid: Grid) -> np.ndarray:
    """Effective resistances of a scenario with the reference's passable cells.

    Same nodes, components and grounds: re-assemble the reduced Laplacian and solve
    with the reference setup as preconditioner.
    """
    graph = dataclasses.replace(ref.graph, resistance=scn_grid)
    matrix = graph.laplacian(grounds=ref.solver.grounds)
    f = _Focal(graph, ref.solver, ref.ids, ref.nodes, ref.comp, matrix=matrix)
    return f.resistance_matrix()


def _vector_scenarios(base: Grid, infra: gpd.GeoDataFrame | gpd.GeoSeries, mode: str,
                      group_column: str | None, burn: Burn | None,
                      burn_options: Mapping[str, Any] | None
                      ) -> tuple[Callable[[Hashable], np.ndarray], list[Hashable], np.ndarray]:
    if len(infra) == 0:
        raise SchemaError("the barrier layer is empty.")
    if isinstance(infra, gpd.GeoSeries):
        infra = infra.to_frame("geometry")
    if group_column is not None:
        if group_column not in infra.columns:
            raise SchemaError(f"the barrier layer has no column {group_column!r} (columns: "
                              f"{list(infra.columns)}).")
        labels = infra[group_column].to_numpy()
    else:
        labels = infra.index.to_numpy()
    keys = list(pd.unique(labels))
    if burn is None:
        from .resistance import burn_infrastructure

        def burn(grid: Grid, sub: gpd.GeoDataFrame) -> Grid:
            return burn_infrastructure(grid, sub, **dict(burn_options or {}))

    def burned(sub: gpd.GeoDataFrame) -> np.ndarray:
        if len(sub) == 0:
            return np.array(base.values, dtype=float)
        out = burn(base, sub)  # type: ignore[misc]
        if not isinstance(out, Grid) or out.shape != base.shape:
            raise SchemaError("the burn function must return a Grid of the base grid's shape.")
        return np.asarray(out.values, dtype=float)

    def scenario(key: Hashable) -> np.ndarray:
        sel = labels == key
        return burned(infra[sel] if mode == "add" else infra[~sel])

    reference = burned(infra) if mode == "remove" else np.array(base.values, dtype=float)
    return scenario, keys, reference
