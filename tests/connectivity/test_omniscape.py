"""Omniscape against an independent dense brute force, and its error contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from cami_atlas.connectivity.omniscape import omniscape, source_strength
from cami_atlas.errors import CRSError, OptionError, SchemaError
from cami_atlas.raster import Grid

CRS = "EPSG:32643"


def _grid(values: np.ndarray, cell: float = 100.0) -> Grid:
    return Grid(np.asarray(values, dtype=float), Affine(cell, 0, 500_000, 0, -cell, 4_500_000),
                CRS)


def _random_resistance(rows: int, cols: int, seed: int, *, holes: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    r = 1.0 + 9.0 * rng.random((rows, cols))
    if holes:
        r[rng.random((rows, cols)) < 0.08] = np.inf
        r[rng.random((rows, cols)) < 0.05] = np.nan
    return r


# -- the brute force: every window solved densely, written from the Omniscape docs --------
def _conductance(ra: float, rb: float, diagonal: bool, average: str) -> float:
    if not (np.isfinite(ra) and np.isfinite(rb)):
        return 0.0
    g = 0.5 / ra + 0.5 / rb if average == "conductance" else 2.0 / (ra + rb)
    return g / np.sqrt(2.0) if diagonal else g


def _window_current(res: np.ndarray, inj: dict, target: tuple[int, int], cells: list,
                    neighbours: int, average: str, out: np.ndarray,
                    factor: np.ndarray | None = None) -> None:
    steps = [(0, 1), (1, 0), (0, -1), (-1, 0)]
    if neighbours == 8:
        steps += [(1, 1), (1, -1), (-1, 1), (-1, -1)]
    cellset = set(cells)

    def g_of(a, b):
        diag = a[0] != b[0] and a[1] != b[1]
        return _conductance(res[a], res[b], diag, average)

    # component of the target (only it is solved, as in Circuitscape)
    if not np.isfinite(res[target]):
        return
    comp, todo = {target}, [target]
    while todo:
        a = todo.pop()
        for dr, dc in steps:
            b = (a[0] + dr, a[1] + dc)
            if b in cellset and b not in comp and g_of(a, b) > 0:
                comp.add(b)
                todo.append(b)
    nodes = sorted(comp)
    if not any(inj.get(c, 0.0) > 0 for c in nodes):
        return
    idx = {c: i for i, c in enumerate(nodes)}
    n = len(nodes)
    G = np.zeros((n, n))
    for a in nodes:
        for dr, dc in steps:
            b = (a[0] + dr, a[1] + dc)
            if b in idx:
                G[idx[a], idx[b]] = g_of(a, b)
    L = np.diag(G.sum(axis=1)) - G
    keep = [i for i, c in enumerate(nodes) if c != target]
    rhs = np.array([inj.get(nodes[i], 0.0) for i in keep])
    v = np.zeros(n)
    v[keep] = np.linalg.solve(L[np.ix_(keep, keep)], rhs)
    F = G * (v[:, None] - v[None, :])
    cur = np.maximum(np.clip(F, 0, None).sum(axis=1), np.clip(-F, 0, None).sum(axis=1))
    for c, i in idx.items():
        f = 1.0 if factor is None else factor[c[0] - target[0] + (factor.shape[0] // 2),
                                              c[1] - target[1] + (factor.shape[1] // 2)]
        out[c] += cur[i] * f


def dense_correction(radius: int, block_size: int, neighbours: int = 8) -> np.ndarray:
    """Omniscape.jl's calc_correction, densely: (2r+1)^2 factors, centre at the middle."""
    side, br = 2 * radius + 1, (block_size - 1) // 2
    uniform = np.ones((side, side))
    centre = (radius, radius)
    cells = [(r, c) for r in range(side) for c in range(side)
             if (r - radius) ** 2 + (c - radius) ** 2 <= radius ** 2]
    n = len(cells)
    in_block = {c for c in cells if abs(c[0] - radius) <= br and abs(c[1] - radius) <= br}
    one = np.zeros((side, side))
    _window_current(uniform, {c: 1.0 / (n - 1) for c in cells if c != centre}, centre, cells,
                    neighbours, "conductance", one)
    blk = np.zeros((side, side))
    _window_current(uniform, {c: block_size ** 2 / (n - len(in_block)) for c in cells
                              if c not in in_block}, centre, cells, neighbours, "conductance",
                    blk)
    total = np.zeros((side + 2 * br, side + 2 * br))
    for i in range(block_size):
        for j in range(block_size):
            total[i:i + side, j:j + side] += one
    total = total[br:br + side, br:br + side]
    total[blk == 0] = 0
    total[total == 0] = 1
    blk[blk == 0] = 1
    return total / blk


def brute_force(res: np.ndarray, src: np.ndarray, radius: int, block_size: int,
                neighbours: int = 8, average: str = "conductance",
                correct: bool = False) -> tuple[np.ndarray, ...]:
    rows, cols = res.shape
    factor = dense_correction(radius, block_size, neighbours) if (
        correct and block_size > 1) else None
    br = (block_size - 1) // 2
    cum = np.zeros(res.shape)
    fp = np.zeros(res.shape)
    uniform = np.ones(res.shape)
    for tr in range(br, rows - br, block_size):
        for tc in range(br, cols - br, block_size):
            amps = src[tr - br:tr + br + 1, tc - br:tc + br + 1].sum()
            if amps <= 0:
                continue
            cells = [(r, c) for r in range(rows) for c in range(cols)
                     if (r - tr) ** 2 + (c - tc) ** 2 <= radius ** 2]
            s = {c: (0.0 if (abs(c[0] - tr) <= br and abs(c[1] - tc) <= br) else src[c])
                 for c in cells}
            total = sum(s.values())
            if total <= 0:
                continue
            inj = {c: v * amps / total for c, v in s.items()}
            _window_current(res, inj, (tr, tc), cells, neighbours, average, cum, factor)
            _window_current(uniform, inj, (tr, tc), cells, neighbours, average, fp, factor)
    outside = np.isnan(res)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.where(fp > 0, cum / fp, 0.0)
    return (np.where(outside, np.nan, cum), np.where(outside, np.nan, fp),
            np.where(outside, np.nan, norm))


def _src_from_res(res: np.ndarray, r_cutoff: float = np.inf) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(res) & (res <= r_cutoff), 1.0 / res, 0.0)


@pytest.mark.parametrize(("neighbours", "average", "block_size", "radius", "seed", "correct"), [
    (8, "conductance", 1, 3, 1, True),
    (4, "resistance", 1, 4, 2, True),
    (8, "conductance", 3, 4, 3, False),
    (8, "resistance", 3, 3, 4, False),
    (8, "conductance", 3, 4, 5, True),
    (4, "conductance", 5, 4, 6, True),
])
def test_equals_dense_brute_force(neighbours, average, block_size, radius, seed, correct):
    res = _random_resistance(13, 11, seed)
    src = _src_from_res(res, 8.0)
    want = brute_force(res, src, radius, block_size, neighbours, average, correct)
    got = omniscape(_grid(res), radius=radius, block_size=block_size, r_cutoff=8.0,
                    neighbours=neighbours, average=average, n_threads=1,
                    correct_artifacts=correct)
    for have, ref in zip((got.cumulative_current, got.flow_potential, got.normalized_current),
                         want, strict=True):
        np.testing.assert_array_equal(np.isnan(have.values), np.isnan(ref))
        np.testing.assert_allclose(have.values, ref, rtol=1e-9, atol=1e-12)
    assert np.nanmax(want[0]) > 0


def test_threads_and_source_grid_match_brute_force():
    res = _random_resistance(40, 36, 7)
    rng = np.random.default_rng(8)
    src = np.where(rng.random(res.shape) < 0.3, rng.random(res.shape), 0.0)
    want = brute_force(res, src, 5, 1)
    got = omniscape(_grid(res), radius=5, sources=_grid(src), n_threads=2)
    np.testing.assert_allclose(got.cumulative_current.values, want[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.flow_potential.values, want[1], rtol=1e-9, atol=1e-12)


def test_uniform_surface_flow_potential_equals_current():
    out = omniscape(_grid(np.full((25, 30), 7.0)), radius=6, block_size=3)
    np.testing.assert_allclose(out.cumulative_current.values, out.flow_potential.values,
                               rtol=1e-12)
    np.testing.assert_allclose(out.normalized_current.values, 1.0, rtol=1e-12)
    assert out.cumulative_current.values.min() > 0


def test_barrier_gap_concentrates_current():
    res = np.ones((31, 31))
    res[:, 15] = np.inf
    res[15, 15] = 1.0  # the one gap
    out = omniscape(_grid(res), radius=10)
    cum = out.cumulative_current.values
    norm = out.normalized_current.values
    wall = np.delete(cum[:, 15], 15)
    assert (wall == 0).all()
    # the gap carries far more current than any other cell and than on open ground
    assert cum[15, 15] == cum.max()
    assert cum[15, 15] > 3 * np.median(cum)
    assert norm[15, 15] > 2.0


def test_block_size_approximation():
    """block_size 3 approximates block_size 1 (Omniscape.jl docs: one solve per block
    with the block's summed strength). The grounds concentrate at the block centres (the
    "block artifacts"); elsewhere, and summed over blocks, the maps agree closely."""
    res = _random_resistance(45, 45, 11, holes=False)
    one = omniscape(_grid(res), radius=8, block_size=1).cumulative_current.values[9:36, 9:36]
    three = omniscape(_grid(res), radius=8, block_size=3,
                      correct_artifacts=False).cumulative_current.values[9:36, 9:36]
    rr, cc = np.mgrid[9:36, 9:36]
    centre = ((rr - 1) % 3 == 0) & ((cc - 1) % 3 == 0)
    a, b = one[~centre], three[~centre]
    assert np.corrcoef(a, b)[0, 1] > 0.99
    assert np.median(np.abs(b - a) / a) < 0.1
    blocks_one = one.reshape(9, 3, 9, 3).sum(axis=(1, 3))
    blocks_three = three.reshape(9, 3, 9, 3).sum(axis=(1, 3))
    assert np.max(np.abs(blocks_three - blocks_one) / blocks_one) < 0.1
    # and the artifact itself: a block centre carries at least its block's strength
    assert (three[centre] > one[centre]).all()
    # Omniscape's correction (its default) removes most of the artifact at the centres
    fixed = omniscape(_grid(res), radius=8, block_size=3).cumulative_current.values[9:36, 9:36]
    err_raw = np.abs(three - one) / one
    err_fixed = np.abs(fixed - one) / one
    assert np.median(err_fixed[centre]) < 0.5 * np.median(err_raw[centre])


def test_source_strength_within_range():
    from shapely.geometry import box

    g = _grid(np.full((10, 10), 4.0))
    left, bottom, _, top = g.bounds
    s = source_strength(g, within=box(left, bottom, left + 500, top))
    assert s.values[:, :5].tolist() == [[0.25] * 5] * 10
    assert (s.values[:, 5:] == 0).all()


# -- bad input ---------------------------------------------------------------------------
def test_radius_larger_than_grid():
    with pytest.raises(OptionError, match="larger than the grid"):
        omniscape(_grid(np.ones((10, 12))), radius=12)


def test_all_zero_sources():
    with pytest.raises(SchemaError, match="no cell has a source strength"):
        omniscape(_grid(np.ones((10, 10))), radius=3, sources=_grid(np.zeros((10, 10))))


def test_latlon_resistance():
    g = Grid(np.ones((10, 10)), Affine(0.01, 0, 70, 0, -0.01, 42), "EPSG:4326")
    with pytest.raises(CRSError, match="lat/lon"):
        omniscape(g, radius=3)


def test_even_block_size():
    with pytest.raises(OptionError, match="odd"):
        omniscape(_grid(np.ones((10, 10))), radius=3, block_size=2)


def test_radius_in_metres():
    g = _grid(np.ones((20, 20)))
    a = omniscape(g, radius_m=420)  # 4.2 cells -> 4
    b = omniscape(g, radius=4)
    np.testing.assert_array_equal(a.cumulative_current.values, b.cumulative_current.values)
    assert a.settings.radius_cells == 4


def test_write_refuses_to_overwrite(tmp_path):
    out = omniscape(_grid(np.ones((12, 12))), radius=3)
    paths = out.write(tmp_path / "o")
    assert [p.name for p in paths][:3] == ["cumulative_current.tif", "flow_potential.tif",
                                          "normalized_current.tif"]
    back = Grid.from_geotiff(paths[0])
    np.testing.assert_allclose(back.values, out.cumulative_current.values, rtol=1e-12)
    with pytest.raises(FileExistsError, match="exists already"):
        out.write(tmp_path / "o")


# -- tiled and distributed ---------------------------------------------------------------
def _tif(tmp_path, values, name="resistance.tif"):
    return _grid(values).to_geotiff(tmp_path / name, dtype="float64")


def _read_outputs(paths):
    return [Grid.from_geotiff(paths[k]).values for k in
            ("cumulative_current", "flow_potential", "normalized_current")]


def _assert_same(tiled, untiled):
    want = (untiled.cumulative_current.values, untiled.flow_potential.values,
            untiled.normalized_current.values)
    for have, ref in zip(tiled, want, strict=True):
        np.testing.assert_array_equal(np.isnan(have), np.isnan(ref))
        np.testing.assert_allclose(have, ref, rtol=1e-9, atol=1e-12)


def test_tiled_equals_untiled(tmp_path):
    from cami_atlas.connectivity.omniscape import omniscape_tiled, work_folder

    res = _random_resistance(57, 49, 21)
    path = _tif(tmp_path, res)
    out = omniscape_tiled(path, tmp_path / "out", radius=5, block_size=3, r_cutoff=8.0,
                          tile_size=16, n_workers=1, threads_per_worker=2, progress=False)
    assert out.n_tiles == 16 and out.tiles_computed == 16 and out.tiles_reused == 0
    untiled = omniscape(_grid(res), radius=5, block_size=3, r_cutoff=8.0)
    _assert_same(_read_outputs(out.paths), untiled)
    assert out.n_targets == untiled.n_targets
    assert not work_folder(tmp_path / "out").exists()
    with pytest.raises(FileExistsError, match="exists already"):
        omniscape_tiled(path, tmp_path / "out", radius=5, tile_size=16, progress=False)


def test_tiled_with_source_raster(tmp_path):
    from cami_atlas.connectivity.omniscape import omniscape_tiled

    res = _random_resistance(30, 34, 5)
    rng = np.random.default_rng(6)
    src = np.where(rng.random(res.shape) < 0.4, rng.random(res.shape), np.nan)
    out = omniscape_tiled(_tif(tmp_path, res), tmp_path / "o", radius=4,
                          sources=_tif(tmp_path, src, "src.tif"), source_threshold=0.2,
                          tile_size=10, progress=False)
    untiled = omniscape(_grid(res), radius=4, sources=_grid(src), source_threshold=0.2)
    _assert_same(_read_outputs(out.paths), untiled)


def test_tiled_errors_write_nothing(tmp_path):
    import socket

    from cami_atlas.connectivity.omniscape import (
        SchedulerUnreachableError,
        omniscape_tiled,
        work_folder,
    )

    path = _tif(tmp_path, np.ones((30, 30)))
    out = tmp_path / "o"
    with pytest.raises(OptionError, match="smaller than the halo"):
        omniscape_tiled(path, out, radius=6, tile_size=5, progress=False)
    with pytest.raises(OptionError, match="larger than the grid"):
        omniscape_tiled(path, out, radius=30, tile_size=40, progress=False)
    zero = _tif(tmp_path, np.zeros((30, 30)), "zero.tif")
    with pytest.raises(SchemaError, match="no cell has a source strength"):
        omniscape_tiled(path, out, radius=3, sources=zero, tile_size=10, progress=False)
    ll = tmp_path / "ll.tif"
    Grid(np.ones((30, 30)), Affine(0.01, 0, 70, 0, -0.01, 42), "EPSG:4326").to_geotiff(ll)
    with pytest.raises(CRSError, match="lat/lon"):
        omniscape_tiled(ll, out, radius=3, tile_size=10, progress=False)
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SchedulerUnreachableError, match="no Dask scheduler answers"):
        omniscape_tiled(path, out, radius=3, tile_size=10, progress=False,
                        dask_scheduler=f"tcp://127.0.0.1:{port}", scheduler_timeout_s=2)
    assert not out.exists() and not work_folder(out).exists()


def _src_dir() -> str:
    import cami_atlas

    return str(Path(cami_atlas.__file__).resolve().parents[1])


def test_killed_tiled_job_resumes(tmp_path):
    """A job killed (SIGKILL) after 3 tiles resumes without recomputing them."""
    import json
    import os
    import subprocess
    import sys

    from cami_atlas.connectivity.omniscape import omniscape_tiled, work_folder

    res = _random_resistance(40, 40, 31)
    path = _tif(tmp_path, res)
    out = tmp_path / "out"
    script = (
        "import os, signal\n"
        "from cami_atlas.connectivity.omniscape import omniscape_tiled\n"
        "def on_tile(done, total):\n"
        "    if done >= 3:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        f"omniscape_tiled({str(path)!r}, {str(out)!r}, radius=4, tile_size=8, n_workers=1,\n"
        "                threads_per_worker=1, progress=False, on_tile=on_tile)\n")
    env = {**os.environ, "PYTHONPATH": _src_dir()}
    proc = subprocess.run([sys.executable, "-c", script], env=env, timeout=600)
    assert proc.returncode == -9  # killed, not finished
    assert not out.exists()
    manifest = json.loads((work_folder(out) / "manifest.json").read_text())
    assert len(manifest["done"]) >= 3
    again = omniscape_tiled(path, out, radius=4, tile_size=8, progress=False)
    assert again.tiles_reused == len(manifest["done"])
    assert again.tiles_computed == again.n_tiles - again.tiles_reused == 25 - again.tiles_reused
    _assert_same(_read_outputs(again.paths), omniscape(_grid(res), radius=4))
    # a work folder left by a job of other settings is not mixed in
    other = tmp_path / "other"
    work_folder(other).mkdir()
    (work_folder(other) / "manifest.json").write_text(json.dumps({**manifest, "tile_size": 9}))
    with pytest.raises(OptionError, match="belongs to a job with other settings"):
        omniscape_tiled(path, other, radius=4, tile_size=8, progress=False)
    assert not other.exists()


@pytest.mark.slow
def test_tiled_on_a_real_dask_cluster(tmp_path, dask_scheduler_address):
    """A scheduler and two worker processes on 127.0.0.1; the job goes through the address."""
    from cami_atlas.connectivity.omniscape import omniscape_tiled

    res = _random_resistance(36, 44, 41)
    out = omniscape_tiled(_tif(tmp_path, res), tmp_path / "out", radius=5, block_size=3,
                          tile_size=12, dask_scheduler=dask_scheduler_address, progress=False)
    assert out.tiles_computed == out.n_tiles == 12
    _assert_same(_read_outputs(out.paths), omniscape(_grid(res), radius=5, block_size=3))


def test_amg_solver_matches_direct():
    res = _random_resistance(30, 28, 51)
    direct = omniscape(_grid(res), radius=6, block_size=3, solver="direct")
    amg = omniscape(_grid(res), radius=6, block_size=3, solver="amg")
    for a, d in ((amg.cumulative_current, direct.cumulative_current),
                 (amg.flow_potential, direct.flow_potential)):
        np.testing.assert_allclose(a.values, d.values, rtol=1e-7, atol=1e-10)
    with pytest.raises(OptionError, match="'auto', 'direct', 'amg'"):
        omniscape(_grid(res), radius=6, solver="cholmod")


# -- species inputs from the default atlas ------------------------------------------------
def test_species_inputs_distance_outside_range():
    """Outside the range the resistance grows as r * (1 + d / radius); sources only inside."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from cami_atlas.atlas import Atlas
    from cami_atlas.barriers.overlay import species_polygons
    from cami_atlas.connectivity.omniscape.species import species_inputs, species_movement_km

    inp = species_inputs(species="snow leopard", cell_size_m=20000, radius_km=100, dem="dem",
                         crs="EPSG:32643",
                         landcover="")
    assert inp.species == "Panthera_uncia" and species_movement_km("Panthera uncia") == 8.1
    atlas = Atlas.default()
    ranges = gpd.GeoDataFrame(
        pd.concat([atlas.read(n).to_crs("EPSG:4326")
                   for n in atlas.layer_names("species_range")]),
        crs="EPSG:4326")
    rng = species_polygons(ranges, crs=inp.resistance.crs).loc["Panthera_uncia"]
    res = inp.resistance.values
    rows, cols = np.nonzero(np.isfinite(res))
    x, y = inp.resistance.xy(rows, cols)
    pts = shapely.points(x, y)
    inside = shapely.contains(rng, pts)
    src = inp.sources.values[rows, cols]
    assert (src[~inside] == 0).all() and (src[inside] > 0).mean() > 0.9
    from cami_atlas.connectivity.workflow import run_connectivity

    base = run_connectivity(species="snow leopard", cell_size_m=20000, modes=(),
                            cores=gpd.GeoDataFrame(geometry=[shapely.box(67, 37, 70, 44),
                                                             shapely.box(80, 37, 83, 44)],
                                                   crs="EPSG:4326")).resistance.values
    factor = res[rows, cols] / base[rows, cols]
    d_km = shapely.distance(rng, pts) / 1000
    far = ~inside & (d_km > 40) & (d_km < 300)  # the padding is three radii
    assert far.sum() > 50
    # cell-centre distance (distance transform) vs exact distance to the polygon: within
    # about one cell (20 km) of each other
    np.testing.assert_allclose(factor[far], 1 + d_km[far] / 100, atol=0.25)
    np.testing.assert_allclose(factor[inside], 1.0)


def test_species_resistance_from_base_layers():
    """Region-wide: ETOPO5 slope resistance with barriers x the IGBP class resistance;
    a changed class value changes exactly the cells of that class."""
    from cami_atlas.atlas import Atlas
    from cami_atlas.connectivity.omniscape.species import (
        landcover_resistance_table,
        species_inputs,
    )
    from cami_atlas.errors import SchemaError

    common = dict(species="khulan", cell_size_m=40000, outside_range=False)
    inp = species_inputs(**common)
    assert (inp.dem, inp.landcover) == ("dem_etopo5", "landcover_modis")
    assert inp.resistance.crs.equals(Atlas.default().analysis_crs)  # region-wide: Albers
    plain = species_inputs(**common, landcover="")
    r, p = inp.resistance.values, plain.resistance.values
    assert np.array_equal(np.isnan(r), np.isnan(p))
    ok = np.isfinite(p) & np.isfinite(r)
    factor = r[ok] / p[ok]
    table = landcover_resistance_table()
    # every factor is one of the table's values (grassland 1 most common in the region)
    assert np.isin(np.round(factor, 9), table[np.isfinite(table)].to_numpy()).all()
    assert (factor == 1.0).mean() > 0.2 and (factor == 2.0).any()  # grassland, barren
    assert np.isinf(r[np.isfinite(p)]).sum() > 100  # large lakes and seas: water impassable
    # cropland made as easy as grassland: only cropland cells change
    cheaper = species_inputs(**common, landcover_resistance={**table.to_dict(), 12: 1.0})
    c = cheaper.resistance.values
    changed = np.isfinite(r) & (c != r)
    np.testing.assert_allclose(r[changed] / c[changed], 5.0)
    assert changed.sum() > 50
    with pytest.raises(SchemaError, match=r"no value for IGBP class\(es\) \[16\]"):
        landcover_resistance_table({k: 1.0 for k in range(16)})
    with pytest.raises(SchemaError, match="numbers >= 1"):
        landcover_resistance_table({**table.to_dict(), 3: 0.5})
