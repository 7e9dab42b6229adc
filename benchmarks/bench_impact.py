"""Benchmark: the cost of one barrier-impact scenario, by solver strategy and grid size.

Synthetic data (named as such): a seeded log-normal resistance field (``exp(N(0, 1))``
clipped to [1, 100]) on an ``n x n`` grid of square cells, six 3 x 3 cores spread over
it, and one "segment": a straight run of 50 cells whose resistance is x10 in the
reference and x1 in the scenario (the scenario removes it). Passable cells only (no
``inf``), so every strategy below applies.

Strategies timed for one scenario (5 solves for 6 cores), after the reference is set up:

* ``reuse-direct``: the former :func:`~cami_atlas.connectivity.impact.barrier_impact`
  path with ``method="direct"`` -- the scenario's reduced Laplacian solved by conjugate
  gradients preconditioned with the reference's sparse LU (tolerance 1e-6);
* ``reuse-amg``: the same with the reference's AMG hierarchy (tolerance 1e-6, and 1e-9
  as the workflow used to ask);
* ``fresh-direct``: a new sparse LU of the scenario (what ``barrier_impact`` does now up
  to :data:`~cami_atlas.connectivity.impact.DIRECT_MAX_CELLS` cells);
* ``fresh-amg``: a new AMG hierarchy of the scenario (above that size).

Each time is the best of ``--repeat`` runs (wall clock; the machine may be shared), with
the largest relative difference of the scenario's effective resistances from the
fresh direct solve. ``--impact`` also times a whole :func:`barrier_impact` call (20
segments on the 200 x 200 grid).

Usage::

    .venv/bin/python benchmarks/bench_impact.py                      # 120, 200, 320, 500
    .venv/bin/python benchmarks/bench_impact.py --sizes 200 700 --impact
    .venv/bin/python benchmarks/bench_impact.py --markdown            # table for RESULTS.md
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

import numpy as np
from affine import Affine

from cami_atlas.connectivity.circuit import _Focal, _prepare
from cami_atlas.connectivity.solvers import LaplacianSolver
from cami_atlas.raster import Grid

T = Affine(1000, 0, 0, 0, -1000, 0)


def landscape(n: int, seed: int = 0) -> tuple[Grid, Grid, np.ndarray]:
    """(reference, scenario, core labels) on an n x n SYNTHETIC grid."""
    rng = np.random.default_rng(seed)
    r = np.exp(rng.normal(0.0, 1.0, (n, n))).clip(1.0, 100.0)
    labels = np.zeros((n, n), dtype=np.int64)
    for k, (a, b) in enumerate([(0.15, 0.15), (0.15, 0.85), (0.85, 0.15), (0.85, 0.85),
                                (0.5, 0.3), (0.5, 0.7)]):
        i, j = int(a * n), int(b * n)
        labels[i:i + 3, j:j + 3] = k + 1
    seg = np.zeros((n, n), dtype=bool)
    seg[n // 4:n // 4 + 50, n // 2] = True
    ref = r.copy()
    ref[seg] *= 10.0
    return Grid(ref, T, "EPSG:32643"), Grid(r, T, "EPSG:32643"), labels


def _best(fn, repeat: int) -> tuple[float, np.ndarray]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out  # type: ignore[return-value]


def _reuse(ref: _Focal, scn: Grid, tol: float) -> np.ndarray:
    """The former scenario path: reference setup as the CG preconditioner."""
    graph = dataclasses.replace(ref.graph, resistance=scn)
    matrix = graph.laplacian(grounds=ref.solver.grounds)
    old_tol = ref.solver.tol
    ref.solver.tol = tol
    try:
        return _Focal(graph, ref.solver, ref.ids, ref.nodes, ref.comp,
                      matrix=matrix).resistance_matrix()
    finally:
        ref.solver.tol = old_tol


def _fresh(ref: _Focal, scn: Grid, method: str) -> np.ndarray:
    graph = dataclasses.replace(ref.graph, resistance=scn)
    solver = LaplacianSolver(graph=graph, grounds=ref.solver.grounds, method=method)
    return _Focal(graph, solver, ref.ids, ref.nodes, ref.comp).resistance_matrix()


def run_size(n: int, repeat: int) -> list[dict]:
    ref_grid, scn, labels = landscape(n)
    opts = dict(neighbours=8, average="resistance", tol=1e-6)
    ref_d = _prepare(ref_grid, labels, method="direct", **opts)
    ref_d.resistance_matrix()
    ref_a = _prepare(ref_grid, labels, method="amg", **opts)
    ref_a.resistance_matrix()
    t_exact, exact = _best(lambda: _fresh(ref_d, scn, "direct"), repeat)
    rows = []
    cases = [("fresh-direct", None),
             ("fresh-amg", lambda: _fresh(ref_a, scn, "amg")),
             ("reuse-direct (LU-preconditioned CG, 1e-6)", lambda: _reuse(ref_d, scn, 1e-6)),
             ("reuse-amg (1e-6)", lambda: _reuse(ref_a, scn, 1e-6)),
             ("reuse-amg (1e-9)", lambda: _reuse(ref_a, scn, 1e-9))]
    for name, fn in cases:
        t, r = (t_exact, exact) if fn is None else _best(fn, repeat)
        err = float(np.max(np.abs(r - exact) / np.where(exact > 0, exact, 1.0)))
        rows.append({"cells": n * n, "strategy": name, "s": t, "rel_err": err})
        print(f"{n * n:>9,} cells  {name:<44} {t:7.3f} s  max rel diff {err:.1e}", flush=True)
    return rows


def run_impact(n: int = 200, segments: int = 20) -> float:
    from cami_atlas.connectivity.impact import barrier_impact

    ref_grid, _, labels = landscape(n)
    base = Grid(np.asarray(ref_grid.values), T, "EPSG:32643")
    masks = {}
    for k in range(segments):
        m = np.zeros((n, n), dtype=bool)
        c = 10 + k * (n - 20) // segments
        m[n // 5:n // 5 + 40, c] = True
        masks[f"s{k}"] = m
    t0 = time.perf_counter()
    barrier_impact(base, masks, labels, barrier_resistance=10.0, how="multiply")
    dt = time.perf_counter() - t0
    print(f"barrier_impact: {n * n:,} cells, {segments} scenarios: {dt:.1f} s "
          f"({dt / (segments + 1):.2f} s per solve incl. the reference)")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[120, 200, 320, 500])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--impact", action="store_true", help="also time a whole barrier_impact")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python "
          f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f}")
    rows = [r for n in args.sizes for r in run_size(n, args.repeat)]
    if args.impact:
        run_impact()
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.markdown:
        print("\n| cells | strategy | s per scenario | max rel. diff vs fresh direct |")
        print("|---:|---|---:|---:|")
        for r in rows:
            print(f"| {r['cells']:,} | {r['strategy']} | {r['s']:.3f} | {r['rel_err']:.1e} |")


if __name__ == "__main__":
    main()
