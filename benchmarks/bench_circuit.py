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

Against the fastest Python peer, **landschaft** 1.52 (C++/OpenMP; GPL, so only ever run
from a separate virtualenv by this script, never imported by cami_atlas), in the same run
on the same synthetic grid (saved once to ``.npy`` and read by both, each in its own
process):

* pairwise mode, 5 focal points on a ring, cumulative current map, 8 neighbours,
  conductances averaged between neighbours (Circuitscape's default, landschaft's
  ``avg_resistances=False``), effective resistances compared;
* cost distance from one central source, 8 neighbours (both: mean resistance of the two
  cells times the step length), compared cell by cell; landschaft reads the resistance as
  uint8 (1-100), so both get the grid rounded and clipped to integers 1-100.

::

    python -m venv /tmp/ls && /tmp/ls/bin/pip install landschaft==1.52.0 numpy
    .venv/bin/python benchmarks/bench_circuit.py --peer-python /tmp/ls/bin/python \
        --peer-sizes 2000 4000 --markdown
    .venv/bin/python benchmarks/bench_circuit.py --ours-only --peer-sizes 4000 \
        --peer-tasks pairwise --markdown     # ours alone (landschaft needs ~20 GB there)
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


# -- same-run comparison with landschaft (pairwise circuit, cost distance) -------------------
_PEER_COMMON = r"""
import json, resource, sys, time, os
import numpy as np
a = json.loads(sys.argv[1])
res = np.load(a["grid"])
pts = np.load(a["points"])          # (k, 2) row, col
def done(extra):
    extra.update(wall_s=round(wall, 2), cpu_s=round(cpu, 2),
                 peak_rss_bytes_per_cell=round(
                     resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / res.size, 1),
                 load_avg_1min=round(os.getloadavg()[0], 1))
    print(json.dumps(extra))
"""

_PEER_OURS = _PEER_COMMON + r"""
from affine import Affine
from cami_atlas.raster import Grid
from cami_atlas.connectivity import circuit_pairwise, cost_distance
n = res.shape[0]
grid = Grid(res, Affine(100, 0, 0, 0, -100, n * 100), "EPSG:32643")
if a["task"] == "pairwise":
    # compile the numba kernels outside the timing (cached on disk as well)
    small = Grid(res[:300, :300].copy(), grid.transform, grid.crs)
    top = n * 100.0
    circuit_pairwise(small, np.array([[550.0, top - 550.0], [25050.0, top - 25050.0]]),
                     average="conductance")
    xy = np.column_stack([(pts[:, 1] + 0.5) * 100, n * 100 - (pts[:, 0] + 0.5) * 100])
    t0, c0 = time.perf_counter(), time.process_time()
    out = circuit_pairwise(grid, xy, average="conductance", neighbours=8)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    r = out.resistances.to_numpy(dtype=float)
    done({"resistances": r.tolist(), "current_sum": float(np.nansum(out.current.values))})
else:
    # landschaft's cost distance reads resistance as uint8 (1-100): both get those integers
    grid = Grid(np.clip(np.rint(res), 1, 100), grid.transform, grid.crs)
    del res
    res = grid.values
    mask = np.zeros(res.shape, bool)
    mask[n // 2, n // 2] = True
    # load the compiled kernel outside the timing (numba caches it on disk)
    cost_distance(Grid(res[:50, :50].copy(), grid.transform, grid.crs), np.array([[0, 0]]))
    t0, c0 = time.perf_counter(), time.process_time()
    out = cost_distance(grid, mask, connectivity=8)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    np.save(a["out"], out.values / 100.0)       # metres -> cell units, as landschaft
    done({})
"""

_PEER_LANDSCHAFT = _PEER_COMMON + r"""
import landschaft
from landschaft import circuit
n = res.shape[0]
if a["task"] == "pairwise":
    ids = np.zeros(res.shape, dtype=np.int32)
    ids[pts[:, 0], pts[:, 1]] = np.arange(1, len(pts) + 1)
    t0, c0 = time.perf_counter(), time.process_time()
    out = circuit.circuitscape_pairwise(res, ids, cum_map=True, n_threads=a["threads"])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    r = np.asarray(out.resistances, dtype=float)[1:, 1:]
    done({"resistances": r.tolist(),
          "current_sum": float(np.nansum(np.asarray(out.cum_current, dtype=float)))})
else:
    res = np.clip(np.rint(res), 1, 100).astype(np.uint8)   # what landschaft reads anyway
    mask = np.zeros(res.shape, bool)
    mask[n // 2, n // 2] = True
    landschaft.set_default_threads(a["threads"])
    t0, c0 = time.perf_counter(), time.process_time()
    out = landschaft.cost_distance(res, mask)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    np.save(a["out"], np.asarray(out, dtype=float))
    done({})
"""


def _peer_run(python: str, code: str, args: dict) -> dict:
    proc = subprocess.run([python, "-c", code, json.dumps(args)], capture_output=True,
                          text=True, check=False)
    if proc.returncode:
        tail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
        return {"error": f"exit {proc.returncode}: {tail}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peer_comparison(sizes: list[int], peer_python: str, *, n_focal: int = 5,
                    seed: int = 20240601, threads: int = 2,
                    tasks: tuple[str, ...] = ("pairwise", "cost"),
                    ours_only: bool = False) -> list[dict]:
    """Ours against landschaft on the same grids, each contender in its own process
    (``ours_only``: landschaft is not run, e.g. where it would not fit in memory)."""
    import shutil
    import tempfile

    import numpy as np

    rows = []
    tmp = tempfile.mkdtemp(prefix="bench_peer_")
    try:
        for size in sizes:
            rng = np.random.default_rng(seed)
            res = 1.0 + np.exp(rng.normal(1.0, 1.0, (size, size)))
            ang = np.linspace(0, 2 * np.pi, n_focal, endpoint=False)
            pts = np.column_stack([np.floor(size / 2 + 0.35 * size * np.sin(ang)),
                                   np.floor(size / 2 + 0.35 * size * np.cos(ang))]).astype(int)
            np.save(f"{tmp}/grid.npy", res)
            np.save(f"{tmp}/points.npy", pts)
            del res
            for task in tasks:
                args = {"grid": f"{tmp}/grid.npy", "points": f"{tmp}/points.npy", "task": task,
                        "threads": threads}
                ours = _peer_run(sys.executable, _PEER_OURS, {**args, "out": f"{tmp}/ours.npy"})
                theirs = None if ours_only else _peer_run(peer_python, _PEER_LANDSCHAFT,
                                                          {**args, "out": f"{tmp}/ls.npy"})
                agree = None
                if theirs is not None and "error" not in ours and "error" not in theirs:
                    if task == "pairwise":
                        a_, b_ = np.array(ours["resistances"]), np.array(theirs["resistances"])
                        off = ~np.eye(len(a_), dtype=bool)
                        agree = float(np.max(np.abs(a_[off] - b_[off]) / b_[off]))
                    else:
                        a_, b_ = np.load(f"{tmp}/ours.npy"), np.load(f"{tmp}/ls.npy")
                        ok = np.isfinite(b_) & (b_ > 0)
                        agree = float(np.max(np.abs(a_[ok] - b_[ok]) / b_[ok]))
                for who, r in (("cami_atlas", ours), ("landschaft", theirs)):
                    if r is None:
                        continue
                    row = {"size": size, "cells": size * size, "task": task, "contender": who,
                           "max_rel_diff": agree, **{k: v for k, v in r.items()
                                                     if k != "resistances"}}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:  # the grids and outputs (up to hundreds of MB) are not kept
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def peer_markdown(rows: list[dict]) -> str:
    out = ["| grid | task | contender | wall s | CPU s | peak RSS B/cell | load 1 min "
           "| max rel. diff | wall ratio ours / landschaft |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    by = {(r["size"], r["task"], r["contender"]): r for r in rows}
    for r in rows:
        other = by.get((r["size"], r["task"], "landschaft"))
        ratio = ""
        if r["contender"] == "cami_atlas" and other and "wall_s" in other and "wall_s" in r:
            ratio = f"**{r['wall_s'] / other['wall_s']:.2f}**"
        if "error" in r:
            out.append(f"| {r['size']}² | {r['task']} | {r['contender']} | failed: "
                       f"{r['error']} | | | | | |")
            continue
        diff = "" if r["max_rel_diff"] is None else f"{r['max_rel_diff']:.1e}"
        out.append(f"| {r['size']}² | {r['task']} | {r['contender']} | {r['wall_s']} "
                   f"| {r['cpu_s']} | {r['peak_rss_bytes_per_cell']} | {r['load_avg_1min']} "
                   f"| {diff} | {ratio} |")
    return "\n".join(out)


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
    ap.add_argument("--peer-python", default=None,
                    help="python of a separate venv with landschaft (GPL) for the same-run "
                         "comparison (pairwise circuit and cost distance)")
    ap.add_argument("--peer-sizes", type=int, nargs="+", default=[2000, 4000])
    ap.add_argument("--peer-tasks", nargs="+", default=["pairwise", "cost"],
                    choices=["pairwise", "cost"])
    ap.add_argument("--ours-only", action="store_true",
                    help="with --peer-sizes: run only cami_atlas, not landschaft (its "
                         "pairwise mode needs about 1,300 B/cell: some 20 GB at 16 M cells)")
    args = ap.parse_args()
    if args.peer_python or args.ours_only:
        rows = peer_comparison(args.peer_sizes, args.peer_python or "", seed=args.seed,
                               tasks=tuple(args.peer_tasks), ours_only=args.ours_only)
        if args.markdown:
            print(peer_markdown(rows))
        return
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
