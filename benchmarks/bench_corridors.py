"""Benchmark: population migration corridors from GPS tracks (segmentation -> BBMM -> corridors).

Data: **SYNTHETIC** migrating animals (named as such in every output). Each individual winters
near its own origin and, every year, migrates north about 150 km along a shared route (with an
individual offset of a few km and a 4-day stopover halfway) over ~30 days in spring, and back in
autumn; fixes every 2 hours with 150 m scatter. The UD grid is ``--grid`` x ``--grid`` cells
covering the whole study area (200 m cells for 1000 x 1000).

Measured, each case in a fresh subprocess: wall and CPU time of each phase —
:func:`~cami_atlas.movement.migration_periods` (NSD segmentation of every fix),
:func:`~cami_atlas.movement.migration_fixes`, :func:`~cami_atlas.movement.track_uds`
(Brownian bridges of every migration) and :func:`~cami_atlas.movement.population_corridors`
(footprints, shares, classes, polygons) — and the peak RSS of the process (``ru_maxrss``,
input included) and its increment over the RSS after building the input.

Usage::

    .venv/bin/python benchmarks/bench_corridors.py                       # 100 ind x 2 years, 1000^2
    .venv/bin/python benchmarks/bench_corridors.py --individuals 10 --years 1
    .venv/bin/python benchmarks/bench_corridors.py --model dbbmm --markdown
    .venv/bin/python benchmarks/bench_corridors.py --dask-workers 2        # BBMM on Dask
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def synthetic_herd(n_ind: int, years: int, seed: int = 1):
    """SYNTHETIC tracks: ``n_ind`` migrants x ``years`` years of 2-hourly fixes (UTM 48N)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    t_h = np.arange(0, 365 * 24 * years, 2)
    t_d = t_h / 24
    doy = t_d % 365
    n = len(t_h)
    xs, ys, inds = [], [], []
    for i in range(n_ind):
        s0 = rng.uniform(95, 110)
        a0 = rng.uniform(270, 290)
        knots_t = [0, s0, s0 + 13, s0 + 17, s0 + 30, a0, a0 + 20, 365]
        knots_y = [0, 0, 75, 75, 150, 150, 0, 0]
        y = np.interp(doy, knots_t, knots_y) * 1000
        x = np.full(n, rng.normal(0, 3) * 1000) + 20_000 * np.sin(y / 40_000)
        xs.append(600_000 + 60_000 + x + rng.normal(0, 150, n))
        ys.append(5_000_000 + 20_000 + y + rng.normal(0, 150, n))
        inds.append(np.full(n, f"synthetic_{i:03d}"))
    times = pd.Timestamp("2021-01-01", tz="UTC") + pd.to_timedelta(np.tile(t_h, n_ind), "h")
    return gpd.GeoDataFrame(
        {"individual": np.concatenate(inds), "timestamp": times, "species": "Procapra_gutturosa"},
        geometry=gpd.points_from_xy(np.concatenate(xs), np.concatenate(ys)), crs="EPSG:32648")


def run_case(n_ind: int, years: int, grid_n: int, model: str, dask_workers: int = 0) -> dict:
    import numpy as np
    from affine import Affine

    from cami_atlas.movement import (
        migration_fixes,
        migration_periods,
        population_corridors,
        track_uds,
    )
    from cami_atlas.raster import Grid

    herd = synthetic_herd(n_ind, years)
    cell = 200_000 / grid_n  # the grid spans 200 km x 200 km
    grid = Grid(np.zeros((grid_n, grid_n), dtype=np.float32),
                Affine(cell, 0, 600_000, 0, -cell, 5_000_000 + 200_000), "EPSG:32648")
    base = _rss_mib()
    out: dict = dict(individuals=n_ind, years=years, grid=grid_n, cell_m=cell, model=model,
                     fixes=len(herd), dask_workers=dask_workers)
    phases = {}

    def timed(name, f, *a, **k):
        w, c = time.perf_counter(), time.process_time()
        r = f(*a, **k)
        phases[name] = (time.perf_counter() - w, time.process_time() - c)
        return r

    periods = timed("segment", migration_periods, herd)
    fixes = timed("migration_fixes", migration_fixes, herd, periods)
    client = None
    if dask_workers:
        from distributed import Client, LocalCluster

        client = Client(LocalCluster(n_workers=dask_workers, threads_per_worker=1,
                                     dashboard_address=None))
    uds = timed("bbmm", track_uds, fixes, grid, by="migration", model=model,
                location_error_m=20, max_gap_h=8, client=client)
    if client is not None:
        client.close()
    pc = timed("corridors", population_corridors, uds)
    out["migrations"] = len(periods)
    out["phases"] = phases
    out["wall_s"] = sum(v[0] for v in phases.values())
    out["cpu_s"] = sum(v[1] for v in phases.values())
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["increment_mib"] = out["peak_rss_mib"] - base
    out["high_km2"] = float(pc.corridors.set_index("use_class")["area_km2"].get("high", 0.0))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--individuals", type=int, default=100)
    ap.add_argument("--years", type=int, default=2)
    ap.add_argument("--grid", type=int, default=1000)
    ap.add_argument("--model", choices=["bbmm", "dbbmm"], default="bbmm")
    ap.add_argument("--dask-workers", type=int, default=0,
                    help="run the Brownian bridges on a Dask LocalCluster of N worker processes "
                         "(0: serial). CPU time then counts this process only.")
    ap.add_argument("--markdown", action="store_true", help="print a table row for RESULTS.md")
    ap.add_argument("--case", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case:
        print(json.dumps(run_case(a.individuals, a.years, a.grid, a.model, a.dask_workers)))
        return
    load0 = os.getloadavg()[0]
    cmd = [sys.executable, __file__, "--case", "--individuals", str(a.individuals), "--years",
           str(a.years), "--grid", str(a.grid), "--model", a.model, "--dask-workers",
           str(a.dask_workers)]
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    load1 = os.getloadavg()[0]
    ph = res["phases"]
    print(f"SYNTHETIC herd: {res['individuals']} individuals x {res['years']} years, "
          f"{res['fixes']:,} fixes, {res['migrations']} migrations; grid {res['grid']}^2 "
          f"({res['cell_m']:.0f} m cells), model {res['model']}, Dask workers "
          f"{res['dask_workers'] or 'none'}; machine "
          f"{platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}; "
          f"1-min load {load0:.1f} before / {load1:.1f} after")
    for k, (w, c) in ph.items():
        print(f"  {k:16s} wall {w:7.2f} s   CPU {c:7.2f} s")
    print(f"  total            wall {res['wall_s']:7.2f} s   CPU {res['cpu_s']:7.2f} s; peak RSS "
          f"{res['peak_rss_mib']:.0f} MiB (+{res['increment_mib']:.0f} MiB over the input)")
    if a.markdown:
        print(f"| {res['individuals']} x {res['years']} y | {res['fixes']:,} | "
              f"{res['migrations']} | {res['grid']}² | {res['model']} | "
              f"{res['dask_workers'] or '-'} | "
              + " | ".join(f"{ph[k][0]:.1f}" for k in ("segment", "migration_fixes", "bbmm",
                                                       "corridors"))
              + f" | {res['wall_s']:.1f} | {res['cpu_s']:.1f} | {res['peak_rss_mib']:.0f} | "
              f"{res['increment_mib']:.0f} |")


if __name__ == "__main__":
    main()
