"""Brownian bridge movement model (Horne et al. 2007) and dynamic BBMM (Kranstauber et al. 2012).

Between two fixes ``z0`` (time ``t0``) and ``z1`` (time ``t1``), ``T = t1 - t0``, the
position at time ``t``, ``a = (t - t0) / T``, is a bivariate normal with mean
``z0 + a (z1 - z0)`` and, on each axis, variance

    sigma²(t) = T a (1 - a) sigma_m² + (1 - a)² delta0² + a² delta1²

where ``sigma_m²`` is the Brownian motion variance (m²/s) and ``delta0``, ``delta1``
the location errors (standard deviations, m) of the two fixes.

``sigma_m²`` is estimated by leave-one-out likelihood (Horne et al. 2007): every other
fix ``z_i`` is taken out and scored under the bridge between its neighbours, with
the variance above (``a`` the time fraction of ``z_i``); the product over these
independent observations is maximised. The dynamic model lets ``sigma_m²`` change
along the track (Kranstauber et al. 2012): a window of ``window`` fixes slides one
fix at a time; inside it a single variance is compared by BIC with two variances
split at every admissible break point (at least ``margin`` fixes on each side); the
preferred model gives the variance of each segment of the window, and a segment's
variance is the mean over the windows that contain it.

The utilisation distribution (UD) is the bridge density integrated over time,
``UD = (1 / sum T) sum_segments ∫ phi(z; mu(t), sigma²(t)) dt``: each segment is cut
into sub-steps (midpoint rule) and the Gaussian of each sub-step is integrated over
each cell exactly (error functions). The Gaussian is separable, so the cell masses
of all sub-steps are accumulated as one matrix product ``P_yᵀ · diag(w) · P_x``
(no loop over cells). Segments longer than ``max_gap_s`` (gaps) are not drawn and
their fixes do not enter the variance estimate across the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from .._options import check_option
from ..errors import CRSError, SchemaError
from ..raster import Grid
from ._tracks import prepare_tracks, run_ids, times_s

__all__ = [
    "MotionVariance",
    "UDSet",
    "bridge_moments",
    "brownian_bridge_ud",
    "dynamic_motion_variance",
    "motion_variance",
    "track_uds",
]

_LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class MotionVariance:
    """Leave-one-out estimate of the Brownian motion variance.

    Attributes
    ----------
    sigma2_m2_per_s : float
        Maximum-likelihood Brownian motion variance (m² per second, per axis).
    se_m2_per_s : float
        Its standard error from the observed information (curvature of the
        log-likelihood at the maximum).
    n_obs : int
        Number of left-out fixes (independent observations) used.
    log_likelihood : float
        Maximised log-likelihood.
    """

    sigma2_m2_per_s: float
    se_m2_per_s: float
    n_obs: int
    log_likelihood: float


def _errors(location_error_m: float | np.ndarray, n: int, what: str) -> np.ndarray:
    err = np.broadcast_to(np.asarray(location_error_m, dtype=float), (n,)).copy() \
        if np.ndim(location_error_m) == 0 else np.asarray(location_error_m, dtype=float)
    if err.shape != (n,):
        raise SchemaError(f"{what}: location_error_m must be one number or one per fix "
                          f"({n}); got shape {err.shape}.")
    if not np.all(np.isfinite(err)) or np.any(err < 0):
        raise SchemaError(f"{what}: location_error_m must be finite and >= 0 metres.")
    return err


def _check_xyt(x: np.ndarray, y: np.ndarray, t_s: np.ndarray, what: str,
               min_fixes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y, t = (np.asarray(a, dtype=float) for a in (x, y, t_s))
    if not (x.shape == y.shape == t.shape) or x.ndim != 1:
        raise SchemaError(f"{what}: x, y and t_s must be 1-D arrays of one length; got "
                          f"{x.shape}, {y.shape}, {t.shape}.")
    if len(x) < min_fixes:
        raise SchemaError(f"{what} needs at least {min_fixes} fixes; got {len(x)}.")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and np.all(np.isfinite(t))):
        raise SchemaError(f"{what}: coordinates and times must be finite numbers.")
    dt = np.diff(t)
    if np.any(dt <= 0):
        k = int(np.flatnonzero(dt <= 0)[0])
        raise SchemaError(
            f"{what}: times must increase strictly; fix {k + 1} (t={t[k + 1]:g} s) is not "
            f"after fix {k} (t={t[k]:g} s). Sort the fixes by time and drop duplicates.")
    return x, y, t


def bridge_moments(x0: float, y0: float, t0: float, x1: float, y1: float, t1: float,
                   t: np.ndarray | float, *, sigma2_m2_per_s: float,
                   location_error_m: float | tuple[float, float] = 0.0,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and per-axis variance of a Brownian bridge at times ``t``.

    Parameters
    ----------
    x0, y0, t0, x1, y1, t1 : float
        The two fixes (metres, seconds).
    t : float or array
        Times between ``t0`` and ``t1``.
    sigma2_m2_per_s : float
        Brownian motion variance.
    location_error_m : float or (float, float)
        Location error (standard deviation, m) of both fixes, or of each.

    Returns
    -------
    (mean_x, mean_y, variance_m2) : arrays

    Examples
    --------
    >>> mx, my, v = bridge_moments(0, 0, 0, 100, 0, 10, 5.0, sigma2_m2_per_s=2.0)
    >>> float(mx), float(my), float(v)  # T a (1-a) sigma² = 10 * 0.25 * 2
    (50.0, 0.0, 5.0)
    """
    d0, d1 = ((location_error_m, location_error_m) if np.ndim(location_error_m) == 0
              else location_error_m)
    big_t = t1 - t0
    if big_t <= 0:
        raise SchemaError(f"bridge_moments: t1 ({t1}) must be after t0 ({t0}).")
    a = (np.asarray(t, dtype=float) - t0) / big_t
    if np.any((a < 0) | (a > 1)):
        raise SchemaError("bridge_moments: every t must lie between t0 and t1.")
    var = big_t * a * (1 - a) * sigma2_m2_per_s + (1 - a) ** 2 * d0**2 + a**2 * d1**2
    return x0 + a * (x1 - x0), y0 + a * (y1 - y0), var


# -- leave-one-out terms -------------------------------------------------------------------
def _loo_terms(x: np.ndarray, y: np.ndarray, t: np.ndarray, err: np.ndarray,
               valid_centre: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each fix i (1..n-2): c_i = T a(1-a), e_i = error term, d2_i = |z_i - mu_i|²."""
    n = len(x)
    c = np.full(n, np.nan)
    e = np.full(n, np.nan)
    d2 = np.full(n, np.nan)
    if n < 3:
        return c, e, d2
    i = np.arange(1, n - 1)
    big_t = t[i + 1] - t[i - 1]
    a = (t[i] - t[i - 1]) / big_t
    mx = x[i - 1] + a * (x[i + 1] - x[i - 1])
    my = y[i - 1] + a * (y[i + 1] - y[i - 1])
    c[i] = big_t * a * (1 - a)
    e[i] = (1 - a) ** 2 * err[i - 1] ** 2 + a**2 * err[i + 1] ** 2
    d2[i] = (x[i] - mx) ** 2 + (y[i] - my) ** 2
    bad = ~valid_centre
    c[bad] = e[bad] = d2[bad] = np.nan
    return c, e, d2


def _valid_centres(t: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """Fix i can be left out when i-1, i, i+1 lie in one run (no gap around it)."""
    n = len(t)
    ok = np.zeros(n, dtype=bool)
    if n >= 3:
        ok[1:-1] = (runs[:-2] == runs[1:-1]) & (runs[1:-1] == runs[2:])
    return ok


def _alternate(runs: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Every other fix of each run (positions 1, 3, 5, ... within the run), if valid."""
    start = np.r_[0, np.flatnonzero(np.diff(runs)) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(runs)]))
    pos = np.arange(len(runs)) - first
    return valid & (pos % 2 == 1)


def _loglik(s2: float, c: np.ndarray, e: np.ndarray, d2: np.ndarray) -> float:
    v = c * s2 + e
    return float(np.sum(-_LOG_2PI - np.log(v) - d2 / (2 * v)))


def _fit_static(c: np.ndarray, e: np.ndarray, d2: np.ndarray) -> MotionVariance:
    n = len(c)
    if np.all(e == 0):  # closed form without location error
        s2 = float(np.mean(d2 / (2 * c)))
    else:
        ref = max(float(np.mean(np.maximum(d2 / 2 - e, 0) / c)), float(np.mean(d2 / (2 * c))),
                  1e-300)
        lo, hi = np.log(ref * 1e-9), np.log(ref * 1e3)
        res = minimize_scalar(lambda u: -_loglik(np.exp(u), c, e, d2), bounds=(lo, hi),
                              method="bounded", options={"xatol": 1e-10})
        s2 = float(np.exp(res.x))
    v = c * s2 + e
    info = float(np.sum(-(c**2) / v**2 + d2 * c**2 / v**3))
    se = float(1 / np.sqrt(info)) if info > 0 else float("nan")
    return MotionVariance(s2, se, n, _loglik(s2, c, e, d2))


def motion_variance(x: np.ndarray, y: np.ndarray, t_s: np.ndarray, *,
                    location_error_m: float | np.ndarray = 0.0,
                    max_gap_s: float | None = None) -> MotionVariance:
    """Brownian motion variance of one track by leave-one-out likelihood (Horne et al. 2007).

    Fixes 1, 3, 5, ... of each run of fixes without a gap are left out in turn and
    scored under the bridge of their neighbours; the likelihood of these independent
    observations is maximised over ``sigma_m²`` (closed form without location error,
    bounded 1-D search with it).

    Parameters
    ----------
    x, y : array
        Projected coordinates (m), in time order.
    t_s : array
        Times (s), strictly increasing.
    location_error_m : float or array, default 0
        Location error of the fixes (standard deviation, m).
    max_gap_s : float, optional
        Intervals longer than this are gaps: no bridge spans them.

    Returns
    -------
    MotionVariance

    Raises
    ------
    SchemaError
        Fewer than 3 fixes, times not strictly increasing, or no fix with a neighbour
        on both sides within ``max_gap_s``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.0, 10.0, 0.0]); y = np.zeros(3); t = np.array([0.0, 1.0, 2.0])
    >>> mv = motion_variance(x, y, t)   # d² = 100, T a(1-a) = 0.5 -> sigma² = 100 / (2 * 0.5)
    >>> mv.sigma2_m2_per_s, mv.n_obs
    (100.0, 1)
    """
    x, y, t = _check_xyt(x, y, t_s, "motion_variance", 3)
    err = _errors(location_error_m, len(x), "motion_variance")
    runs = run_ids(t, max_gap_s)
    valid = _valid_centres(t, runs)
    use = _alternate(runs, valid)
    if not use.any():
        raise SchemaError(
            "motion_variance: no fix has a neighbour on both sides without a gap longer than "
            f"max_gap_s={max_gap_s}; raise max_gap_s or give a track with 3+ regular fixes.")
    c, e, d2 = _loo_terms(x, y, t, err, valid)
    return _fit_static(c[use], e[use], d2[use])


# -- dynamic model -------------------------------------------------------------------------
def _grid_argmax(ll: np.ndarray, log_grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum over the last axis with parabolic refinement on the log-variance grid."""
    k = np.clip(np.argmax(ll, axis=-1), 1, ll.shape[-1] - 2)
    ym = np.take_along_axis(ll, (k - 1)[..., None], -1)[..., 0]
    y0 = np.take_along_axis(ll, k[..., None], -1)[..., 0]
    yp = np.take_along_axis(ll, (k + 1)[..., None], -1)[..., 0]
    den = ym - 2 * y0 + yp
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.where(den < 0, 0.5 * (ym - yp) / den, 0.0)
    off = np.clip(off, -1, 1)
    step = log_grid[1] - log_grid[0]
    return np.exp(log_grid[k] + off * step), y0 - 0.25 * (ym - yp) * off


def dynamic_motion_variance(x: np.ndarray, y: np.ndarray, t_s: np.ndarray, *,
                            location_error_m: float | np.ndarray = 0.0,
                            window: int = 31, margin: int = 11,
                            max_gap_s: float | None = None) -> np.ndarray:
    """Brownian motion variance of each segment, changing along the track (dBBMM).

    Kranstauber et al. (2012): a window of ``window`` fixes slides along each run of
    fixes (runs are split at gaps longer than ``max_gap_s``). In the window, the
    leave-one-out likelihood (every other fix) of one variance is compared by BIC
    (``-2 logL + k ln n``, k = 1 or 2, n left-out fixes) with the best split into two
    variances at a break fix ``b`` (an even window position with at least ``margin``
    fixes on each side). The preferred model gives each segment of the window a
    variance; a segment's variance is the mean over its windows. Runs shorter than
    ``window`` get their own static estimate (3+ fixes), else the track's.

    The maximisation uses a log-spaced grid of 321 values over eight decades around
    the data's scale, refined by a parabola (relative error well under 1 %), for all
    windows and break points at once.

    Parameters
    ----------
    x, y, t_s : array
        Coordinates (m) and times (s) in time order.
    location_error_m : float or array, default 0
    window : int, default 31
        Odd number of fixes per window.
    margin : int, default 11
        Odd number of fixes at least on each side of a break; ``window >= 2 margin + 1``.
    max_gap_s : float, optional
        Intervals longer than this are gaps.

    Returns
    -------
    numpy.ndarray
        ``len(x) - 1`` variances (m²/s), one per segment; ``NaN`` for gap segments.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> t = np.arange(200.0)
    >>> s = np.where(t < 100, 1.0, 25.0)           # the variance jumps at fix 100
    >>> x = np.cumsum(rng.normal(0, np.sqrt(s))); y = np.cumsum(rng.normal(0, np.sqrt(s)))
    >>> v = dynamic_motion_variance(x, y, t, window=31, margin=11)
    >>> bool(np.median(v[:80]) < 3 < 10 < np.median(v[120:]))
    True

    Longer than 120 lines only through this documentation; the code is about 75 lines of
    one sliding-window loop (window, break-point search, averaging) kept together
    because they share the per-window likelihood arrays.
    """
    x, y, t = _check_xyt(x, y, t_s, "dynamic_motion_variance", 3)
    err = _errors(location_error_m, len(x), "dynamic_motion_variance")
    for label, v in (("window", window), ("margin", margin)):
        if not isinstance(v, int | np.integer) or v < 3 or v % 2 == 0:
            raise SchemaError(f"dynamic_motion_variance: {label} must be an odd integer >= 3; "
                              f"got {v!r}.")
    if window < 2 * margin + 1:
        raise SchemaError(f"dynamic_motion_variance: window ({window}) must be at least "
                          f"2 * margin + 1 ({2 * margin + 1}).")
    n = len(x)
    runs = run_ids(t, max_gap_s)
    valid = _valid_centres(t, runs)
    if not valid.any():
        raise SchemaError("dynamic_motion_variance: no fix has a neighbour on both sides "
                          f"without a gap longer than max_gap_s={max_gap_s}.")
    c, e, d2 = _loo_terms(x, y, t, err, valid)
    glob = _fit_static(*(a[_alternate(runs, valid)] for a in (c, e, d2))).sigma2_m2_per_s
    ref = float(np.nanmedian(d2[valid] / (2 * c[valid])))
    ref = ref if ref > 0 else max(glob, 1e-12)
    log_grid = np.linspace(np.log(ref) - 4 * np.log(10), np.log(ref) + 4 * np.log(10), 321)
    gvals = np.exp(log_grid)
    ll = np.zeros((n, len(gvals)))
    vv = c[valid, None] * gvals[None, :] + e[valid, None]
    ll[valid] = -_LOG_2PI - np.log(vv) - d2[valid, None] / (2 * vv)
    # parity cumulative sums: S[i + 2] = sum of ll over fixes i, i-2, i-4, ...
    cs = np.zeros((n + 2, len(gvals)))
    cs[2::2] = np.cumsum(ll[0::2], axis=0)
    cs[3::2] = np.cumsum(ll[1::2], axis=0)

    def span(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # fixes a, a+2, ..., b
        return cs[b + 2] - cs[a]

    seg_sum = np.zeros(n - 1)
    seg_cnt = np.zeros(n - 1)
    start = np.r_[0, np.flatnonzero(np.diff(runs)) + 1]
    stop = np.r_[start[1:], n]
    # break fix b (window position, even): fixes 0..b and b..window-1, >= margin each
    breaks = np.arange(margin - 1, window - margin + 1, 2)
    n_obs = (window - 1) // 2
    for r0, r1 in zip(start, stop, strict=True):
        if r1 - r0 < window:
            continue
        j = np.arange(r0, r1 - window + 1)
        full = span(j + 1, j + window - 2)
        s_one, ll_one = _grid_argmax(full, log_grid)
        bic_one = -2 * ll_one + np.log(n_obs)
        left = span(j[:, None] + 1, j[:, None] + breaks[None, :] - 1)
        right = span(j[:, None] + breaks[None, :] + 1, j[:, None] + window - 2)
        s_l, ll_l = _grid_argmax(left, log_grid)
        s_r, ll_r = _grid_argmax(right, log_grid)
        bic_two = -2 * (ll_l + ll_r) + 2 * np.log(n_obs)
        best = np.argmin(bic_two, axis=1)
        take_two = bic_two[np.arange(len(j)), best] < bic_one
        bpos = breaks[best]
        offs = np.arange(window - 1)
        seg_idx = j[:, None] + offs[None, :]
        val = np.where(~take_two[:, None], s_one[:, None],
                       np.where(offs[None, :] < bpos[:, None],
                                s_l[np.arange(len(j)), best][:, None],
                                s_r[np.arange(len(j)), best][:, None]))
        np.add.at(seg_sum, seg_idx.ravel(), val.ravel())
        np.add.at(seg_cnt, seg_idx.ravel(), 1.0)
    out = np.full(n - 1, np.nan)
    covered = seg_cnt > 0
    out[covered] = seg_sum[covered] / seg_cnt[covered]
    same_run = runs[:-1] == runs[1:]
    for r0, r1 in zip(start, stop, strict=True):
        segs = np.arange(r0, r1 - 1)
        if len(segs) == 0 or covered[segs].all():
            continue
        use = _alternate(runs[r0:r1], valid[r0:r1])
        value = (_fit_static(c[r0:r1][use], e[r0:r1][use], d2[r0:r1][use]).sigma2_m2_per_s
                 if use.any() else glob)
        out[segs[~covered[segs]]] = value
    out[~same_run] = np.nan
    return out


# -- utilisation distribution --------------------------------------------------------------
def _grid_frame(grid: Grid) -> tuple[float, float, float, int, int]:
    grid.require_projected("brownian_bridge_ud")
    tr = grid.transform
    if tr.a <= 0 or tr.e >= 0:
        raise CRSError("brownian_bridge_ud needs a north-up grid (positive x step, negative "
                       "y step).")
    return float(tr.c), float(tr.f), float(tr.a), grid.shape[0], grid.shape[1]


def _accumulate(u: np.ndarray, v: np.ndarray, su: np.ndarray, w: np.ndarray,
                nrows: int, ncols: int, chunk_cells: int = 4_000_000,
                ) -> tuple[int, int, np.ndarray]:
    """Cell masses of isotropic Gaussians (centres u=col, v=row in cell units, sd su)
    weighted by w, summed on the window of the grid they reach (within 5 sd)."""
    reach = 5.0 * su
    c0 = int(np.clip(np.floor(np.min(u - reach)), 0, ncols))
    c1 = int(np.clip(np.ceil(np.max(u + reach)), 0, ncols))
    r0 = int(np.clip(np.floor(np.min(v - reach)), 0, nrows))
    r1 = int(np.clip(np.ceil(np.max(v + reach)), 0, nrows))
    if c1 <= c0 or r1 <= r0:
        return r0, c0, np.zeros((0, 0))
    ce = np.arange(c0, c1 + 1, dtype=float)
    re = np.arange(r0, r1 + 1, dtype=float)
    out = np.zeros((r1 - r0, c1 - c0))
    step = max(1, chunk_cells // (len(ce) + len(re)))
    for k in range(0, len(u), step):
        sl = slice(k, k + step)
        px = np.diff(ndtr((ce[None, :] - u[sl, None]) / su[sl, None]), axis=1)
        py = np.diff(ndtr((re[None, :] - v[sl, None]) / su[sl, None]), axis=1)
        out += (py * w[sl, None]).T @ px
    return r0, c0, out


def brownian_bridge_ud(x: np.ndarray, y: np.ndarray, t_s: np.ndarray, grid: Grid, *,
                       sigma2_m2_per_s: float | np.ndarray,
                       location_error_m: float | np.ndarray = 0.0,
                       max_gap_s: float | None = None, time_step_s: float | None = None,
                       crop: bool = True, min_substeps: int = 10) -> Grid:
    """Utilisation distribution of one track on ``grid`` (Brownian bridges, sums to 1).

    Parameters
    ----------
    x, y, t_s : array
        Fixes in the grid's CRS (m) and times (s), strictly increasing.
    grid : Grid
        North-up grid in a projected CRS with square cells; only its geometry is used.
    sigma2_m2_per_s : float or array
        Brownian motion variance: one value, or one per segment (``len(x) - 1``, as
        returned by :func:`dynamic_motion_variance`).
    location_error_m : float or array, default 0
    max_gap_s : float, optional
        Segments longer than this are not drawn (no bridge over a gap).
    time_step_s : float, optional
        Longest sub-step of the time integration; by default each segment gets
        ``max(min_substeps, 2 * length / cell size)`` sub-steps (means at most half a
        cell apart).
    crop : bool, default True
        Return only the window of the grid that holds the UD (a smaller Grid with its
        own transform); ``False`` returns the full grid.
    min_substeps : int, default 10

    Returns
    -------
    Grid
        Probability per cell, summing to 1 over the grid. Mass that falls outside the
        grid is dropped and the rest renormalised; a ``UserWarning`` says so when it
        is more than 1 %.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> g = Grid(np.zeros((50, 50)), Affine(100, 0, 0, 0, -100, 5000), "EPSG:32648")
    >>> ud = brownian_bridge_ud(np.array([1000., 4000.]), np.array([2500., 2500.]),
    ...                         np.array([0., 3600.]), g, sigma2_m2_per_s=10.0)
    >>> round(float(ud.values.sum()), 9)
    1.0
    """
    x, y, t = _check_xyt(x, y, t_s, "brownian_bridge_ud", 2)
    x_left, y_top, cell, nrows, ncols = _grid_frame(grid)
    err = _errors(location_error_m, len(x), "brownian_bridge_ud")
    n_seg = len(x) - 1
    s2 = np.asarray(sigma2_m2_per_s, dtype=float)
    s2 = np.full(n_seg, float(s2)) if s2.ndim == 0 else s2
    if s2.shape != (n_seg,):
        raise SchemaError(f"brownian_bridge_ud: sigma2_m2_per_s must be one number or one per "
                          f"segment ({n_seg}); got shape {s2.shape}.")
    dt = np.diff(t)
    draw = np.ones(n_seg, dtype=bool) if max_gap_s is None else dt <= max_gap_s
    draw &= np.isfinite(s2)
    if np.any(s2[draw] < 0):
        raise SchemaError("brownian_bridge_ud: sigma2_m2_per_s must be >= 0.")
    if not draw.any():
        raise SchemaError(f"brownian_bridge_ud: every segment is a gap (longer than "
                          f"max_gap_s={max_gap_s}) or has no variance; nothing to draw.")
    seg = np.flatnonzero(draw)
    length = np.hypot(np.diff(x), np.diff(y))[seg]
    n_sub = np.maximum(min_substeps, np.ceil(2 * length / cell)).astype(np.int64)
    if time_step_s is not None:
        if not time_step_s > 0:
            raise SchemaError(f"brownian_bridge_ud: time_step_s must be > 0; got {time_step_s}.")
        n_sub = np.maximum(n_sub, np.ceil(dt[seg] / time_step_s).astype(np.int64))
    owner = np.repeat(seg, n_sub)
    first = np.repeat(np.cumsum(n_sub) - n_sub, n_sub)
    k = np.arange(len(owner)) - first
    a = (k + 0.5) / n_sub[np.searchsorted(seg, owner)]
    big_t = dt[owner]
    mx = x[owner] + a * (x[owner + 1] - x[owner])
    my = y[owner] + a * (y[owner + 1] - y[owner])
    var = (big_t * a * (1 - a) * s2[owner] + (1 - a) ** 2 * err[owner] ** 2
           + a**2 * err[owner + 1] ** 2)
    sd = np.maximum(np.sqrt(var), 1e-6 * cell)
    w = big_t / np.repeat(n_sub, n_sub)
    w = w / w.sum()
    r0, c0, ud = _accumulate((mx - x_left) / cell, (y_top - my) / cell, sd / cell, w,
                             nrows, ncols)
    total = float(ud.sum())
    if total <= 0:
        raise SchemaError("brownian_bridge_ud: the track lies outside the grid; give a grid "
                          "that covers it (see cami_atlas.movement.grid_for_tracks).")
    if total < 0.99:
        import warnings

        warnings.warn(f"brownian_bridge_ud: {1 - total:.1%} of the UD falls outside the grid "
                      "and was dropped (the rest renormalised); use a larger grid.",
                      UserWarning, stacklevel=2)
    ud = ud / total
    if not crop:
        full = np.zeros((nrows, ncols))
        full[r0:r0 + ud.shape[0], c0:c0 + ud.shape[1]] = ud
        return grid.with_values(full, name="ud")
    tr = grid.transform * Affine.translation(c0, r0)
    return Grid(ud, tr, grid.crs, None, "ud")


# -- many tracks ---------------------------------------------------------------------------
@dataclass
class UDSet:
    """Utilisation distributions of several tracks on one grid.

    Attributes
    ----------
    grid : Grid
        The full grid (template; its values are not used).
    uds : dict
        Track id -> cropped UD :class:`~cami_atlas.raster.Grid` (sums to 1).
    table : pandas.DataFrame
        One row per track: ``track``, ``individual``, ``species``, ``n_fixes``,
        ``start``, ``end``, ``sigma2_m2_per_s`` (static estimate, or the median of the
        dynamic ones), ``sigma2_se_m2_per_s`` (static model only), ``model``.
    """

    grid: Grid
    uds: dict[str, Grid]
    table: pd.DataFrame

    def full(self, track: str) -> np.ndarray:
        """The UD of ``track`` as an array over the whole grid."""
        return paste(self.uds[track], self.grid)


def paste(window: Grid, grid: Grid) -> np.ndarray:
    """Values of a window Grid (same cells, cropped) placed into an array of ``grid``'s shape.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> g = Grid(np.zeros((3, 3)), Affine(10, 0, 0, 0, -10, 30), "EPSG:32648")
    >>> w = Grid(np.ones((1, 2)), Affine(10, 0, 10, 0, -10, 20), "EPSG:32648")
    >>> paste(w, g).tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    """
    r0, c0 = window_offset(window, grid)
    out = np.zeros(grid.shape)
    out[r0:r0 + window.shape[0], c0:c0 + window.shape[1]] = window.values
    return out


def window_offset(window: Grid, grid: Grid) -> tuple[int, int]:
    """Row and column of ``window``'s top-left cell in ``grid``."""
    c, r = ~grid.transform * (window.transform.c, window.transform.f)
    return int(np.rint(r)), int(np.rint(c))


def _track_ud(task: tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]], grid: Grid, *,
              model: str, location_error_m: float, max_gap_s: float | None, window: int,
              margin: int, time_step_s: float | None) -> tuple[Grid, dict[str, Any]]:
    """Variance and UD of one track (the unit of work, serial or on a Dask worker)."""
    x, y, t, meta = task
    if model == "bbmm":
        mv = motion_variance(x, y, t, location_error_m=location_error_m, max_gap_s=max_gap_s)
        s2: float | np.ndarray = mv.sigma2_m2_per_s
        s2_summary, se = mv.sigma2_m2_per_s, mv.se_m2_per_s
    else:
        s2 = dynamic_motion_variance(x, y, t, location_error_m=location_error_m,
                                     window=window, margin=margin, max_gap_s=max_gap_s)
        s2_summary, se = float(np.nanmedian(s2)), float("nan")
    ud = brownian_bridge_ud(x, y, t, grid, sigma2_m2_per_s=s2,
                            location_error_m=location_error_m, max_gap_s=max_gap_s,
                            time_step_s=time_step_s)
    return ud, {**meta, "sigma2_m2_per_s": s2_summary, "sigma2_se_m2_per_s": se,
                "model": model}


def track_uds(tracks: gpd.GeoDataFrame, grid: Grid, *, by: str = "individual",
              model: Literal["bbmm", "dbbmm"] = "bbmm",
              location_error_m: float = 0.0, max_gap_h: float | None = None,
              window: int = 31, margin: int = 11,
              time_step_s: float | None = None, client: Any = None) -> UDSet:
    """Brownian bridge UDs of every track of a ``tracks`` layer (one per value of ``by``).

    Parameters
    ----------
    tracks : GeoDataFrame
        A tracks layer (``individual``, ``timestamp``, optional ``species``) in a
        projected CRS; with ``by="migration"`` the output of
        :func:`cami_atlas.movement.migration_fixes`.
    grid : Grid
        Target grid (its CRS must equal the tracks' CRS).
    by : str, default "individual"
        Column whose values are the tracks.
    model : {"bbmm", "dbbmm"}
        Static (Horne et al. 2007) or dynamic (Kranstauber et al. 2012) variance.
    location_error_m : float, default 0
    max_gap_h : float, optional
        Intervals longer than this (hours) are gaps: not bridged.
    window, margin : int
        dBBMM window and margin (fixes).
    time_step_s : float, optional
        See :func:`brownian_bridge_ud`.
    client : dask.distributed.Client, optional
        Run one task per track on this Dask cluster (a ``LocalCluster`` or any scheduler
        address the caller connected to); the grid is scattered once. The result is the
        same as without it. Default: serial in this process.

    Returns
    -------
    UDSet

    Examples
    --------
    >>> import numpy as np, pandas as pd, geopandas as gpd
    >>> from affine import Affine
    >>> rng = np.random.default_rng(0)
    >>> n = 40
    >>> t = gpd.GeoDataFrame({"individual": ["a"] * n,
    ...     "timestamp": pd.date_range("2020-01-01", periods=n, freq="2h", tz="UTC")},
    ...     geometry=gpd.points_from_xy(5000 + np.cumsum(rng.normal(0, 100, n)),
    ...                                 5000 + np.cumsum(rng.normal(0, 100, n))),
    ...     crs="EPSG:32648")
    >>> g = Grid(np.zeros((100, 100)), Affine(100, 0, 0, 0, -100, 10000), "EPSG:32648")
    >>> uds = track_uds(t, g)
    >>> list(uds.uds), round(float(uds.uds["a"].values.sum()), 6)
    (['a'], 1.0)
    """
    check_option("model", model, ("bbmm", "dbbmm"))
    fixes = prepare_tracks(tracks, what="track_uds", min_fixes=3, by=by)
    grid.require_projected("track_uds")
    if not fixes.crs.equals(grid.crs):
        raise CRSError(f"track_uds: the tracks ({fixes.crs.to_string()}) and the grid "
                       f"({grid.crs.to_string()}) have different CRSs; reproject the tracks "
                       "with tracks.to_crs(grid.crs).")
    max_gap_s = None if max_gap_h is None else float(max_gap_h) * 3600.0
    tasks = []
    for key, part in fixes.groupby(by, sort=True):
        meta = dict(track=str(key), individual=str(part["individual"].iloc[0]),
                    species=part["species"].iloc[0] if "species" in part else None,
                    n_fixes=len(part), start=part["timestamp"].iloc[0],
                    end=part["timestamp"].iloc[-1])
        tasks.append((part.geometry.x.to_numpy(), part.geometry.y.to_numpy(),
                      times_s(part["timestamp"]), meta))
    opts = dict(model=model, location_error_m=location_error_m, max_gap_s=max_gap_s,
                window=window, margin=margin, time_step_s=time_step_s)
    if client is None:
        done = [_track_ud(task, grid, **opts) for task in tasks]
    else:  # a dask.distributed Client (or anything with map/scatter/gather): one task a track
        shared = client.scatter(grid, broadcast=True)
        done = client.gather(client.map(_track_ud, tasks, grid=shared, **opts, pure=False))
    uds = {row["track"]: ud for ud, row in done}
    rows = [row for _, row in done]
    return UDSet(grid, uds, pd.DataFrame(rows))
