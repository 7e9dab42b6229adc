"""Step-selection functions: used vs available steps, conditional logistic regression, resistance.

The pipeline follows Fortin et al. (2005), Avgar et al. (2016, integrated SSF) and the
R package amt (``steps`` -> ``random_steps`` -> ``extract_covariates`` -> ``fit_issf``):

1. :func:`movement_steps`: consecutive fixes of an individual make a step (length
   ``sl_m``, heading, turn angle ``ta_rad`` relative to the previous step); a gap
   longer than ``max_gap_h`` starts a new burst (no step over it, no turn angle after).
2. :func:`fit_step_distributions`: a gamma distribution of step lengths (location 0)
   and a von Mises distribution of turn angles (mean 0), by maximum likelihood.
3. :func:`random_steps`: each used step with a turn angle gets ``n_random`` available
   steps from the same start, with lengths and turn angles drawn from those
   distributions; the used step and its available steps form one stratum.
4. :func:`extract_covariates`: raster values at the step end or averaged along the
   step, distance from the step end to infrastructure of each type, and the number of
   crossings of infrastructure of each type by the straight step.
5. :func:`fit_ssf`: conditional logistic regression of used vs available within strata
   (a vectorised Newton-Raphson, or statsmodels ``ConditionalLogit``; both agree); with
   ``movement_terms`` (``log_sl``, ``sl_m``, ``cos_ta``) the fit also updates the
   movement kernel (iSSF).
6. :func:`ssf_resistance`: resistance = ``exp(-sum_k beta_k x_k)`` per cell, divided by
   its minimum so that the least resistant cell is 1 (the library's encoding); a cell
   that holds infrastructure of a type with a crossing coefficient gets the factor
   ``exp(-beta_cross)`` (one crossing per line cell passed).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import stats

from .._options import check_option
from ..errors import CRSError, SchemaError
from ..raster import Grid
from ._tracks import prepare_tracks, times_s

__all__ = [
    "MOVEMENT_TERMS",
    "SSFResult",
    "StepDistributions",
    "align_raster",
    "crossing_effects",
    "extract_covariates",
    "fit_ssf",
    "fit_step_distributions",
    "movement_steps",
    "random_steps",
    "ssf_resistance",
]

#: Movement terms of an integrated SSF (Avgar et al. 2016).
MOVEMENT_TERMS: tuple[str, ...] = ("sl_m", "log_sl", "cos_ta")


def _slug(value: object) -> str:
    """Column-name form of a line type (``complete barrier`` -> ``complete_barrier``)."""
    return str(value).strip().replace(" ", "_")


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def movement_steps(tracks: gpd.GeoDataFrame, *, max_gap_h: float | None = None
                   ) -> gpd.GeoDataFrame:
    """Steps between consecutive fixes of each individual (projected CRS).

    Returns
    -------
    GeoDataFrame
        One row per step: ``step`` (id), ``individual``, ``species`` (if present),
        ``burst``, ``t1``, ``t2``, ``dt_s``, ``x1``, ``y1``, ``x2``, ``y2``, ``sl_m``,
        ``heading_rad`` (from east, counter-clockwise), ``ta_rad`` (turn angle in
        (-pi, pi]; ``NaN`` for the first step of a burst or after a zero-length step),
        LineString geometry.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> t = gpd.GeoDataFrame({"individual": ["a"] * 3,
    ...     "timestamp": pd.date_range("2020-01-01", periods=3, freq="2h", tz="UTC")},
    ...     geometry=gpd.points_from_xy([0, 100, 100], [0, 0, 100]), crs="EPSG:32648")
    >>> s = movement_steps(t)
    >>> s["sl_m"].tolist(), [round(float(v), 4) for v in s["ta_rad"].fillna(9)]
    ([100.0, 100.0], [9.0, 1.5708])
    """
    fixes = prepare_tracks(tracks, what="movement_steps", min_fixes=2)
    t = times_s(fixes["timestamp"])
    ind = fixes["individual"].to_numpy()
    x = fixes.geometry.x.to_numpy()
    y = fixes.geometry.y.to_numpy()
    same = ind[1:] == ind[:-1]
    dt = np.diff(t)
    ok = same & (np.ones_like(dt, dtype=bool) if max_gap_h is None
                 else dt <= float(max_gap_h) * 3600)
    i = np.flatnonzero(ok)
    # burst: runs without an individual change or gap
    newrun = np.r_[True, ~ok]
    burst_of_fix = np.cumsum(newrun) - 1
    dx, dy = x[i + 1] - x[i], y[i + 1] - y[i]
    sl = np.hypot(dx, dy)
    head = np.where(sl > 0, np.arctan2(dy, dx), np.nan)
    burst = burst_of_fix[i]
    prev_same = np.r_[False, (burst[1:] == burst[:-1]) & (i[1:] == i[:-1] + 1)]
    ta = np.full(len(i), np.nan)
    ta[prev_same] = _wrap(head[prev_same] - np.r_[np.nan, head[:-1]][prev_same])
    out = pd.DataFrame({
        "step": np.arange(len(i)), "individual": ind[i], "burst": burst,
        "t1": fixes["timestamp"].to_numpy()[i], "t2": fixes["timestamp"].to_numpy()[i + 1],
        "dt_s": dt[i], "x1": x[i], "y1": y[i], "x2": x[i + 1], "y2": y[i + 1], "sl_m": sl,
        "heading_rad": head, "ta_rad": ta})
    if "species" in fixes:
        out.insert(2, "species", fixes["species"].to_numpy()[i])
    out["t1"] = pd.to_datetime(out["t1"], utc=True)
    out["t2"] = pd.to_datetime(out["t2"], utc=True)
    geom = shapely.linestrings(np.stack([np.c_[out["x1"], out["y1"]],
                                         np.c_[out["x2"], out["y2"]]], axis=1))
    return gpd.GeoDataFrame(out, geometry=geom, crs=fixes.crs)


@dataclass(frozen=True)
class StepDistributions:
    """Fitted step-length (gamma, location 0) and turn-angle (von Mises, mean 0) distributions."""

    sl_shape: float
    sl_scale_m: float
    ta_kappa: float

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` step lengths (m) and turn angles (rad)."""
        sl = rng.gamma(self.sl_shape, self.sl_scale_m, n)
        ta = rng.vonmises(0.0, self.ta_kappa, n) if self.ta_kappa > 0 else rng.uniform(
            -np.pi, np.pi, n)
        return sl, ta


def fit_step_distributions(steps: pd.DataFrame) -> StepDistributions:
    """Gamma (step length, location 0) and von Mises (turn angle, mean 0) by maximum likelihood.

    Zero-length steps are left out of the gamma fit (a gamma has no mass at 0).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> d = fit_step_distributions(pd.DataFrame({"sl_m": rng.gamma(2.0, 150.0, 20000),
    ...                                          "ta_rad": rng.vonmises(0, 1.5, 20000)}))
    >>> round(d.sl_shape, 1), round(d.sl_scale_m / 10) * 10, round(d.ta_kappa, 1)
    (2.0, 150, 1.5)
    """
    sl = np.asarray(steps["sl_m"], dtype=float)
    sl = sl[np.isfinite(sl) & (sl > 0)]
    ta = np.asarray(steps["ta_rad"], dtype=float)
    ta = ta[np.isfinite(ta)]
    if len(sl) < 10 or len(ta) < 10:
        raise SchemaError(f"fit_step_distributions needs at least 10 steps with a length and "
                          f"10 with a turn angle; got {len(sl)} and {len(ta)}. Give longer "
                          "tracks or a larger max_gap_h.")
    log_ratio = float(np.log(sl.mean()) - np.log(sl).mean())
    if not log_ratio > 1e-12:
        raise SchemaError(f"fit_step_distributions: all {len(sl)} step lengths are equal "
                          f"({sl[0]:g} m), so no gamma distribution fits them; are the fixes "
                          "interpolated or simulated without noise?")
    shape, _, scale = stats.gamma.fit(sl, floc=0)
    # von Mises with mean 0: kappa solves A(kappa) = mean(cos ta)
    r = float(np.mean(np.cos(ta)))
    kappa = 0.0 if r <= 0 else float(_a_inverse(r))
    return StepDistributions(float(shape), float(scale), kappa)


def _a_inverse(r: float) -> float:
    from scipy.optimize import brentq
    from scipy.special import i0e, i1e

    if r >= 0.999999:
        return 1e6
    return brentq(lambda k: i1e(k) / i0e(k) - r, 1e-9, 1e6)


def random_steps(steps: gpd.GeoDataFrame, *, n_random: int = 10,
                 distributions: StepDistributions | None = None,
                 seed: int | np.random.Generator | None = None) -> gpd.GeoDataFrame:
    """Used steps (with a turn angle) and ``n_random`` available steps each, one stratum per step.

    Parameters
    ----------
    steps : GeoDataFrame
        From :func:`movement_steps`.
    n_random : int, default 10
    distributions : StepDistributions, optional
        Default: fitted to ``steps`` (:func:`fit_step_distributions`).
    seed : int or Generator, optional

    Returns
    -------
    GeoDataFrame
        Columns of ``steps`` plus ``case`` (True for used), ``stratum`` (= ``step``),
        ``log_sl`` and ``cos_ta``; available steps share the start, ``t1`` and ``t2`` of
        their used step. ``attrs["distributions"]`` holds the distributions used.

    Examples
    --------
    >>> import numpy as np, geopandas as gpd, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> t = gpd.GeoDataFrame({"individual": "a",
    ...     "timestamp": pd.date_range("2020-01-01", periods=60, freq="2h", tz="UTC")},
    ...     geometry=gpd.points_from_xy(np.cumsum(rng.normal(0, 100, 60)),
    ...                                 np.cumsum(rng.normal(0, 100, 60))), crs="EPSG:32648")
    >>> r = random_steps(movement_steps(t), n_random=5, seed=0)
    >>> len(r), int(r["case"].sum()), r.groupby("stratum").size().unique().tolist()
    (348, 58, [6])
    """
    if not isinstance(n_random, int | np.integer) or n_random < 1:
        raise SchemaError(f"random_steps: n_random must be a positive integer; got {n_random!r}.")
    rng = np.random.default_rng(seed)
    used = steps[steps["ta_rad"].notna()].copy()
    if len(used) == 0:
        raise SchemaError("random_steps: no step has a turn angle (each needs a previous step "
                          "in the same burst); give tracks with 3+ consecutive fixes.")
    dist = distributions or fit_step_distributions(steps)
    n = len(used)
    sl, ta = dist.sample(n * n_random, rng)
    prev_head = np.repeat(used["heading_rad"].to_numpy() - used["ta_rad"].to_numpy(), n_random)
    head = _wrap(prev_head + ta)
    x1 = np.repeat(used["x1"].to_numpy(), n_random)
    y1 = np.repeat(used["y1"].to_numpy(), n_random)
    avail = used.loc[used.index.repeat(n_random)].copy()
    avail["x2"] = x1 + sl * np.cos(head)
    avail["y2"] = y1 + sl * np.sin(head)
    avail["sl_m"] = sl
    avail["ta_rad"] = ta
    avail["heading_rad"] = head
    avail["case"] = False
    used["case"] = True
    out = pd.concat([used, avail], ignore_index=True)
    out["stratum"] = out["step"]
    out = out.sort_values(["stratum", "case"], ascending=[True, False],
                          kind="stable").reset_index(drop=True)
    out["log_sl"] = np.log(np.maximum(out["sl_m"], 1e-3))
    out["cos_ta"] = np.cos(out["ta_rad"])
    geom = shapely.linestrings(np.stack([np.c_[out["x1"], out["y1"]],
                                         np.c_[out["x2"], out["y2"]]], axis=1))
    res = gpd.GeoDataFrame(out.drop(columns=out.geometry.name), geometry=geom, crs=steps.crs)
    res.attrs["distributions"] = dist
    return res


def _sample(grid: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r, c = grid.rowcol(x, y)
    inside = (r >= 0) & (r < grid.shape[0]) & (c >= 0) & (c < grid.shape[1])
    out = np.full(len(x), np.nan)
    out[inside] = np.asarray(grid.values, dtype=float)[r[inside], c[inside]]
    return out


def extract_covariates(steps: gpd.GeoDataFrame, *, rasters: Mapping[str, Grid] | None = None,
                       where: Literal["end", "along"] = "end", n_along: int = 10,
                       lines: gpd.GeoDataFrame | None = None, line_type: str = "infra_type",
                       distance: bool = True) -> gpd.GeoDataFrame:
    """Covariates of (used and available) steps: rasters, distance to and crossings of lines.

    Parameters
    ----------
    steps : GeoDataFrame
        From :func:`random_steps` (or :func:`movement_steps`).
    rasters : mapping of name -> Grid
        Rasters in the steps' CRS. Column ``name`` is the value of the cell holding the
        step end (``where="end"``) or the mean of the values at ``n_along`` points at the
        middles of ``n_along`` equal parts of the step (``where="along"``); ``NaN``
        outside a raster.
    lines : GeoDataFrame, optional
        Lines (e.g. the atlas infrastructure) grouped by ``line_type``; for each type
        ``T`` the columns ``cross_T`` (number of times the straight step crosses a line
        of type ``T``) and, with ``distance``, ``dist_T_m`` (distance from the step end);
        spaces in ``T`` become ``_``. ``line_type`` can be any column, e.g.
        ``barrier_class`` from :func:`cami_atlas.barriers.classify_barriers`.

    Returns
    -------
    GeoDataFrame
        A copy of ``steps`` with the covariate columns.

    Examples
    --------
    >>> import numpy as np, geopandas as gpd, shapely
    >>> from affine import Affine
    >>> g = Grid(np.array([[1.0, 2.0, 4.0]]), Affine(10, 0, 0, 0, -10, 10), "EPSG:32648")
    >>> s = gpd.GeoDataFrame({"x1": [5.0], "y1": [5.0], "x2": [25.0], "y2": [5.0]},
    ...     geometry=[shapely.LineString([(5, 5), (25, 5)])], crs="EPSG:32648")
    >>> extract_covariates(s, rasters={"v": g})["v"].tolist()
    [4.0]
    >>> extract_covariates(s, rasters={"v": g}, where="along", n_along=4)["v"].tolist()
    [2.25]
    """
    check_option("where", where, ("end", "along"))
    if steps.crs is None or steps.crs.is_geographic:
        raise CRSError("extract_covariates needs steps in a projected CRS (metres); build "
                       "them with movement_steps from projected tracks.")
    out = steps.copy()
    x1, y1 = out["x1"].to_numpy(float), out["y1"].to_numpy(float)
    x2, y2 = out["x2"].to_numpy(float), out["y2"].to_numpy(float)
    for name, grid in (rasters or {}).items():
        if grid.crs is None or not grid.crs.equals(steps.crs):
            raise CRSError(f"extract_covariates: raster {name!r} is in "
                           f"{grid.crs.to_string() if grid.crs else 'no CRS'}, the steps in "
                           f"{steps.crs.to_string()}; warp it with grid.to_crs(steps.crs, "
                           "cell_size_m=...).")
        if where == "end":
            out[name] = _sample(grid, x2, y2)
        else:
            f = (np.arange(n_along) + 0.5) / n_along
            px = x1[:, None] + f[None, :] * (x2 - x1)[:, None]
            py = y1[:, None] + f[None, :] * (y2 - y1)[:, None]
            out[name] = _sample(grid, px.ravel(), py.ravel()).reshape(px.shape).mean(axis=1)
    if lines is not None:
        if line_type not in lines:
            raise SchemaError(f"extract_covariates: the lines have no column {line_type!r}; "
                              f"present: {', '.join(map(str, lines.columns))}.")
        if lines.crs is None:
            raise CRSError("extract_covariates: the lines have no CRS; set the CRS they are "
                           "actually in (lines.set_crs(...)).")
        lines = lines.to_crs(steps.crs) if not lines.crs.equals(steps.crs) else lines
        ends = shapely.points(x2, y2)
        geoms = out.geometry.to_numpy()
        for kind, part in lines.groupby(line_type, sort=True):
            tree = shapely.STRtree(part.geometry.to_numpy())
            si, li = tree.query(geoms, predicate="intersects")
            inter = shapely.intersection(geoms[si], part.geometry.to_numpy()[li])
            pts = shapely.get_num_geometries(shapely.extract_unique_points(inter))
            out[f"cross_{_slug(kind)}"] = np.bincount(si, weights=pts, minlength=len(out))
            if distance:
                nearest = tree.query_nearest(ends, all_matches=False, return_distance=True)
                d = np.full(len(out), np.nan)
                d[nearest[0][0]] = nearest[1]
                out[f"dist_{_slug(kind)}_m"] = d
    return out


@dataclass
class SSFResult:
    """A fitted step-selection function.

    Attributes
    ----------
    coefficients : DataFrame
        ``term``, ``coef``, ``se``, ``ci_low``, ``ci_high`` (95 %), ``p_value``,
        ``rss`` (relative selection strength ``exp(coef)`` per unit).
    n_strata, n_used, n_available : int
    dropped_strata : int
        Strata left out because a covariate was missing for the used step or all its
        available steps (e.g. outside a raster).
    distributions : StepDistributions or None
    model : statsmodels result or None
        The statsmodels result with ``engine="statsmodels"``.
    """

    coefficients: pd.DataFrame
    n_strata: int
    n_used: int
    n_available: int
    dropped_strata: int
    distributions: StepDistributions | None
    model: Any

    def coef(self, term: str) -> float:
        """The coefficient of ``term``."""
        return float(self.coefficients.set_index("term").loc[term, "coef"])


def _clogit(x: np.ndarray, stratum: np.ndarray, case: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, float]:
    """Conditional logit with one case per stratum by Newton-Raphson (exact gradient and
    Hessian, vectorised over padded strata). Returns coefficients, covariance, logL."""
    _, inv, size = np.unique(stratum, return_inverse=True, return_counts=True)
    order = np.lexsort((~case, inv))  # per stratum: the case first
    x, inv = x[order], inv[order]
    n_s, k_max, p = len(size), int(size.max()), x.shape[1]
    pos = np.arange(len(inv)) - np.repeat(np.cumsum(size) - size, size)
    xp = np.zeros((n_s, k_max, p))
    xp[inv, pos] = x
    mask = np.zeros((n_s, k_max), dtype=bool)
    mask[inv, pos] = True
    scale = np.maximum(np.abs(x).max(axis=0), 1e-12)  # conditioning only
    xs = xp / scale

    def parts(beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        eta = np.where(mask, xs @ beta, -np.inf)
        top = eta.max(axis=1, keepdims=True)
        w = np.exp(eta - top)
        tot = w.sum(axis=1, keepdims=True)
        pi = w / tot
        ll = float(np.sum(eta[:, 0] - (top[:, 0] + np.log(tot[:, 0]))))
        mean = np.einsum("sk,skp->sp", pi, xs)
        grad = (xs[:, 0, :] - mean).sum(axis=0)
        hess = -(np.einsum("sk,skp,skq->pq", pi, xs, xs) - mean.T @ mean)
        return ll, grad, hess

    beta = np.zeros(p)
    ll, grad, hess = parts(beta)
    for _ in range(100):
        try:
            step = np.linalg.solve(-hess, grad)
        except np.linalg.LinAlgError:
            raise SchemaError("fit_ssf: the terms are collinear (singular information "
                              "matrix); drop one of them.") from None
        t = 1.0
        while True:
            new = parts(beta + t * step)
            if new[0] >= ll - 1e-12 or t < 1e-8:
                break
            t /= 2
        beta = beta + t * step
        done = np.max(np.abs(t * step)) < 1e-10 or abs(new[0] - ll) < 1e-12
        ll, grad, hess = new
        if done:
            break
    cov = np.linalg.inv(-hess)
    return beta / scale, cov / np.outer(scale, scale), ll


def fit_ssf(steps: pd.DataFrame, covariates: Sequence[str], *,
            movement_terms: Sequence[str] = MOVEMENT_TERMS,
            engine: Literal["numpy", "statsmodels"] = "numpy") -> SSFResult:
    """Conditional logistic regression of used vs available steps, one stratum per used step.

    Parameters
    ----------
    steps : DataFrame
        From :func:`extract_covariates` (columns ``case``, ``stratum`` and the terms).
    covariates : sequence of str
        Habitat / infrastructure terms.
    movement_terms : sequence of str, default ("sl_m", "log_sl", "cos_ta")
        Movement terms (iSSF); ``()`` for a plain SSF.
    engine : {"numpy", "statsmodels"}, default "numpy"
        ``"statsmodels"`` fits with ``statsmodels.discrete.conditional_models.
        ConditionalLogit`` (general, but loops over strata in Python: about 10 s for
        3,000 strata of 11 steps). ``"numpy"`` maximises the same likelihood — with
        one used step per stratum it is ``sum_s [eta_used - log sum_k exp eta_k]`` — by
        Newton-Raphson with the exact Hessian, vectorised over strata; the tests check
        that both engines agree (coefficients and standard errors).

    Returns
    -------
    SSFResult
        95 % Wald confidence intervals ``coef ± 1.96 se``.

    Raises
    ------
    SchemaError
        A term is not a column, no stratum is complete, or a term does not vary
        within strata (its coefficient cannot be estimated).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n, k = 3000, 5                         # strata of 1 used + 4 available
    >>> x = rng.normal(size=(n, k))
    >>> p = np.exp(1.0 * x); p /= p.sum(1, keepdims=True)
    >>> pick = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    >>> df = pd.DataFrame({"stratum": np.repeat(np.arange(n), k), "x": x.ravel(),
    ...                    "case": (np.arange(k)[None, :] == pick[:, None]).ravel()})
    >>> res = fit_ssf(df, ["x"], movement_terms=())
    >>> bool(res.coefficients.loc[0, "ci_low"] < 1.0 < res.coefficients.loc[0, "ci_high"])
    True
    """
    check_option("engine", engine, ("numpy", "statsmodels"))
    terms = [*covariates, *movement_terms]
    missing = [c for c in (*terms, "case", "stratum") if c not in steps]
    if missing:
        raise SchemaError(f"fit_ssf: no column(s) {', '.join(map(repr, missing))}; present: "
                          f"{', '.join(map(str, steps.columns))}. Run extract_covariates "
                          "with the rasters / lines that define them.")
    if not terms:
        raise SchemaError("fit_ssf: give at least one covariate or movement term.")
    df = pd.DataFrame({c: pd.to_numeric(steps[c], errors="coerce") for c in terms})
    df["case"] = steps["case"].astype(bool).to_numpy()
    df["stratum"] = steps["stratum"].to_numpy()
    bad_row = ~np.isfinite(df[terms].to_numpy(float)).all(axis=1)
    df = df[~bad_row]
    g = df.groupby("stratum")["case"]
    complete = (g.transform("sum") == 1) & (g.transform("size") >= 2)
    n_all = steps["stratum"].nunique()
    df = df[complete]
    n_strata = df["stratum"].nunique()
    if n_strata == 0:
        raise SchemaError("fit_ssf: no stratum has its used step and an available step with "
                          "every covariate defined (check that the rasters cover the tracks).")
    centred = df[terms] - df.groupby("stratum")[terms].transform("mean")
    flat = [t for t in terms if np.allclose(centred[t].to_numpy(), 0)]
    if flat:
        raise SchemaError(f"fit_ssf: term(s) {flat} do not vary within any stratum, so their "
                          "effect cannot be estimated; drop them.")
    x = df[terms].to_numpy(float)
    if engine == "numpy":
        params, cov, _ = _clogit(x, df["stratum"].to_numpy(), df["case"].to_numpy())
        se = np.sqrt(np.diag(cov))
        model: Any = None
    else:
        try:
            from statsmodels.discrete.conditional_models import ConditionalLogit
        except ImportError as exc:
            raise ImportError("engine='statsmodels' needs statsmodels: pip install "
                              "'cami-atlas[movement]'") from exc
        cl = ConditionalLogit(df["case"].astype(float).to_numpy(), x,
                              groups=df["stratum"].to_numpy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = cl.fit(disp=False, method="bfgs", maxiter=500)
        params, se = np.asarray(model.params), np.asarray(model.bse)
    zq = float(stats.norm.ppf(0.975))
    coefs = pd.DataFrame({"term": terms, "coef": params, "se": se,
                          "ci_low": params - zq * se, "ci_high": params + zq * se,
                          "p_value": 2 * stats.norm.sf(np.abs(params / se)),
                          "rss": np.exp(params)})
    dist = steps.attrs.get("distributions") if hasattr(steps, "attrs") else None
    return SSFResult(coefs, n_strata, int(df["case"].sum()), int((~df["case"]).sum()),
                     n_all - n_strata, dist, model)


def crossing_effects(result: SSFResult) -> pd.DataFrame:
    """The crossing terms (``cross_<type>``) of a fit: effect of one crossing per type.

    Returns
    -------
    DataFrame
        ``infra_type``, ``coef``, ``ci_low``, ``ci_high``, ``rss`` (relative selection
        strength of a step that crosses once vs. one that does not, with ``rss_low``,
        ``rss_high``).

    Examples
    --------
    >>> res = SSFResult(pd.DataFrame({"term": ["cross_road", "forage"], "coef": [-1.0, 0.5],
    ...                               "se": [0.1, 0.1], "ci_low": [-1.2, 0.3],
    ...                               "ci_high": [-0.8, 0.7], "p_value": [0, 0],
    ...                               "rss": [0.37, 1.6]}), 1, 1, 1, 0, None, None)
    >>> crossing_effects(res)[["infra_type", "coef"]].values.tolist()
    [['road', -1.0]]
    """
    c = result.coefficients
    c = c[c["term"].str.startswith("cross_")]
    return pd.DataFrame({
        "infra_type": c["term"].str.removeprefix("cross_").to_numpy(),
        "coef": c["coef"].to_numpy(), "ci_low": c["ci_low"].to_numpy(),
        "ci_high": c["ci_high"].to_numpy(), "rss": np.exp(c["coef"].to_numpy()),
        "rss_low": np.exp(c["ci_low"].to_numpy()), "rss_high": np.exp(c["ci_high"].to_numpy())})


def ssf_resistance(result: SSFResult, template: Grid, *,
                   rasters: Mapping[str, Grid] | None = None,
                   lines: gpd.GeoDataFrame | None = None,
                   line_type: str = "infra_type") -> Grid:
    """Resistance surface from a fitted SSF: ``exp(-linear predictor)``, scaled to a minimum of 1.

    Each cell's linear predictor sums ``beta_k * x_k`` over the habitat terms (raster
    values of the cell), ``beta_dist_T * distance`` to the nearest line of type ``T``
    (cell centre, Euclidean, from a distance transform of the rasterised lines) and
    ``beta_cross_T`` for cells that a line of type ``T`` passes through. Movement terms
    are not part of the surface. Cells where a term is ``NaN`` are ``NaN``.

    Parameters
    ----------
    result : SSFResult
    template : Grid
        Grid of the output (projected, square cells); every raster must share it.
    rasters : mapping of name -> Grid
        The rasters of the habitat terms, on ``template``'s grid.
    lines : GeoDataFrame, optional
        Lines for the ``cross_*`` and ``dist_*_m`` terms.

    Returns
    -------
    Grid
        Resistance (>= 1, ``NaN`` outside), ready for :mod:`cami_atlas.connectivity`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from affine import Affine
    >>> g = Grid(np.array([[0.0, 1.0, 2.0]]), Affine(10, 0, 0, 0, -10, 10), "EPSG:32648")
    >>> res = SSFResult(pd.DataFrame({"term": ["forage", "cos_ta"], "coef": [np.log(2), 5.0],
    ...                               "se": 0.1, "ci_low": 0.0, "ci_high": 1.0,
    ...                               "p_value": 0.0, "rss": 1.0}), 1, 1, 1, 0, None, None)
    >>> ssf_resistance(res, g, rasters={"forage": g}).values.tolist()
    [[4.0, 2.0, 1.0]]
    """
    import rasterio.features
    from scipy import ndimage

    template.require_projected("ssf_resistance")
    rasters = dict(rasters or {})
    eta = np.zeros(template.shape)
    for row in result.coefficients.itertuples():
        term, beta = row.term, float(row.coef)
        if term in MOVEMENT_TERMS:
            continue
        if term in rasters:
            grid = rasters[term]
            if grid.shape != template.shape or grid.transform != template.transform or (
                    grid.crs is None or not grid.crs.equals(template.crs)):
                raise CRSError(f"ssf_resistance: raster {term!r} is not on the template grid; "
                               "warp it with grid.to_crs(template.crs, cell_size_m=...) and "
                               "crop it to the template.")
            eta += beta * np.asarray(grid.values, dtype=float)
        elif term.startswith(("cross_", "dist_")) and lines is not None:
            kind = term.removeprefix("cross_") if term.startswith("cross_") else \
                term.removeprefix("dist_").removesuffix("_m")
            part = lines[lines[line_type].map(_slug) == kind]
            if len(part) == 0:
                raise SchemaError(f"ssf_resistance: term {term!r} but the lines hold no "
                                  f"{line_type} {kind!r}; pass the lines the SSF was fitted "
                                  "with.")
            part = part.to_crs(template.crs) if not part.crs.equals(template.crs) else part
            mask = rasterio.features.rasterize(
                ((g, 1) for g in part.geometry), out_shape=template.shape,
                transform=template.transform, all_touched=True, dtype="uint8") > 0
            if term.startswith("cross_"):
                eta += beta * mask
            else:
                dist = (ndimage.distance_transform_edt(~mask) * template.cell_size_m
                        if mask.any() else np.full(template.shape, np.inf))
                eta += beta * dist
        else:
            raise SchemaError(f"ssf_resistance: no data for term {term!r}; pass it in rasters= "
                              "(habitat terms) or lines= (cross_* and dist_*_m terms).")
    with np.errstate(over="ignore", invalid="ignore"):
        res = np.exp(-(eta - np.nanmax(eta)))
    if not np.isfinite(res).any():
        raise SchemaError("ssf_resistance: the linear predictor is not finite anywhere; check "
                          "that the covariate rasters cover the template grid and that the "
                          "fit converged (finite coefficients).")
    return template.with_values(res, name="ssf_resistance")


def align_raster(raster: Grid, template: Grid, *,
                 resampling: Literal["nearest", "bilinear", "average"] = "bilinear") -> Grid:
    """Warp ``raster`` onto the cells of ``template`` (rasterio.warp; NaN where it has no data).

    Use ``resampling="nearest"`` for classes (land cover).

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> src = Grid(np.arange(4.0).reshape(2, 2), Affine(10, 0, 0, 0, -10, 20), "EPSG:32648")
    >>> tpl = Grid(np.zeros((2, 4)), Affine(5, 0, 0, 0, -10, 20), "EPSG:32648")
    >>> align_raster(src, tpl, resampling="nearest").values.tolist()
    [[0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]]
    """
    import rasterio.warp
    from rasterio.enums import Resampling

    check_option("resampling", resampling, ("nearest", "bilinear", "average"))
    if raster.crs is None or template.crs is None:
        raise CRSError("align_raster: both grids need a CRS; set the CRS the raster is "
                       "actually in.")
    out = np.full(template.shape, np.nan)
    src = np.asarray(raster.values, dtype=float)
    rasterio.warp.reproject(
        src, out, src_transform=raster.transform, src_crs=raster.crs.to_wkt(),
        dst_transform=template.transform, dst_crs=template.crs.to_wkt(), src_nodata=np.nan,
        dst_nodata=np.nan, resampling=getattr(Resampling, resampling))
    return template.with_values(out, name=raster.name)
