"""Benchmark: Omniscape moving window on a SYNTHETIC random-resistance grid.

Synthetic data (named as such): a seeded log-normal resistance field
(``1 + exp(N(1, 1))``, about 1 to a few hundred), no NaN/inf; sources from resistance
(``1 / r`` where ``r <= r_cutoff``). The issue's case: 2000 x 2000 cells (4 M), radius 25,
block size 5, ``r_cutoff`` 50. Each contender runs in its own subprocess, so its peak
resident memory (``ru_maxrss``) is its own.

Contenders:

* ``cami_atlas`` — :func:`cami_atlas.connectivity.omniscape.omniscape` (compiled kernel,
  ``--threads`` threads);
* ``landschaft`` (GPL, a benchmark-only comparison, never a dependency) — run with the
  Python of a separate virtualenv given by ``--landschaft-python`` (e.g. one made with
  ``python -m venv /tmp/ls && /tmp/ls/bin/pip install landschaft==1.52.0``); skipped if not
  given. Both get the same grid (a ``.npy`` file) and the same settings; the maximum
  relative difference of the cumulative current is reported, on the cells farther than
  2 radii + a block from the map edge (Omniscape.jl zeroes the target block of a window
  cut by the left or top edge at an offset position, which cami_atlas does not copy).

Reported: wall and CPU time, windows solved, ms per window (wall), peak RSS and bytes per
cell, 1-minute load average before/after (the machine may be shared).

Usage::

    .venv/bin/python benchmarks/bench_omniscape.py --size 400            # a small run
    .venv/bin/python benchmarks/bench_omniscape.py --landschaft-python /tmp/ls/bin/python
    .venv/bin/python benchmarks/bench_omniscape.py --size 400 --markdown
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

_OURS = r"""
import json, resource, sys, time
import numpy as np
from affine import Affine
from cami_atlas.raster import Grid
from cami_atlas.connectivity.omniscape import omniscape
a = json.loads(sys.argv[1])
res = np.load(a["grid"])
grid = Grid(res, Affine(100, 0, 0, 0, -100, 0), "EPSG:32643")
# compile the kernels outside the timing (numba caches them on disk too)
omniscape(Grid(res[:60, :60].copy(), grid.transform, grid.crs), radius=5, block_size=1,
          n_threads=a["threads"])
t0, c0 = time.perf_counter(), time.process_time()
out = omniscape(grid, radius=a["radius"], block_size=a["block"], r_cutoff=a["r_cutoff"],
                n_threads=a["threads"])
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
np.save(a["out"], out.cumulative_current.values)
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "windows": out.n_targets,
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

_LANDSCHAFT = r"""
import json, resource, sys, time
import numpy as np
import landschaft
a = json.loads(sys.argv[1])
res = np.load(a["grid"])
t0, c0 = time.perf_counter(), time.process_time()
# Omniscape's defaults (correct_artifacts on, as in cami_atlas)
out = landschaft.omniscape(res, radius=a["radius"], block_size=a["block"],
                           r_cutoff=a["r_cutoff"], flow_potential=True,
                           normalized_current=True, correct_artifacts=True,
                           n_threads=a["threads"])
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
np.save(a["out"], np.asarray(out["cum_currmap"].values, dtype=float))
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "windows": out.attrs.get("n_targets"),
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


_TILED = r"""
import json, resource, sys, time, tempfile, pathlib
import numpy as np
from affine import Affine
from cami_atlas.raster import Grid
from cami_atlas.connectivity.omniscape import omniscape, omniscape_tiled
a = json.loads(sys.argv[1])
tmp = pathlib.Path(tempfile.mkdtemp())
res = np.load(a["grid"])
# compile the kernels outside the timing (numba caches them on disk too)
omniscape(Grid(res[:60, :60].copy(), Affine(100, 0, 0, 0, -100, 0), "EPSG:32643"),
          radius=5, n_threads=1)
Grid(res, Affine(100, 0, 0, 0, -100, 0), "EPSG:32643").to_geotiff(tmp / "r.tif",
                                                                   dtype="float64")
del res
t0, c0 = time.perf_counter(), time.process_time()
out = omniscape_tiled(tmp / "r.tif", tmp / "out", radius=a["radius"], block_size=a["block"],
                      r_cutoff=a["r_cutoff"], tile_size=a["tile"], n_workers=a["workers"],
                      threads_per_worker=1, progress=False)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
cum = Grid.from_geotiff(out.paths["cumulative_current"]).values
np.save(a["out"], cum)
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "windows": out.n_targets,
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def _run(python: str, code: str, args: dict, env: dict | None = None) -> dict:
    proc = subprocess.run([python, "-c", code, json.dumps(args)], capture_output=True,
                          text=True, env=env, timeout=24 * 3600)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2000, help="grid side in cells (default 2000)")
    ap.add_argument("--radius", type=int, default=25)
    ap.add_argument("--block", type=int, default=5)
    ap.add_argument("--r-cutoff", type=float, default=50.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--landschaft-python", default=None,
                    help="python of a separate venv with landschaft installed (GPL, optional)")
    ap.add_argument("--tiled", type=int, default=None, metavar="TILE",
                    help="also run omniscape_tiled (tiles of TILE cells) with 1 and 2 Dask "
                         "workers of one thread each (a LocalCluster)")
    ap.add_argument("--markdown", action="store_true", help="print a table for RESULTS.md")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    res = 1.0 + np.exp(rng.normal(1.0, 1.0, (a.size, a.size)))
    tmp = Path(tempfile.mkdtemp(prefix="bench_omniscape_"))
    np.save(tmp / "grid.npy", res)
    common = {"grid": str(tmp / "grid.npy"), "radius": a.radius, "block": a.block,
              "r_cutoff": a.r_cutoff, "threads": a.threads}
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    rows = []
    load0 = os.getloadavg()[0]
    ours = _run(sys.executable, _OURS, {**common, "out": str(tmp / "ours.npy")}, env)
    rows.append(("cami_atlas", ours))
    if a.landschaft_python:
        theirs = _run(a.landschaft_python, _LANDSCHAFT, {**common, "out": str(tmp / "ls.npy")})
        if "error" not in theirs and "error" not in ours:
            x, y = np.load(tmp / "ours.npy"), np.load(tmp / "ls.npy")
            if x.shape == y.shape:
                # interior cells: Omniscape.jl (and landschaft) zero the target block of a
                # window cut by the left/top map edge at an offset position, which changes
                # the current up to 2 radii + a block from the edge; beyond, both solve
                # the same circuits
                m = 2 * a.radius + a.block
                x, y = x[m:-m, m:-m], y[m:-m, m:-m]
                ok = np.isfinite(x) & np.isfinite(y) & (np.abs(y) > 0)
                theirs["max_rel_diff"] = float(np.max(np.abs(x[ok] - y[ok]) / np.abs(y[ok])))
        rows.append(("landschaft", theirs))
    if a.tiled:
        for workers in (1, 2):
            r = _run(sys.executable, _TILED, {**common, "tile": a.tiled, "workers": workers,
                                              "out": str(tmp / f"tiled{workers}.npy")}, env)
            if "error" not in r and "error" not in ours:
                x, y = np.load(tmp / f"tiled{workers}.npy"), np.load(tmp / "ours.npy")
                ok = np.abs(y) > 0
                r["max_rel_diff"] = float(np.max(np.abs(x[ok] - y[ok]) / np.abs(y[ok])))
            rows.append((f"cami_atlas tiled {a.tiled}, {workers} worker(s)", r))
    load1 = os.getloadavg()[0]
    cells = a.size * a.size
    head = (f"SYNTHETIC log-normal resistance {a.size}x{a.size} ({cells:,} cells), radius "
            f"{a.radius}, block_size {a.block}, r_cutoff {a.r_cutoff:g}, seed {a.seed}; "
            f"{platform.machine()}, {os.cpu_count()} CPU(s), Python "
            f"{platform.python_version()}, {a.threads} thread(s); load average "
            f"{load0:.1f} before / {load1:.1f} after")
    if a.markdown:
        print(head + "\n")
        print("| contender | wall s | CPU s | windows | ms / window (wall) | peak RSS MB | "
              "bytes / cell | max rel. diff |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, r in rows:
            if "error" in r:
                print(f"| {name} | {r['error']} | | | | | | |")
                continue
            w = r.get("windows")
            print(f"| {name} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
                  f"{w if w is not None else '-'} | "
                  f"{(1000 * r['wall_s'] / w) if w else float('nan'):.3f} | "
                  f"{r['peak_rss'] / 2**20:.0f} | {r['peak_rss'] / cells:.0f} | "
                  f"{r.get('max_rel_diff', '-')} |")
    else:
        print(head)
        print(json.dumps(dict(rows), indent=1))
    _ = resource  # (kept importable for ru_maxrss in the children)


if __name__ == "__main__":
    main()
