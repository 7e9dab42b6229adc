"""Getis-Ord Gi* hot and cold spots of a per-cell value (esda + libpysal).

Gi* is ``esda.G_Local(y, w, transform="B", star=True)``: binary spatial weights
with the cell itself included (self-weight 1), the classic Gi* of Getis & Ord
(1992) / Ord & Getis (1995) as in ArcGIS' Hot Spot Analysis.

Inference
---------
``p_value="sim"`` (default) uses esda's conditional-permutation pseudo p-value
``p_sim``: the cell's own value is held fixed, its neighbours are drawn at random
from the other cells ``permutations`` times (seeded, reproducible), and
``p_sim = (k + 1) / (permutations + 1)`` where ``k`` counts the draws at least as
extreme as the observed Gi* *in the direction of the observed deviation*
(one-sided, "directed"). One correction: esda counts draws *equal* to the observed
value as more extreme on the low side, so in zero-inflated data (most cells without
infrastructure) a zero cell among zero neighbours would get the smallest p-value
possible and show as a spurious cold spot. Where a cell's neighbour sum is the most
extreme achievable (lowest with ``z < 0``, highest with ``z > 0``), ``gi_p`` is
therefore raised to the exact probability that random neighbours reach that extreme
(hypergeometric); elsewhere ``gi_p`` is esda's ``p_sim`` unchanged.
The smallest possible p is ``1 / (permutations + 1)``, so
99 permutations can reach the 99 % level only with ``p <= 0.01``; use 999 or more
for real analyses. ``p_value="norm"`` uses the one-sided normal p-value of the
analytical z-score (``esda``'s ``p_norm``), which needs no permutations.

A cell is a **hot spot** when ``z > 0`` and ``p <= level``, a **cold spot** when
``z < 0`` and ``p <= level``; the label carries the strictest level met among
0.01 (99 %), 0.05 (95 %) and 0.10 (90 %) that is not above ``alpha``. There is no
correction for multiple testing (as in ArcGIS without the FDR option); pass
``correction="fdr"`` to compare Benjamini-Hochberg adjusted p-values
(``scipy.stats.false_discovery_control``) instead.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from .._options import check_option
from ..errors import OptionError, SchemaError
from ._common import check_cells, require_column

__all__ = ["GI_CLASSES", "gi_star", "spatial_weights"]

#: Labels of :func:`gi_star`, from hottest to coldest.
GI_CLASSES: tuple[str, ...] = (
    "hot spot 99%", "hot spot 95%", "hot spot 90%", "not significant",
    "cold spot 90%", "cold spot 95%", "cold spot 99%",
)
#: The Gi* classes that count as hot.
HOT_CLASSES: tuple[str, ...] = GI_CLASSES[:3]
_LEVELS = ((0.01, "99%"), (0.05, "95%"), (0.10, "90%"))
_EARTH_RADIUS_KM = 6371.0088  # mean radius of the WGS84 ellipsoid (IUGG)


def _pysal() -> tuple[Any, Any]:
    try:
        import esda
        import libpysal
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Gi* hot spots need esda and libpysal: pip install 'cami-atlas[hotspots]' "
            "(or pip install esda libpysal)."
        ) from exc
    return esda, libpysal


def spatial_weights(
    cells: gpd.GeoDataFrame,
    *,
    method: Literal["queen", "rook", "distance"] = "queen",
    distance_km: float | None = None,
) -> Any:
    """Binary spatial weights between cells (a ``libpysal.weights.W``, ids 0..n-1).

    ``"queen"`` / ``"rook"``: cells sharing a vertex / an edge are neighbours (for a
    hexagon grid both give the six surrounding cells). ``"distance"``: cells whose
    centroids are at most ``distance_km`` apart on the sphere of mean Earth radius
    (great-circle distance of the centroids in lon/lat; error < 0.5 % against WGS84),
    not in the planar CRS, whose scale is off by up to 10 % over Central Asia.

    Examples
    --------
    >>> from shapely import box
    >>> from cami_atlas.hotspots import hex_grid
    >>> cells = hex_grid(box(0, 0, 50_000, 50_000), cell_km=10, crs="ESRI:102025",
    ...                  region_crs="ESRI:102025")
    >>> w = spatial_weights(cells)
    >>> int(max(w.cardinalities.values()))
    6
    """
    cells = check_cells(cells)
    check_option("method", method, ("queen", "rook", "distance"))
    _, libpysal = _pysal()
    frame = gpd.GeoDataFrame(geometry=cells.geometry.to_numpy(), crs=cells.crs)
    if method in ("queen", "rook"):
        if distance_km is not None:
            raise OptionError(f"distance_km is only used with method='distance'; got "
                              f"method={method!r}, distance_km={distance_km!r}.")
        cls = libpysal.weights.Queen if method == "queen" else libpysal.weights.Rook
        return cls.from_dataframe(frame, use_index=False, silence_warnings=True)
    if distance_km is None or not np.isfinite(distance_km) or distance_km <= 0:
        raise OptionError(
            f"method='distance' needs distance_km > 0 (e.g. 1.5 times the cell width); "
            f"got {distance_km!r}."
        )
    centres = frame.geometry.centroid.to_crs("EPSG:4326")
    coords = np.column_stack([centres.x.to_numpy(), centres.y.to_numpy()])
    return libpysal.weights.DistanceBand(
        coords, threshold=float(distance_km), binary=True, distance_metric="arc",
        radius=_EARTH_RADIUS_KM, silence_warnings=True)


def _values(cells: gpd.GeoDataFrame, values: Any) -> np.ndarray:
    if isinstance(values, str):
        require_column(cells, values, "cells")
        series = cells[values]
    elif isinstance(values, pd.Series):
        if not values.index.equals(cells.index):
            raise SchemaError(
                "values must be aligned to cells.index (same labels, same order); "
                "reindex it with values.reindex(cells.index) first."
            )
        series = values
    else:
        series = pd.Series(np.asarray(values))
        if len(series) != len(cells):
            raise SchemaError(f"values has {len(series)} entries for {len(cells)} cells; pass "
                              "one value per cell, in the order of cells (or a column name).")
    y = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(y).all():
        raise SchemaError(
            f"Gi* needs a finite value in every cell; {int((~np.isfinite(y)).sum())} are "
            "missing or infinite. Fill them (e.g. .fillna(0)) or drop those cells."
        )
    return y


def _extreme_probability(y: np.ndarray, w: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: is the neighbours' sum the smallest achievable, and the exact probability
    that ``k`` neighbours drawn at random from the other cells reach that minimum."""
    from scipy.special import gammaln

    adj = w.sparse.tocsr().astype(bool).astype(float)
    adj.setdiag(0)
    adj.eliminate_zeros()
    k = np.asarray(adj.sum(axis=1)).ravel().astype(np.int64)
    observed = adj @ y
    n = len(y)
    srt = np.sort(y)
    prefix = np.concatenate([[0.0], np.cumsum(srt)])
    kk = np.minimum(k, n - 1)
    own_in_k = y <= srt[np.maximum(kk - 1, 0)]  # y_i is among the k smallest values
    min_sum = np.where(own_in_k, prefix[np.minimum(kk + 1, n)] - y, prefix[kk])
    tol = 1e-9 * max(float(np.abs(y).sum()), 1.0)
    at_min = (kk > 0) & (observed <= min_sum + tol)
    # k-th smallest of the others, and how many others lie below / at it
    m = np.where(own_in_k, srt[np.minimum(kk, n - 1)], srt[np.maximum(kk - 1, 0)])
    below = np.searchsorted(srt, m, side="left") - (y < m)
    equal = np.searchsorted(srt, m, side="right") - np.searchsorted(srt, m, side="left") - (
        y == m)
    need = kk - below
    ok = at_min & (need >= 0) & (need <= equal)

    def log_comb(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)

    prob = np.zeros(n)
    prob[ok] = np.exp(log_comb(equal[ok], need[ok]) - log_comb(np.full(ok.sum(), n - 1),
                                                                kk[ok]))
    return at_min, prob


def _tie_floor(y: np.ndarray, w: Any, z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Raise ``p`` where the neighbourhood is at its most extreme achievable value.

    esda's directed pseudo p-value counts ties with the observed value as more extreme
    on the low side, so a zero cell among zeros in zero-inflated data gets the smallest
    p-value possible. At such cells (lowest achievable neighbour sum with ``z < 0``, or
    the highest with ``z > 0``) the p-value is raised to the exact probability that
    random neighbours reach that extreme.
    """
    p = p.copy()
    low, p_low = _extreme_probability(y, w)
    high, p_high = _extreme_probability(-y, w)
    fix = low & (z < 0)
    p[fix] = np.maximum(p[fix], p_low[fix])
    fix = high & (z > 0)
    p[fix] = np.maximum(p[fix], p_high[fix])
    return p


def _classify(z: np.ndarray, p: np.ndarray, alpha: float) -> np.ndarray:
    label = np.full(len(z), "not significant", dtype=object)
    for level, text in reversed(_LEVELS):  # 90 % first, stricter levels overwrite
        if level > alpha + 1e-12:
            continue
        sig = p <= level
        label[sig & (z > 0)] = f"hot spot {text}"
        label[sig & (z < 0)] = f"cold spot {text}"
    return label


def gi_star(
    cells: gpd.GeoDataFrame,
    values: str | pd.Series | np.ndarray,
    *,
    weights: Literal["queen", "rook", "distance"] | Any = "queen",
    distance_km: float | None = None,
    permutations: int = 999,
    seed: int = 12345,
    alpha: float = 0.05,
    p_value: Literal["sim", "norm"] = "sim",
    correction: Literal["none", "fdr"] = "none",
) -> pd.DataFrame:
    """Getis-Ord Gi* z-scores, p-values and hot/cold-spot classes of a per-cell value.

    See the module docstring for the statistic and the inference. The global NumPy
    random state is left as it was (esda seeds it internally).

    Parameters
    ----------
    cells : GeoDataFrame
        Grid cells.
    values : str, Series or array
        Column of ``cells``, or values aligned to ``cells.index``; finite everywhere.
    weights : {"queen", "rook", "distance"} or libpysal W
        Neighbourhood (:func:`spatial_weights`), or ready weights over the cells in
        order (ids 0..n-1); they are made binary with self-weight 1.
    distance_km : float, optional
        Distance band for ``weights="distance"``.
    permutations : int
        Conditional permutations for ``p_sim`` (0 allowed with ``p_value="norm"``).
    seed : int
        Seed of the permutations.
    alpha : {0.01, 0.05, 0.1}
        Largest significance level reported.
    p_value : {"sim", "norm"}
        Permutation pseudo p-value or analytical normal p-value (both one-sided).
    correction : {"none", "fdr"}
        Benjamini-Hochberg false-discovery-rate adjustment of the p-values.

    Returns
    -------
    pandas.DataFrame
        ``gi_z`` (analytical z-score of Gi*), ``gi_p`` (the p-value used, adjusted if
        asked) and ``gi_class`` (one of :data:`GI_CLASSES`), aligned to ``cells.index``.
        Constant values give ``gi_z`` NaN, ``gi_p`` 1 and "not significant"; so does a
        cell whose neighbourhood is every cell (zero expected variance: ``gi_z`` NaN).

    Examples
    --------
    >>> import numpy as np
    >>> from shapely import Point, box
    >>> from cami_atlas.hotspots import hex_grid
    >>> cells = hex_grid(box(0, 0, 100_000, 100_000), cell_km=10, crs="ESRI:102025",
    ...                  region_crs="ESRI:102025")
    >>> centre = cells.centroid
    >>> y = np.exp(-((centre.x - 50_000) ** 2 + (centre.y - 50_000) ** 2) / 2e8)
    >>> out = gi_star(cells, y.to_numpy(), permutations=99, seed=1)
    >>> out.loc[centre.distance(Point(50_000, 50_000)).idxmin(), "gi_class"]
    'hot spot 99%'
    """
    cells = check_cells(cells)
    check_option("alpha", alpha, (0.01, 0.05, 0.1))
    check_option("p_value", p_value, ("sim", "norm"))
    check_option("correction", correction, ("none", "fdr"))
    if not isinstance(permutations, int | np.integer) or permutations < 0:
        raise OptionError(f"permutations must be an integer >= 0; got {permutations!r}.")
    if p_value == "sim" and permutations < 1:
        raise OptionError("p_value='sim' needs permutations >= 1 (e.g. 999); "
                          "use p_value='norm' for analytical p-values only.")
    y = _values(cells, values)
    esda, libpysal = _pysal()
    if isinstance(weights, str):
        w = spatial_weights(cells, method=weights, distance_km=distance_km)
    elif isinstance(weights, libpysal.weights.W):
        if weights.n != len(cells):
            raise SchemaError(f"weights cover {weights.n} cells but there are {len(cells)}; "
                              "build them from these cells (spatial_weights(cells)) or pass "
                              "weights='queen'.")
        w = libpysal.weights.W(weights.neighbors, weights.weights, id_order=weights.id_order,
                               silence_warnings=True)
    else:
        raise OptionError(f"weights must be 'queen', 'rook', 'distance' or a libpysal W; got "
                          f"{type(weights).__name__}.")
    index = cells.index
    if np.ptp(y) == 0:
        return pd.DataFrame({"gi_z": np.full(len(y), np.nan), "gi_p": np.ones(len(y)),
                             "gi_class": np.full(len(y), "not significant", dtype=object)},
                            index=index)
    state = np.random.get_state()  # noqa: NPY002 - esda reseeds the legacy global state
    try:
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            # esda 2.x announces a future change of its default; we rely on (and test) the
            # current "directed" pseudo p-value described in the module docstring
            warnings.filterwarnings("ignore", message="The alternative hypothesis",
                                    category=DeprecationWarning)
            g = esda.G_Local(y, w, transform="B", permutations=int(permutations), star=True,
                             keep_simulations=False, n_jobs=1, seed=int(seed))
    finally:
        np.random.set_state(state)  # noqa: NPY002
    z = np.asarray(g.Zs, dtype=float)
    p = np.asarray(g.p_sim if p_value == "sim" else g.p_norm, dtype=float)
    if p_value == "sim":
        p = _tie_floor(y, w, z, p)
    if correction == "fdr":
        from scipy.stats import false_discovery_control

        p = false_discovery_control(p, method="bh")
    return pd.DataFrame({"gi_z": z, "gi_p": p, "gi_class": _classify(z, p, alpha)},
                        index=index)
