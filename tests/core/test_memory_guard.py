"""The memory guard refuses a grid before allocating it and names a cell size that fits."""

from __future__ import annotations

import math
import time
import tracemalloc

import pytest
from click.testing import CliRunner
from shapely import box

from cami_atlas import cli
from cami_atlas._memory import (
    check_grid_memory,
    check_raster_memory,
    format_bytes,
    parse_memory,
    raster_cells,
)
from cami_atlas.errors import MemoryLimitError, OptionError
from cami_atlas.hotspots import hex_grid
from cami_atlas.hotspots.grid import lattice_cells


def test_parse_memory_units():
    assert parse_memory("4GiB") == 4 * 2**30
    assert parse_memory("512 MiB") == 512 * 2**20
    assert parse_memory("8GB") == 8 * 10**9
    assert parse_memory("2G") == 2 * 2**30
    assert parse_memory(1000) == 1000
    assert parse_memory(None) is None
    with pytest.raises(OptionError, match=r"max_memory='4 lots' is not a memory size.*'4GiB'"):
        parse_memory("4 lots")
    with pytest.raises(OptionError, match="positive"):
        parse_memory("0GiB")


def test_format_bytes():
    assert format_bytes(17.6 * 2**30) == "17.6 GiB"
    assert format_bytes(11.7 * 2**40) == "11.7 TiB"
    assert format_bytes(100) == "100 B"


def test_hand_computed_case_exact_message_and_smallest_cell():
    # a 1000 m x 1000 m window, 8 bytes per cell, 8000 bytes allowed: at most 1000 cells.
    # ceil(1000 / c) ** 2 <= 1000  <=>  ceil(1000 / c) <= 31  <=>  c >= 1000 / 31 = 32.26
    # -> 33 m at two significant digits (32 m gives 32 x 32 = 1024 cells).
    def cells(c):
        return math.ceil(1000 / c) ** 2

    assert cells(33) * 8 <= 8000 < cells(32) * 8
    with pytest.raises(MemoryLimitError) as info:
        check_grid_memory(cells, 10, 8, what="a test raster", option="--cell-size-m",
                          max_memory=8000, available=10**9)
    assert str(info.value) == (
        "a test raster at --cell-size-m 10 would hold 10,000 cells and need about 78.1 KiB "
        "(8 bytes per cell), more than the 7.8 KiB allowed by max_memory (--max-memory); "
        "use --cell-size-m 33 or larger (the smallest that fits) or a smaller area, or a "
        "higher max_memory if the memory is there.")
    # fits: returns the estimate
    assert check_grid_memory(cells, 33, 8, what="x", option="o", max_memory=8000,
                             available=10**9) == cells(33) * 8


def test_available_memory_is_the_limit_when_smaller():
    with pytest.raises(MemoryLimitError, match=r"more than the 1000 B of memory available; use "
                                               r"--cell-size-m 33 or larger"):
        check_grid_memory(lambda c: math.ceil(1000 / c) ** 2, 10, 1, what="r",
                          option="--cell-size-m", max_memory="1GiB", available=1000)


def test_raster_cells_and_window():
    assert raster_cells((0, 0, 1000, 500), 100) == 50
    assert raster_cells((0, 0, 1001, 500), 100) == 55
    with pytest.raises(MemoryLimitError, match=r"--cell-size-m 1 would hold [\d,]+ cells"):
        check_raster_memory(box(72, 40, 73, 41), "EPSG:32643", 1, max_memory="1GiB")


def test_hex_grid_refuses_before_building():
    region = box(60, 35, 120, 55)  # CAMI-sized box
    tracemalloc.start()
    try:
        with pytest.raises(MemoryLimitError, match=r"a hexagon grid over the region at "
                                                   r"--cell-size-m 50 would hold .*use --cell-size-m"):
            hex_grid(region, cell_km=0.05, max_memory="4GiB")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20
    # the suggested size fits
    msg = ""
    try:
        hex_grid(region, cell_km=0.05, max_memory="4GiB")
    except MemoryLimitError as exc:
        msg = str(exc)
    suggested = float(msg.split("use --cell-size-m ")[1].split()[0])
    assert suggested > 50


def test_lattice_cells_counts_the_lattice():
    # squares of 10 km over 100 x 50 km, lattice padded by one cell on each side
    assert lattice_cells("square", 10, (0, 0, 100_000, 50_000)) == 13 * 8
    cells = hex_grid(box(0, 0, 100_000, 50_000), cell_km=10, crs="ESRI:102025",
                     region_crs="ESRI:102025")
    assert len(cells) <= lattice_cells("hexagon", 10, (0, 0, 100_000, 50_000))


def test_cli_connectivity_refuses_fast_without_allocating(tmp_path):
    import cami_atlas.cli.connectivity  # noqa: F401  (time the command, not the imports)

    out = tmp_path / "out"
    args = ["connectivity", "--species", "argali", "--cell-size-m", "1", "--max-memory", "4GiB",
            "--out", str(out)]
    elapsed = []
    for _ in range(3):  # the best of three: the machine may be busy with other work
        t0 = time.perf_counter()
        result = CliRunner().invoke(cli.main, args)
        elapsed.append(time.perf_counter() - t0)
    assert result.exit_code == 1, result.output
    line = result.output.strip()
    assert "\n" not in line
    assert line.startswith("Error: the connectivity rasters of the window at --cell-size-m 1 "
                           "would hold ")
    assert "more than the 4.0 GiB allowed by max_memory (--max-memory)" in line
    suggested = float(line.split("use --cell-size-m ")[1].split()[0])
    assert 50 < suggested < 5000
    assert min(elapsed) < 1.0
    assert not out.exists() or not any(out.iterdir())
    tracemalloc.start()
    try:
        CliRunner().invoke(cli.main, args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20


def test_cli_bad_max_memory_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli.main, [
        "connectivity", "--species", "argali", "--max-memory", "lots",
        "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "'lots' is not a memory size" in result.output
    assert not (tmp_path / "o").exists()


def test_cli_hotspots_refuses_a_too_fine_grid_before_the_analysis(tmp_path):
    out = tmp_path / "hs"
    result = CliRunner().invoke(cli.main, ["hotspots", "--species", "saiga", "--cell-size-m", "50",
                                           "--max-memory", "4GiB", "--out", str(out)])
    assert result.exit_code == 1, result.output
    line = result.output.strip()
    assert "\n" not in line
    assert line.startswith("Error: a hexagon grid over the region at --cell-size-m 50 would hold ")
    assert "(1024 bytes per cell), more than the 4.0 GiB allowed by max_memory" in line
    suggested = float(line.split("use --cell-size-m ")[1].split()[0]) / 1000.0  # km
    assert 0.05 < suggested < 25
    assert not any(p.is_file() for p in out.rglob("*")) if out.exists() else True
    # the suggested size passes the check for the same region
    from cami_atlas.atlas import Atlas
    from cami_atlas.hotspots.grid import check_lattice_memory

    atlas = Atlas.default()
    ranges = atlas.read_kind("species_range", crs=atlas.analysis_crs)
    saiga = ranges[ranges["species"].astype(str).str.contains("Saiga")]
    bounds = tuple(saiga.geometry.total_bounds)
    assert check_lattice_memory(bounds, cell_km=suggested, crs=atlas.analysis_crs,
                                max_memory="4GiB") <= 4 * 2**30
    with pytest.raises(MemoryLimitError):
        check_lattice_memory(bounds, cell_km=suggested * 0.9, crs=atlas.analysis_crs,
                             max_memory="4GiB")
