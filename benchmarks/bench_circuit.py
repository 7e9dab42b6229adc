"""Benchmark: all-to-one circuit current on large synthetic random-resistance grids.

Synthetic data (named as such): a seeded log-normal resistance field (``1 + exp(N(1, 1))``,
i.e. resistances from about 1 to a few hundred), no NaN/inf, with a handful of focal
points spread over the grid. Each case runs in its own subprocess so that the peak
resident memory (``ru_maxrss``) belongs to that case alone.

Reported per case: wall and CPU (process) time of
:func:`cami_atlas.connectivity.circuit.circuit_all_to_one` and the CPU time of its phases
(graph, Laplacian assembly, AMG setup, CG solves, current maps), cells per second, the
1-minute load average before/after (the machine may be shared: CPU time is disturbed
less than wall time), peak RSS of the process in bytes per cell, and the working memory
(peak minus the RSS after imports and after creating the input grid) in bytes per cell.

Usage::

    .venv/bin/python benchmarks/bench_circuit.py                 # 1000^2 and 4000^2, 8 neighbours
    .venv/bin/python benchmarks/bench_circuit.py --sizes 1000 --neighbours 4 8
    .venv/bin/python benchmarks/bench_circuit.py --markdown      # a table for RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_case(size: int, neighbours: int, n_focal: int, seed: int, tol: float) -> dict:
    import numpy as np
    from affine import Affine

    import cami_atlas.connectivity.circuit as circuit
    import cami_atlas.connectivity.graph as graph
    from cami_atlas.raster import Grid

    phases: dict[str, float] = defaultdict(float)

    def timed(owner, name, label):
        fn = getattr(owner, name)

        def wrapper(*a, **k):
            t = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                phases[label] += time.process_time() - t
        setattr(owner, name, wrapper)

    timed(circuit, "raster_graph", "graph (labels, components)")
    timed(graph.RasterGraph, "laplacian", "Laplacian assembly")
    timed(circuit.LaplacianSolver, "_setup", "AMG setup")
    timed(circuit.LaplacianSolver, "solve", "CG solves")
    timed(graph.RasterGraph, "node_currents", "current maps")

    rss0 = _rss_bytes()
    rng = np.random.default_rng(seed)
    values = 1.0 + np.exp(rng.normal(1.0, 1.0, (size, size)))
    grid = Grid(values, Affine(100, 0, 0, 0, -100, size * 100), "EPSG:32643",
                name="synthetic lognormal resistance")
    # focal points on a ring around the centre, deterministic
    ang = np.linspace(0, 2 * np.pi, n_focal, endpoint=False)
    rr = size / 2 + 0.35 * size * np.sin(ang)
    cc = size / 2 + 0.35 * size * np.cos(ang)
    pts = np.column_stack([(np.floor(cc) + 0.5) * 100, size * 100 - (np.floor(rr) + 0.5) * 100])
    rss1 = _rss_bytes()
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    res = circuit.circuit_all_to_one(grid, pts, neighbours=neighbours, method="amg", tol=tol)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    cells = size * size
    cur = res.current.values
    return {
        "size": size, "cells": cells, "neighbours": neighbours, "n_focal": n_focal,
        "tol": tol, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
        "cells_per_wall_s": round(cells / wall), "cells_per_cpu_s": round(cells / cpu),
        "load_avg_1min": [round(load0, 1), round(os.getloadavg()[0], 1)],
        "phases_s": {k: round(v, 2) for k, v in phases.items()},
        "peak_rss_bytes_per_cell": round(peak / cells, 1),
        "working_bytes_per_cell": round((peak - rss1) / cells, 1),
        "input_grid_bytes_per_cell": round((rss1 - rss0) / cells, 1),
        "mean_source_voltage": [round(float(v), 4) for v in res.resistances["mean_source_voltage"]],
        "current_sum_a": round(float(np.nansum(cur)), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    ap.add_argument("--neighbours", type=int, nargs="+", default=[8])
    ap.add_argument("--focal", type=int, default=4)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--case", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case[0], args.case[1], args.focal, args.seed, args.tol)))
        return
    rows = []
    for size in args.sizes:
        for nb in args.neighbours:
            out = subprocess.run(
                [sys.executable, __file__, "--case", str(size), str(nb), "--focal",
                 str(args.focal), "--seed", str(args.seed), "--tol", str(args.tol)],
                capture_output=True, text=True, check=False)
            if out.returncode:
                print(out.stderr, file=sys.stderr)
                raise SystemExit(f"case {size} x {size}, {nb} neighbours failed")
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.markdown:
        print("\n| grid | neighbours | focal | wall s | CPU s | cells / CPU s | load 1 min "
              "| peak RSS B/cell | working B/cell | CPU s by phase |")
        print("|---|---|---|---:|---:|---:|---|---:|---:|---|")
        for r in rows:
            ph = ", ".join(f"{k} {v}" for k, v in r["phases_s"].items())
            ld = " / ".join(str(x) for x in r["load_avg_1min"])
            print(f"| {r['size']}x{r['size']} | {r['neighbours']} | {r['n_focal']} | {r['wall_s']} "
                  f"| {r['cpu_s']} | {r['cells_per_cpu_s']:,} | {ld} "
                  f"| {r['peak_rss_bytes_per_cell']} | {r['working_bytes_per_cell']} | {ph} |")


if __name__ == "__main__":
    main()
