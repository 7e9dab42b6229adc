"""Benchmark: km of infrastructure in species ranges, vectorised vs naive overlay.

Data (SYNTHETIC infrastructure, real polygons):

* 1,000,000 synthetic infrastructure lines (seeded random walks of 3 steps of
  0.005-0.05 degrees, i.e. ~0.5-5 km each, uniformly spread over the CAMI bbox
  lon 44-125 E, lat 23-56 N; random infra_type and attributes);
* 16 species ranges: the 15 real PHYLACINE 1.2.1 ranges of the default atlas plus one
  synthetic seeded blob (the 16th PHYLACINE species, Cervus elaphus, has no current range
  in the window);
* the real NE 50m countries of the default atlas.

Methods (each in a fresh subprocess, so peak memory is its own):

* ``vectorised``: :func:`cami_atlas.barriers.infrastructure_in_ranges` (STRtree bulk
  query, prepared containment, intersection only on boundary pairs).
* ``naive``: reproject to ESRI:102025, dissolve ranges per species,
  ``geopandas.overlay(infra, ranges)``, ``geopandas.overlay(…, countries)``, classify per
  species, ``dissolve`` by species x type x class x country, geodesic length.

The naive approach is too slow at 1M; it runs on seeded subsamples (the first n lines of
the same data) and its 1M time is extrapolated linearly from the largest subsample (a
lower bound: overlay is super-linear). The vectorised method runs on the same subsamples
and on 1M. Both results are compared (total km per species) on every subsample.

Run: ``.venv/bin/python benchmarks/bench_overlay.py`` (writes its section of
``benchmarks/RESULTS.md``; ``--no-write`` to only print).
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
from pathlib import Path

import numpy as np

N_FULL = 1_000_000
SUBSAMPLES = (50_000, 100_000)
SEED = 20_170_427  # the first day of the Vilm workshop
CHUNK = 50_000
HERE = Path(__file__).resolve().parent
SECTION = "## Barrier overlay: km of infrastructure in species ranges (`bench_overlay.py`)"


def _chunk(c: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng([SEED, c])
    x0 = rng.uniform(44, 125, CHUNK)
    y0 = rng.uniform(23, 56, CHUNK)
    k = 3
    ang = rng.uniform(0, 2 * np.pi, (CHUNK, 1)) + np.cumsum(rng.normal(0, 0.3, (CHUNK, k)), 1)
    step = rng.uniform(0.005, 0.05, (CHUNK, k))
    xs = np.concatenate([x0[:, None], x0[:, None] + np.cumsum(step * np.cos(ang), 1)], 1)
    ys = np.concatenate([y0[:, None], y0[:, None] + np.cumsum(step * np.sin(ang), 1)], 1)
    types = rng.choice(np.array(["road", "railway", "fence", "pipeline"], dtype=object), CHUNK)
    track = rng.choice(np.array(["single track", "double track", None], dtype=object), CHUNK)
    road_class = rng.choice(np.array(["local road", "major road", "highway", None],
                                     dtype=object), CHUNK)
    fence_type = rng.choice(np.array(["chain link", "woven barbed wire", None], dtype=object),
                            CHUNK)
    return xs, ys, types, track, road_class, fence_type


def make_data(n: int):
    import geopandas as gpd
    import shapely

    from cami_atlas.atlas import Atlas

    # generated in seeded chunks, so a subsample of n lines is the first n lines of the
    # 1M data set and building it does not allocate the full set
    parts = [_chunk(c) for c in range(-(-n // CHUNK))]
    xs, ys, types, track, road_class, fence_type = (
        np.concatenate([p[i] for p in parts])[:n] for i in range(6))
    k = xs.shape[1] - 1
    coords = np.stack([xs, ys], -1).reshape(-1, 2)
    lines = shapely.linestrings(coords, indices=np.repeat(np.arange(n), k + 1))
    infra = gpd.GeoDataFrame(
        {"infra_type": types, "track": np.where(types == "railway", track, None),
         "road_class": np.where(types == "road", road_class, None),
         "fence_type": np.where(types == "fence", fence_type, None)},
        geometry=lines, crs="EPSG:4326")

    atlas = Atlas.default()
    ranges = atlas.read("species_ranges")[["species", "geometry"]]
    countries = atlas.read("countries")[["iso3", "geometry"]]
    # the 16th range: a synthetic seeded blob (union of buffered random points), in 6933
    brng = np.random.default_rng(SEED + 1)
    centres = gpd.GeoSeries(gpd.points_from_xy(brng.uniform(60, 80, 40),
                                               brng.uniform(38, 48, 40)), crs="EPSG:4326")
    blob = centres.to_crs(ranges.crs).buffer(150_000).union_all()
    ranges = gpd.GeoDataFrame({"species": [*ranges["species"], "Synthetica_blobia"]},
                              geometry=[*ranges.geometry, blob], crs=ranges.crs)
    return infra, ranges, countries


def run_vectorised(infra, ranges, countries):
    from cami_atlas.barriers import infrastructure_in_ranges

    t = infrastructure_in_ranges(infra, ranges, countries=countries)
    # the naive overlay keeps only range parts inside a country: compare like with like
    return t[t["country"] != "none"].groupby("species")["length_km"].sum()


def run_naive(infra, ranges, countries):
    import geopandas as gpd

    from cami_atlas.barriers import classify_barriers, matrix_species
    from cami_atlas.measure import geodesic_length_km

    crs = "ESRI:102025"
    ii = infra.to_crs(crs)
    # polygon edges densified before reprojecting, as the vectorised method does (so both
    # compute the same thing; long PHYLACINE cell edges bend in Albers)
    rr = ranges.set_geometry(ranges.segmentize(10_000)).to_crs(crs)
    rr = rr.dissolve("species").reset_index()
    cc = countries.set_geometry(countries.segmentize(0.1)).to_crs(crs)
    cc = cc.dissolve("iso3").reset_index()
    o = gpd.overlay(ii, rr, how="intersection", keep_geom_type=True)
    o = gpd.overlay(o, cc, how="intersection", keep_geom_type=True)
    o["barrier_class"] = "unknown"
    for sp, target in matrix_species(list(o["species"].unique())).items():
        if target is None:
            continue
        sel = o["species"] == sp
        o.loc[sel, "barrier_class"] = classify_barriers(o.loc[sel], target).to_numpy()
    d = o.dissolve(by=["species", "infra_type", "barrier_class", "iso3"]).reset_index()
    d["length_km"] = geodesic_length_km(d).to_numpy()
    return d.groupby("species")["length_km"].sum()


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux), so the peak is the run's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker(method: str, n: int) -> None:
    import psutil

    infra, ranges, countries = make_data(n)
    reset = _reset_peak()
    rss_before = psutil.Process().memory_info().rss
    t0, c0 = time.perf_counter(), time.process_time()
    per_species = (run_vectorised if method == "vectorised" else run_naive)(
        infra, ranges, countries)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _peak_rss() if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"method": method, "n": n, "seconds": seconds, "cpu_seconds": cpu,
                      "peak_rss_mb": peak / 2**20,
                      "peak_increment_mb": (peak - rss_before) / 2**20,
                      "per_species_km": {str(k): float(v) for k, v in per_species.items()}}))


def spawn(method: str, n: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", method, str(n)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(a: dict, b: dict) -> float:
    keys = set(a) | set(b)
    rel = [abs(a.get(k, 0.0) - b.get(k, 0.0)) / max(a.get(k, 0.0), b.get(k, 0.0), 1e-9)
           for k in keys if max(a.get(k, 0.0), b.get(k, 0.0)) > 1.0]
    return max(rel) if rel else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "N"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]))
        return
    rows = []
    for n in SUBSAMPLES:
        v, nv = spawn("vectorised", n), spawn("naive", n)
        diff = compare(v["per_species_km"], nv["per_species_km"])
        rows.append((n, v, nv, diff))
        print(f"n={n}: vectorised {v['seconds']:.1f} s (CPU {v['cpu_seconds']:.1f} s), naive "
              f"{nv['seconds']:.1f} s (CPU {nv['cpu_seconds']:.1f} s), "
              f"max rel. diff of km per species {diff:.2e}", flush=True)
    full = spawn("vectorised", N_FULL)
    print(f"n={N_FULL}: vectorised {full['seconds']:.1f} s, peak RSS "
          f"{full['peak_rss_mb']:.0f} MB", flush=True)
    n_big, _, nv_big, _ = rows[-1]
    naive_1m = nv_big["seconds"] * N_FULL / n_big
    naive_1m_cpu = nv_big["cpu_seconds"] * N_FULL / n_big
    speedup = naive_1m / full["seconds"]
    speedup_cpu = naive_1m_cpu / full["cpu_seconds"]
    load = os.getloadavg()[0]
    lines = [
        SECTION, "",
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} CPU(s), "
        f"Python {platform.python_version()}. Data: **synthetic** seeded infrastructure lines "
        "(3-step random walks, ~0.5-5 km per step, CAMI bbox) x 16 ranges (15 real PHYLACINE "
        "1.2.1 ranges of the default atlas + 1 synthetic blob) x real NE 50m countries. "
        "Table: km by species x infra_type x barrier_class x country. Each run in a fresh "
        "process; peak = peak RSS of that process (data included), increment = peak minus "
        "RSS after building the data. CPU time = process CPU time (GEOS and pyproj are "
        f"single-threaded here); the machine was shared (1-min load average {load:.1f} at the "
        "end), so wall times are inflated and CPU times are the fairer comparison. Naive = "
        "reproject, dissolve ranges, geopandas.overlay with ranges then countries, classify, "
        "dissolve by species x type x class x country, geodesic length; both methods densify "
        "polygon edges before reprojecting, so they compute the same quantity.", "",
        "| lines | method | wall (s) | CPU (s) | peak RSS (MB) | increment (MB) "
        "| max rel. diff km/species vs other method |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for n, v, nv, diff in rows:
        for r in (v, nv):
            lines.append(f"| {n:,} | {r['method']} | {r['seconds']:.1f} | "
                         f"{r['cpu_seconds']:.1f} | {r['peak_rss_mb']:.0f} | "
                         f"{r['peak_increment_mb']:.0f} | {diff:.1e} |")
    lines.append(f"| {N_FULL:,} | vectorised | {full['seconds']:.1f} | "
                 f"{full['cpu_seconds']:.1f} | {full['peak_rss_mb']:.0f} | "
                 f"{full['peak_increment_mb']:.0f} | - |")
    lines.append(f"| {N_FULL:,} | naive (extrapolated linearly from {n_big:,}) | "
                 f"~{naive_1m:.0f} | ~{naive_1m_cpu:.0f} | - | - | - |")
    lines += ["", f"Speed-up at 1,000,000 lines: **~{speedup_cpu:.0f}x in CPU time** "
              f"(~{speedup:.0f}x wall), against the linearly extrapolated naive time (the "
              "naive overlay grows faster than linearly, so this is a lower bound). "
              "Same-data CPU-time speed-ups on the subsamples: "
              + ", ".join(f"{n:,}: {nv['cpu_seconds'] / v['cpu_seconds']:.0f}x"
                          for n, v, nv, _ in rows)
              + ". Both methods give the same km per species (last column).", ""]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(text)


def write_section(text: str) -> None:
    """Replace this script's section of RESULTS.md (between its markers), or append it."""
    path = HERE / "RESULTS.md"
    begin, end = "<!-- barriers:begin -->", "<!-- barriers:end -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    current = path.read_text(encoding="utf-8") if path.exists() else (
        "# Benchmark results\n\nEach helper owns one section (between its markers); numbers "
        "come from the scripts in `benchmarks/`.\n")
    if begin in current and end in current:
        a, b = current.index(begin), current.index(end) + len(end)
        current = current[:a] + block.rstrip("\n") + current[b:]
    else:
        current = current.rstrip("\n") + "\n\n" + block
    path.write_text(current, encoding="utf-8")

if __name__ == "__main__":
    main()
