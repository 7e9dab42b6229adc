"""Benchmark: alternative alignments at region scale on the default atlas.

A HYPOTHETICAL railway (drawn for the benchmark, not a real project) from Aktobe
(57.2 E, 50.3 N) to Almaty (76.9 E, 43.2 N), about 1,800 km across the ranges of saiga,
goitered gazelle, khulan and argali, with a window of ``--window-km`` and surfaces of
``--cell-size-m`` cells. Timed: building the impact and construction-cost surfaces from
the atlas, the whole :func:`cami_atlas.planning.alternative_alignments` call (one path per
trade-off of 0, 0.25, 0.5, 0.75, 1), and one least-cost path search on the cost surface.

Peer in the same run: :func:`skimage.graph.route_through_array` (``MCP_Geometric``,
8 neighbours, geometric) on the same cost surface between the same end cells, the usual
Python way to route a line over a cost raster; ratio = our path search / the peer's, and
the two path costs are compared (relative difference).

Usage::

    .venv/bin/python benchmarks/bench_alignment.py                  # 5 km cells
    .venv/bin/python benchmarks/bench_alignment.py --cell-size-m 2500 --markdown
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import geopandas as gpd
import numpy as np
import shapely
from shapely import LineString
from skimage.graph import route_through_array

from cami_atlas.atlas import Atlas
from cami_atlas.measure import window_bounds
from cami_atlas.planning.alignment import (
    _chord_offset,
    _cost,
    _least_path,
    _template,
    alternative_alignments,
    construction_cost_surface,
    impact_surface,
)

ROUTE = LineString([(57.2, 50.3), (76.9, 43.2)])  # HYPOTHETICAL


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell-size-m", type=float, default=5000.0)
    ap.add_argument("--window-km", type=float, default=300.0)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    atlas = Atlas.default()
    route = gpd.GeoSeries([ROUTE], crs="EPSG:4326")
    t0 = time.perf_counter()
    res = alternative_alignments(route, atlas, infra_type="railway",
                                 attributes={"fenced": "yes"},
                                 cell_size_m=args.cell_size_m, window_km=args.window_km)
    whole_s = time.perf_counter() - t0

    # the surfaces again, timed apart, and one path search: ours and the peer's
    from pyproj import CRS

    from cami_atlas.connectivity.workflow import utm_crs

    lon0, lat0, lon1, lat1 = route.total_bounds
    bounds = window_bounds(route, args.window_km)
    crs = CRS.from_user_input(utm_crs((lon0 + lon1) / 2, (lat0 + lat1) / 2))
    t1 = time.perf_counter()
    grid = _template(bounds, args.cell_size_m, crs)
    imp = impact_surface(atlas, "railway", grid, attributes={"fenced": "yes"})
    con = construction_cost_surface(atlas, grid, bounds)
    surfaces_s = time.perf_counter() - t1
    line = route.to_crs(crs).iloc[0]
    ends = shapely.get_coordinates(line)[[0, -1]]
    cost = _cost(con, imp, 0.5, _chord_offset(con, ends))
    t2 = time.perf_counter()
    ours = _least_path(cost, ends, ["start", "end"])
    ours_s = time.perf_counter() - t2
    rows, cols = cost.rowcol(ends[:, 0], ends[:, 1])
    t3 = time.perf_counter()
    _, peer_cost = route_through_array(np.asarray(cost.values, dtype=float),
                                       (int(rows[0]), int(cols[0])),
                                       (int(rows[1]), int(cols[1])),
                                       fully_connected=True, geometric=True)
    peer_s = time.perf_counter() - t3
    r_o, c_o = cost.rowcol(*shapely.get_coordinates(ours).T)
    v = np.asarray(cost.values, dtype=float)
    step = np.hypot(np.diff(r_o), np.diff(c_o))
    ours_cost = float(((v[r_o[1:], c_o[1:]] + v[r_o[:-1], c_o[:-1]]) / 2 * step).sum())
    n = cost.shape[0] * cost.shape[1]
    alts = res.alternatives
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        f"route {alts['length_km'].iloc[0]:,.0f} km; surfaces {cost.shape[0]} x "
        f"{cost.shape[1]} = {n:,} cells of {args.cell_size_m:g} m",
        f"whole alternative_alignments (surfaces + 5 trade-offs + measures): {whole_s:.1f} s; "
        f"surfaces alone {surfaces_s:.1f} s",
        f"one path search: ours (compiled grid Dijkstra + trace back) {ours_s:.2f} s, "
        f"peer skimage.graph.route_through_array {peer_s:.2f} s, ratio ours/peer "
        f"{ours_s / peer_s:.2f}; path costs differ by "
        f"{abs(ours_cost - peer_cost) / peer_cost:.1e} (relative)",
        f"peak memory (max RSS): {_peak_mib():,.0f} MiB",
        "alternatives: " + "; ".join(
            f"{r.name} {r.length_km:,.0f} km, impact {r.impact:,.0f}"
            for r in alts.itertuples(index=False)),
    ]
    if args.markdown:
        print("\n".join(f"- {line}" for line in lines))
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
