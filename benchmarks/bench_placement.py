"""Benchmark: crossing placement at region scale on the default atlas.

A HYPOTHETICAL fenced line (drawn for the benchmark, not a real project) of about
1,200 km across the saiga range of central Kazakhstan, from (56.0, 46.0) to (71.0, 50.0),
is closed and ``k`` openings are placed greedily with
:func:`cami_atlas.pipeline.placement.run_placement` (the species' resistance from the
atlas at ``--cell-size-m``, a window of ``--window-km`` around the line, habitat cores
from the range). Reported: grid cells, candidate pieces, wall time of the whole job and
of the placement alone, the number of candidate evaluations (one per candidate for the
first pick, then one per admissible candidate for each further pick), the time per
evaluation, and peak memory (max RSS of the process).

Peer in the same run: the straightforward method a user of a circuit library writes,
re-solving the effective resistances between the cores from scratch for each candidate
opening (:func:`cami_atlas.connectivity.circuit.effective_resistance` with a fresh solver
per candidate, same solver and tolerance), timed on ``--peer-candidates`` candidates of
the first pick; the ratio is our time per evaluation over the peer's, and the peer's
gains are compared with ours (largest relative difference).

Usage::

    .venv/bin/python benchmarks/bench_placement.py                  # 5 km cells, k = 5
    .venv/bin/python benchmarks/bench_placement.py --cell-size-m 2500 --k 8 --markdown
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import geopandas as gpd
import numpy as np
from shapely import LineString

from cami_atlas.atlas import Atlas
from cami_atlas.connectivity.circuit import effective_resistance
from cami_atlas.connectivity.impact import _connectivity
from cami_atlas.pipeline.placement import run_placement
from cami_atlas.planning.placement import _piece_masks, candidate_pieces

LINE = LineString([(56.0, 46.0), (63.5, 48.0), (71.0, 50.0)])  # HYPOTHETICAL


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell-size-m", type=float, default=5000.0)
    ap.add_argument("--window-km", type=float, default=150.0)
    ap.add_argument("--step-km", type=float, default=20.0)
    ap.add_argument("--min-spacing-km", type=float, default=40.0)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--n-cores", type=int, default=6)
    ap.add_argument("--peer-candidates", type=int, default=5)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    atlas = Atlas.default()
    line = gpd.GeoSeries([LINE], crs="EPSG:4326")
    t0 = time.perf_counter()
    job = run_placement(atlas, line, species="saiga", k=args.k, step_km=args.step_km,
                        min_spacing_km=args.min_spacing_km, window_km=args.window_km,
                        cell_size_m=args.cell_size_m, n_cores=args.n_cores)
    total_s = time.perf_counter() - t0
    res = job.result
    n_cand = len(res.candidates)
    spacing_m = args.min_spacing_km * 1000
    along = res.candidates.set_index("piece")["along_m"]
    evaluations, picked = n_cand, []
    for p in res.chosen["piece"].iloc[:-1]:
        picked.append(int(p))
        evaluations += int(sum(all(abs(a - along[q]) >= spacing_m - 1e-9 for q in picked)
                               for a in along))
    # the placement alone (resistance and cores built once more, then timed apart)
    t1 = time.perf_counter()
    from cami_atlas.planning.placement import crossing_placement

    cores = job.cores.set_index("core_id").geometry
    again = crossing_placement(job.base, job.line, cores, args.k,
                               step_m=args.step_km * 1000, min_spacing_m=spacing_m)
    place_s = time.perf_counter() - t1
    assert np.allclose(again.chosen["gain"], res.chosen["gain"], rtol=1e-6)

    # peer: a fresh effective-resistance solve per candidate opening
    pieces = candidate_pieces(job.line, args.step_km * 1000, crs=job.base.crs)
    masks = _piece_masks(job.base, pieces)
    closed = job.base.values.copy()
    for m in masks.values():
        closed[m] = np.inf

    def conductance(values: np.ndarray) -> float:
        reff = effective_resistance(job.base.with_values(values), cores, method="mixed")
        return _connectivity(reff.to_numpy(dtype=float))[0]

    ref = conductance(closed)
    first = res.candidates.set_index("piece")["first_gain"]
    best = first.sort_values(ascending=False).index[:args.peer_candidates]
    t2 = time.perf_counter()
    diffs = []
    for p in best:
        opened = closed.copy()
        opened[masks[p]] = job.base.values[masks[p]]
        gain = conductance(opened) - ref
        diffs.append(abs(gain - first[p]) / max(abs(first[p]), 1e-300))
    peer_per_eval = (time.perf_counter() - t2) / len(best)
    ours_per_eval = place_s / evaluations

    rows, cols = job.base.shape
    cells = int(np.isfinite(job.base.values).sum())
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores (shared), "
        f"{platform.python_version()}",
        f"grid {rows} x {cols} = {rows * cols:,} cells of {args.cell_size_m:g} m "
        f"({cells:,} passable), {len(job.cores)} cores, {n_cand} candidate pieces of "
        f"{args.step_km:g} km on {job.line.length.sum() / 1000:,.0f} km, k = {args.k}, "
        f"spacing {args.min_spacing_km:g} km",
        f"whole job (resistance from the atlas + placement): {total_s:.1f} s; placement "
        f"alone: {place_s:.1f} s for {evaluations} candidate evaluations "
        f"({ours_per_eval * 1000:.0f} ms each)",
        f"peer (fresh effective-resistance solve per candidate, {len(best)} candidates): "
        f"{peer_per_eval * 1000:.0f} ms each; ratio ours/peer = "
        f"{ours_per_eval / peer_per_eval:.2f}; largest relative gain difference "
        f"{max(diffs):.1e}",
        f"peak memory (max RSS): {_peak_mib():,.0f} MiB "
        f"({_peak_mib() * 2**20 / (rows * cols):,.0f} B/cell)",
        "gains of the picks: " + ", ".join(f"{g:.4g}" for g in res.chosen["gain"]),
    ]
    if args.markdown:
        print("\n".join(f"- {line}" for line in lines))
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
