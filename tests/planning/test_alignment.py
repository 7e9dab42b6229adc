"""Alternative alignments (avoid): synthetic surfaces with hand-computed paths, the default
atlas, and bad input."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from shapely import LineString, box

from cami_atlas.errors import SchemaError
from cami_atlas.planning.alignment import alternative_alignments, path_measures
from cami_atlas.raster import Grid

CRS = "EPSG:32642"
T = Affine(1000, 0, 0, 0, -1000, 9000)  # 9 x 9 cells of 1 km (synthetic)
ROUTE = gpd.GeoSeries([LineString([(500, 4500), (8500, 4500)])], crs=CRS)


def _zone_surfaces(level: float = 10.0) -> tuple[Grid, Grid]:
    imp = np.zeros((9, 9))
    imp[2:7, 3:6] = level  # one high-impact zone across the straight line
    return Grid(imp, T, CRS), Grid(np.ones((9, 9)), T, CRS)


def _run(impact: Grid, construction: Grid, **kw):
    return alternative_alignments(ROUTE, infra_type="railway", impact=impact,
                                  construction=construction, **kw)


def _in_grid_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoSeries:
    return gdf.to_crs(CRS).geometry


def test_least_impact_goes_around_the_zone_by_the_hand_computed_detour() -> None:
    impact, cons = _zone_surfaces()
    out = _run(impact, cons, tradeoffs=[1.0])
    alt = out.alternatives.set_index("name").loc["alt_1"]
    path = _in_grid_crs(out.alternatives).iloc[1]
    zone = box(3000, 2000, 6000, 7000)
    assert not path.intersects(zone.buffer(-1))  # never inside the zone
    # 8-neighbour detour: 3 diagonals up to row 1, 2 steps along it, 3 diagonals down
    assert path.length == pytest.approx((6 * math.sqrt(2) + 2) * 1000, rel=1e-9)
    assert alt["impact"] == pytest.approx(0.0, abs=1e-12)
    original = out.alternatives.set_index("name").loc["original"]
    assert original["impact"] == pytest.approx(3 * 10.0, rel=1e-9)  # 3 km through the zone
    assert alt["impact_change_pct"] == pytest.approx(-100.0)


def test_tradeoff_moves_the_path_as_expected() -> None:
    impact, cons = _zone_surfaces(level=0.5)  # mild: cheap enough to cross at low t
    lengths, impacts = [], []
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        row = _run(impact, cons, tradeoffs=[t]).alternatives.iloc[1]
        lengths.append(row["length_km"])
        impacts.append(row["impact"])
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(impacts))  # less impact ...
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(lengths))  # ... more length
    assert impacts[0] == pytest.approx(1.5) and impacts[-1] == pytest.approx(0.0, abs=1e-12)


def test_uniform_surface_gives_the_straight_line() -> None:
    flat = Grid(np.zeros((9, 9)), T, CRS)
    diagonal = gpd.GeoSeries([LineString([(500, 8500), (8500, 2500)])], crs=CRS)
    out = alternative_alignments(diagonal, infra_type="road", impact=flat,
                                 construction=flat.with_values(np.ones((9, 9))))
    path = _in_grid_crs(out.alternatives).iloc[1]
    straight = diagonal.iloc[0]
    coords = shapely.points(shapely.get_coordinates(path))
    assert shapely.distance(coords, straight).max() <= 1000  # within one cell
    assert path.length <= straight.length + 1000
    assert len(out.alternatives) == 2  # every trade-off finds the same line: one alternative


def test_pareto_front_has_no_dominated_member_and_measures_add_up() -> None:
    impact, cons = _zone_surfaces(level=0.5)
    out = _run(impact, cons)
    alts = out.alternatives.iloc[1:]
    a = alts[["length_km", "impact"]].to_numpy()
    for i in range(len(a)):
        dominated = np.all(a <= a[i] + 1e-9, axis=1) & np.any(a < a[i] - 1e-9, axis=1)
        assert not dominated.any()
    # path_measures on a hand case: 2 km at impact 0.5 then 1 km at 0
    m = path_measures(LineString([(3000, 4500), (6000, 4500)]), CRS, impact, cons)
    assert m["impact"] == pytest.approx(1.5) and m["construction_cost"] == pytest.approx(3.0)


def test_via_points_are_visited() -> None:
    impact, cons = _zone_surfaces()
    via_xy = (4500, 8500)  # top row, middle
    lonlat = gpd.GeoSeries(gpd.points_from_xy([via_xy[0]], [via_xy[1]]), crs=CRS).to_crs(4326)
    out = _run(impact, cons, tradeoffs=[0.0], via=[(lonlat.x[0], lonlat.y[0])])
    path = _in_grid_crs(out.alternatives).iloc[1]
    assert path.distance(shapely.Point(via_xy)) < 1.0


def test_bad_input() -> None:
    impact, cons = _zone_surfaces()
    with pytest.raises(SchemaError, match=r"tradeoffs must be numbers in \[0, 1\]"):
        _run(impact, cons, tradeoffs=[1.5])
    walled = impact.values.copy()
    walled[3:6, 0:2] = np.inf
    walled[3, 0:3] = walled[5, 0:3] = walled[3:6, 2] = np.inf
    walled[4, 0:2] = 0.0  # the start cell is boxed in by impassable cells
    ring = cons.with_values(np.where(np.isinf(walled), np.inf, 1.0))
    with pytest.raises(SchemaError, match="no passable path from the start of the route"):
        _run(impact.with_values(np.where(np.isinf(walled), 0.0, impact.values)), ring)
    far = gpd.GeoSeries([LineString([(500, 4500), (20500, 4500)])], crs=CRS)
    with pytest.raises(SchemaError, match="the end of the route lies outside"):
        alternative_alignments(far, infra_type="road", impact=impact, construction=cons)


def test_default_atlas_alternatives_are_measured() -> None:
    # a HYPOTHETICAL railway through the saiga range (drawn for the test)
    route = gpd.GeoSeries([LineString([(66.0, 47.0), (67.2, 48.2)])], crs="EPSG:4326")
    out = alternative_alignments(route, infra_type="railway", cell_size_m=20_000,
                                 window_km=80, attributes={"fenced": "yes"})
    alts = out.alternatives
    assert alts["name"].iloc[0] == "original" and len(alts) >= 2
    assert np.isfinite(alts[["length_km", "impact", "construction_cost"]].to_numpy()).all()
    assert alts["impact"].iloc[1:].min() <= alts["impact"].iloc[0] + 1e-9
    assert (out.impact.values > 0).any() and (out.construction.values >= 1).all()


def test_screen_route_alternatives_cli(tmp_path) -> None:
    from click.testing import CliRunner

    from cami_atlas.cli import main

    route = tmp_path / "hypothetical_railway.geojson"  # drawn for the test
    gpd.GeoDataFrame({"name": ["hypothetical"]},
                     geometry=[LineString([(66.0, 47.0), (67.2, 48.2)])],
                     crs="EPSG:4326").to_file(route)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [
        "screen-route", str(route), "--type", "railway", "--attr", "fenced=yes",
        "--alternatives", "--tradeoff", "0,0.5,1", "--alignment-cell-size-m", "20000",
        "--window-km", "80", "--no-connectivity", "--no-basemap", "--buffers-km", "5",
        "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = gpd.read_file(out / "alignments.gpkg")
    names = table["name"].tolist()
    assert names[0] == "original" and len(names) >= 2
    comparison = (out / "comparison.csv").read_text()
    for name in names:  # each alignment screened like the original, side by side
        assert name in comparison and (out / name / "screening_report.html").is_file()
    for f in ("alignment_front.png", "impact_surface_quicklook.png", "project.qgz"):
        assert (out / f).is_file(), f
    two = CliRunner().invoke(main, ["screen-route", str(route), str(route), "--type", "road",
                                    "--alternatives", "--out", str(tmp_path / "x")])
    assert two.exit_code == 2 and "--alternatives works on one route" in two.output
    bad = CliRunner().invoke(main, ["screen-route", str(route), "--type", "road",
                                    "--alternatives", "--via", "67", "--out",
                                    str(tmp_path / "y")])
    assert bad.exit_code == 2 and "is not LON,LAT" in bad.output
