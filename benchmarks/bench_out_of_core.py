"""Benchmark: Omniscape on a grid larger than the memory the job may use (tiled, out of core).

A SYNTHETIC log-normal resistance grid (``1 + exp(N(1, 1))``, seed 20261204) of
``--size``² cells is written to a tiled, compressed GeoTIFF strip by strip (it is never
held whole in memory). Then, each in its own process under the same address-space limit
(``RLIMIT_AS`` = ``--cap-gb``, applied before anything is imported, so it covers Python,
the libraries and every thread of the in-process Dask workers):

1. the in-memory :func:`cami_atlas.connectivity.omniscape.omniscape` on the whole grid,
   which needs more than the cap and is expected to fail with ``MemoryError``;
2. :func:`cami_atlas.connectivity.omniscape.tiled.omniscape_tiled` on the GeoTIFF (tiles of
   ``--tile`` cells with a halo of the radius read by windows, results written to tiled
   GeoTIFFs), which must finish under the cap.

Then a check of the tiled result: the in-memory run on a crop of ``--check`` cells (in a
process without the cap) must give the same cumulative current in the crop's interior
(cells at least two radii plus a block from its edges, whose windows lie wholly inside
the crop), to 1e-9 relative.

Writes the table for ``benchmarks/RESULTS.md`` with ``--markdown``. Defaults: 6000² cells
(36 M; the in-memory run needs about 90 B/cell, 3.2 GB), a 1.6 GB cap, tiles of 1000,
radius 25, block size 5, ``r_cutoff`` 50, one Dask worker with 2 threads.

Usage::

    .venv/bin/python benchmarks/bench_out_of_core.py --markdown
    .venv/bin/python benchmarks/bench_out_of_core.py --size 2000 --cap-gb 1.4   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEED = 20261204
CELL_M = 100.0


def write_grid(path: Path, n: int, strip: int = 500) -> None:
    """The SYNTHETIC resistance GeoTIFF, written strip by strip (float32, 256-pixel blocks)."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    rng = np.random.default_rng(SEED)
    profile = dict(driver="GTiff", width=n, height=n, count=1, dtype="float32",
                   crs="EPSG:3857", transform=Affine(CELL_M, 0, 0, 0, -CELL_M, n * CELL_M),
                   tiled=True, blockxsize=256, blockysize=256, compress="deflate",
                   BIGTIFF="IF_SAFER")
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, n, strip):
            h = min(strip, n - row)
            values = 1.0 + np.exp(rng.normal(1.0, 1.0, (h, n)))
            dst.write(values.astype("float32"), 1, window=Window(0, row, n, h))


_CHILD = r"""
import json, resource, sys, time
cap = int(sys.argv[1]); mode = sys.argv[2]; args = json.loads(sys.argv[3])
if cap:
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
t0, cpu0 = time.perf_counter(), time.process_time()
out = {"mode": mode, "ok": False}
try:
    if mode == "tiled":
        from cami_atlas.connectivity.omniscape.tiled import omniscape_tiled
        omniscape_tiled(args["grid"], args["out"], radius=args["radius"],
                        block_size=args["block"], r_cutoff=args["r_cutoff"],
                        tile_size=args["tile"], n_workers=1, threads_per_worker=args["threads"],
                        progress=False, overwrite=True)
    else:
        import numpy as np, rasterio
        from rasterio.windows import Window
        from cami_atlas.connectivity.omniscape import omniscape
        from cami_atlas.raster import Grid
        with rasterio.open(args["grid"]) as src:
            win = (Window(*args["window"]) if args.get("window")
                   else Window(0, 0, src.width, src.height))
            values = src.read(1, window=win).astype("float64")
            grid = Grid(values, src.window_transform(win), src.crs)
        res = omniscape(grid, radius=args["radius"], block_size=args["block"],
                        r_cutoff=args["r_cutoff"], n_threads=args["threads"])
        if args.get("save"):
            np.save(args["save"], np.asarray(res.cumulative_current.values))
    out["ok"] = True
except MemoryError as exc:
    out["error"] = "MemoryError: " + str(exc)[:200]
out["wall_s"] = time.perf_counter() - t0
out["cpu_s"] = time.process_time() - cpu0
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(out))
"""


def run_child(cap_bytes: int, mode: str, args: dict) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(cap_bytes), mode, json.dumps(args)],
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (proc.stderr or "")[-600:]
    return {"mode": mode, "ok": False, "error": f"exit {proc.returncode}: {tail}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=6000)
    ap.add_argument("--cap-gb", type=float, default=1.6)
    ap.add_argument("--tile", type=int, default=1000)
    ap.add_argument("--radius", type=int, default=25)
    ap.add_argument("--block", type=int, default=5)
    ap.add_argument("--r-cutoff", type=float, default=50.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check", type=int, default=600, help="side of the checked crop")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    cap = int(a.cap_gb * 1024**3)
    with tempfile.TemporaryDirectory(prefix="cami_ooc_") as tmp:
        tmp_path = Path(tmp)
        grid = tmp_path / "resistance.tif"
        t = time.perf_counter()
        write_grid(grid, a.size)
        write_s = time.perf_counter() - t
        common = {"grid": str(grid), "radius": a.radius, "block": a.block,
                  "r_cutoff": a.r_cutoff, "threads": a.threads}
        in_memory = run_child(cap, "memory", common)
        tiled = run_child(cap, "tiled", common | {"out": str(tmp_path / "out"), "tile": a.tile})
        # check: a crop in the middle, computed in memory without the cap
        c0 = a.size // 2 - a.check // 2
        c0 -= c0 % a.block  # the blocks of the crop on the lattice of the whole grid
        crop = run_child(0, "memory", common | {"window": [c0, c0, a.check, a.check],
                                                "save": str(tmp_path / "crop.npy")})
        diff = float("nan")
        if tiled["ok"] and crop["ok"]:
            import rasterio
            from rasterio.windows import Window

            margin = 2 * a.radius + a.block
            ref = np.load(tmp_path / "crop.npy")[margin:-margin, margin:-margin]
            with rasterio.open(tmp_path / "out" / "cumulative_current.tif") as src:
                got = src.read(1, window=Window(c0 + margin, c0 + margin,
                                                a.check - 2 * margin, a.check - 2 * margin))
            diff = float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)))
    cells = a.size**2
    head = (f"{a.size}² cells ({cells / 1e6:.0f} M), SYNTHETIC, written in {write_s:.0f} s; "
            f"address-space cap {a.cap_gb:g} GB per process; radius {a.radius}, block "
            f"{a.block}, r_cutoff {a.r_cutoff:g}, {a.threads} threads; {platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load "
            f"{os.getloadavg()[0]:.1f}")
    rows = [("whole grid in memory", in_memory), (f"tiled {a.tile}, 1 worker", tiled)]
    if a.markdown:
        print(head + "\n")
        print("| run | finished | wall s | CPU s | peak RSS MB | B/cell | note |")
        print("|---|---|---:|---:|---:|---:|---|")
        for name, r in rows:
            note = r.get("error", "")[:120] if not r["ok"] else ""
            print(f"| {name} | {'yes' if r['ok'] else 'no'} | {r.get('wall_s', 0):.1f} | "
                  f"{r.get('cpu_s', 0):.1f} | {r.get('peak_rss_mb', 0):.0f} | "
                  f"{r.get('peak_rss_mb', 0) * 1024**2 / cells:.1f} | {note} |")
        print(f"\nTiled against the in-memory run on a {a.check}² crop (interior cells): "
              f"max relative difference {diff:.1e}.")
    else:
        print(head)
        print(json.dumps({"in_memory": in_memory, "tiled": tiled, "crop": crop,
                          "max_rel_diff": diff}, indent=1))


if __name__ == "__main__":
    main()
