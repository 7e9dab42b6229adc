"""Benchmark: all-to-one circuit current on large synthetic random-resistance grids.

Synthetic data (named as such): a seeded log-normal resistance field (``1 + exp(N(1, 1))``,
i.e. resistances from about 1 to a few hundred), no NaN/inf, with a handful of focal
points spread over the grid. Each case runs in its own subprocess so that the peak
resident memory (``ru_maxrss``) belongs to that case alone.

Reported per case: wall and CPU (process) time of
:func:`cami_atlas.connectivity.circuit.circuit_all_to_one` and the CPU time of its phases
(graph, Laplacian assembly, matrix-free operator, AMG setup, CG solves, current maps),
the CG iterations of each solve, cells per second, the 1-minute load average
before/after (the machine may be shared: CPU time is disturbed less than wall time),
and memory in bytes per cell:

* peak RSS of the case process (``ru_maxrss``; Python + libraries + input grid included);
* working memory: that peak minus the RSS after imports and after creating the input grid;
* the sampled peak of the whole process tree (the case process and any children), every
  20 ms, as the sum of RSS (counts pages shared between processes once per process: an
  over-estimate) and as the sum of PSS (proportional set size from
  ``/proc/<pid>/smaps_rollup``: a shared page counts 1/n in each of its n processes, so
  the sum is the real memory use). A sampled peak can miss a spike shorter than 20 ms.

Usage::

    .venv/bin/python benchmarks/bench_circuit.py                 # 1000^2 and 4000^2, 8 neighbours
    .venv/bin/python benchmarks/bench_circuit.py --sizes 1000 --neighbours 4 8
    .venv/bin/python benchmarks/bench_circuit.py --methods amg mixed
    .venv/bin/python benchmarks/bench_circuit.py --markdown      # a table for RESULTS.md
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections import defaultdict


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class TreeMemory:
    """Peak RSS and PSS sums over this process and its descendants, sampled in a thread."""

    def __init__(self, interval_s: float = 0.02) -> None:
        import psutil

        self._proc = psutil.Process()
        self.interval_s = interval_s
        self.peak_rss = 0
        self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _pss(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            procs = [self._proc]
            with contextlib.suppress(Exception):  # a child may vanish while listed
                procs += self._proc.children(recursive=True)
            rss = pss = 0
            for p in procs:
                try:
                    rss += p.memory_info().rss
                except Exception:
                    continue
                pss += self._pss(p.pid)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            time.sleep(self.interval_s)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_case(size: int, neighbours: int, n_focal: int, seed: int, tol: float,
             method: str = "mixed", workers: int = 1) -> dict:
    import numpy as np
    from affine import Affine

    import cami_atlas.connectivity.circuit as circuit
    import cami_atlas.connectivity.graph as graph
    from cami_atlas.connectivity.solvers import LaplacianSolver
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
    timed(graph.RasterGraph, "operator", "matrix-free operator")
    timed(LaplacianSolver, "_setup", "AMG setup")
    timed(LaplacianSolver, "_unit_solves", "CG solves")
    timed(graph.RasterGraph, "node_currents", "current maps")
    iterations: list[int] = []
    init = LaplacianSolver.__init__

    def init_and_keep(self, *a, **k):
        init(self, *a, **k)
        self.iterations = iterations
    LaplacianSolver.__init__ = init_and_keep

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
    with TreeMemory() as tree:
        res = circuit.circuit_all_to_one(grid, pts, neighbours=neighbours, method=method,
                                         tol=tol, workers=workers)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += children.ru_utime + children.ru_stime
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    cells = size * size
    cur = res.current.values
    return {
        "size": size, "cells": cells, "neighbours": neighbours, "n_focal": n_focal,
        "method": method, "workers": workers, "cg_iterations": iterations,
        "tol": tol, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
        "cells_per_wall_s": round(cells / wall), "cells_per_cpu_s": round(cells / cpu),
        "load_avg_1min": [round(load0, 1), round(os.getloadavg()[0], 1)],
        "phases_s": {k: round(v, 2) for k, v in phases.items()},
        "peak_rss_bytes_per_cell": round(peak / cells, 1),
        "working_bytes_per_cell": round((peak - rss1) / cells, 1),
        "tree_peak_rss_bytes_per_cell": round(tree.peak_rss / cells, 1),
        "tree_peak_pss_bytes_per_cell": round(tree.peak_pss / cells, 1),
        "input_grid_bytes_per_cell": round((rss1 - rss0) / cells, 1),
        "mean_source_voltage": [round(float(v), 4) for v in res.resistances["mean_source_voltage"]],
        "current_sum_a": round(float(np.nansum(cur)), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    ap.add_argument("--neighbours", type=int, nargs="+", default=[8])
    ap.add_argument("--methods", nargs="+", default=["mixed"],
                    choices=["mixed", "amg", "direct"])
    ap.add_argument("--focal", type=int, default=4)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--workers", type=int, nargs="+", default=[1])
    ap.add_argument("--case", nargs=2, type=int, help=argparse.SUPPRESS)
    ap.add_argument("--method", default="mixed", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case[0], args.case[1], args.focal, args.seed, args.tol,
                                  args.method, args.workers[0])))
        return
    rows = []
    for size in args.sizes:
        for nb in args.neighbours:
            for method in args.methods:
                for workers in args.workers:
                    out = subprocess.run(
                        [sys.executable, __file__, "--case", str(size), str(nb), "--focal",
                         str(args.focal), "--seed", str(args.seed), "--tol", str(args.tol),
                         "--method", method, "--workers", str(workers)],
                        capture_output=True, text=True, check=False)
                    if out.returncode:
                        print(out.stderr, file=sys.stderr)
                        raise SystemExit(f"case {size} x {size}, {nb} neighbours, {method}, "
                                         f"{workers} workers failed")
                    row = json.loads(out.stdout.strip().splitlines()[-1])
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    if args.markdown:
        print("\n| grid | neighbours | method | workers | wall s | CPU s | cells / wall s "
              "| load 1 min | CG iterations | peak RSS B/cell | tree PSS B/cell | working B/cell "
              "| CPU s by phase |")
        print("|---|---|---|---:|---:|---:|---:|---|---|---:|---:|---:|---|")
        for r in rows:
            ph = ", ".join(f"{k} {v}" for k, v in r["phases_s"].items())
            ld = " / ".join(str(x) for x in r["load_avg_1min"])
            its = ", ".join(str(i) for i in r["cg_iterations"])
            print(f"| {r['size']}x{r['size']} | {r['neighbours']} | {r['method']} "
                  f"| {r['workers']} | {r['wall_s']} | {r['cpu_s']} | {r['cells_per_wall_s']:,} "
                  f"| {ld} | {its} "
                  f"| {r['peak_rss_bytes_per_cell']} | {r['tree_peak_pss_bytes_per_cell']} "
                  f"| {r['working_bytes_per_cell']} | {ph} |")


if __name__ == "__main__":
    main()
