"""Omniscape on rasters of any size: tiles with a halo, each tile a dask.distributed task.

The grid is cut into square tiles of ``tile_size`` cells. A tile's task reads its
resistance (and sources) with a halo of ``radius`` cells (rasterio windowed reads),
solves the windows of the targets whose centre lies in the tile (the same target
lattice as the untiled run), and saves the current of those windows over the tile
*and* its halo to a per-tile file in a work folder beside the output. A map cell then
receives current from the targets of its own tile and of the 8 neighbouring tiles (the
halo is not larger than a tile): the assembly sums those per-tile arrays, tile by tile,
into tiled, compressed GeoTIFFs. Only the final rename makes the outputs appear.

Resuming: the per-tile files are written atomically; a manifest (settings, tile
layout, finished tiles) sits in the work folder. Running the same job again reuses the
finished tiles and computes only the others. The work folder is removed after a
successful run.

The scheduler is passed in, never created deep inside: ``dask_scheduler=None`` starts
a ``LocalCluster`` (one in-process worker whose threads run the compiled kernel, which
releases the GIL); ``dask_scheduler="tcp://HOST:PORT"`` sends the tasks to an existing
cluster, whose workers must see the input raster and the work folder at the same paths
(a shared file system).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import rasterio
from pyproj import CRS
from rasterio.windows import Window

from ..._atomic import atomic_path, check_writable
from ..._options import check_option
from ..._progress import RichBar
from ...errors import CRSError, LayerReadError, OptionError, SchemaError
from ..cluster import SchedulerUnreachableError, dask_client
from .core import (
    OUTPUT_FILES,
    SETTINGS_FILE,
    OmniscapeSettings,
    _check_options,
    block_targets,
    normalize,
    solve_windows,
)

__all__ = ["SchedulerUnreachableError", "TiledResult", "omniscape_tiled"]

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class TiledResult:
    """What a tiled run wrote and did.

    Attributes
    ----------
    paths : dict
        Output name -> path of the three GeoTIFFs and the settings JSON.
    settings : OmniscapeSettings
    n_tiles, tiles_computed, tiles_reused : int
        Tiles in the layout; computed in this run; taken from an earlier, killed run.
    n_targets : int
        Windows solved over all tiles.
    """

    paths: dict[str, Path]
    settings: OmniscapeSettings
    n_tiles: int
    tiles_computed: int
    tiles_reused: int
    n_targets: int


# -- reading ---------------------------------------------------------------------------
def _open_meta(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise LayerReadError(f"raster file {path} does not exist.")
    try:
        with rasterio.open(path) as ds:
            return {"shape": (ds.height, ds.width), "transform": ds.transform,
                    "crs": CRS.from_user_input(ds.crs) if ds.crs else None,
                    "nodata": ds.nodata}
    except rasterio.errors.RasterioIOError as exc:
        raise LayerReadError(f"could not read raster {path}: {exc}") from exc


def _read(path: str, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    with rasterio.open(path) as ds:
        data = ds.read(1, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True)
    return np.asarray(data.astype("float64").filled(np.nan), dtype=np.float64)


def _sources(res: np.ndarray, src_path: str | None, r0: int, r1: int, c0: int, c1: int,
             r_cutoff: float, threshold: float) -> np.ndarray:
    if src_path is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            src = np.where(np.isfinite(res) & (res <= r_cutoff), 1.0 / res, 0.0)
    else:
        src = _read(src_path, r0, r1, c0, c1)
        src = np.where(np.isfinite(src), src, 0.0)
    return np.ascontiguousarray(np.where(src < threshold, 0.0, src))


# -- the task ----------------------------------------------------------------------------
def _tile_task(spec: dict[str, Any]) -> int:
    """Solve one tile's targets; save (cum, fp) over tile + halo; return its target count."""
    rows, cols = spec["shape"]
    r0, r1, c0, c1 = spec["core"]
    h = spec["radius"]
    e0, e1, f0, f1 = max(0, r0 - h), min(rows, r1 + h), max(0, c0 - h), min(cols, c1 + h)
    res = _read(spec["resistance"], e0, e1, f0, f1)
    src = _sources(res, spec["sources"], e0, e1, f0, f1, spec["r_cutoff"],
                   spec["source_threshold"])
    t_row, t_col, t_amps = block_targets(src, spec["block_size"], row0=e0, col0=f0,
                                         core=(r0, r1, c0, c1), shape=(rows, cols))
    cum, fp = solve_windows(res, src, t_row, t_col, t_amps, radius=h,
                            block_size=spec["block_size"], neighbours=spec["neighbours"],
                            average=spec["average"], n_threads=spec["n_threads"],
                            solver=spec["solver"],
                            correct_artifacts=spec["correct_artifacts"])
    out = Path(spec["file"])
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".npy", dir=out.parent)
    with os.fdopen(fd, "wb") as fh:
        np.save(fh, np.stack([cum, fp]))
    os.replace(tmp, out)
    return len(t_row)


# -- the layout --------------------------------------------------------------------------
def _tiles(shape: tuple[int, int], tile: int) -> list[tuple[int, int, tuple[int, ...]]]:
    rows, cols = shape
    return [(i, j, (r0, min(rows, r0 + tile), c0, min(cols, c0 + tile)))
            for i, r0 in enumerate(range(0, rows, tile))
            for j, c0 in enumerate(range(0, cols, tile))]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _scan(res_path: Path, src_path: Path | None, shape: tuple[int, int], tile: int,
          r_cutoff: float, threshold: float) -> None:
    """Check the resistance encoding and that some source is positive, strip by strip."""
    rows, cols = shape
    any_source = False
    for r0 in range(0, rows, tile):
        r1 = min(rows, r0 + tile)
        res = _read(str(res_path), r0, r1, 0, cols)
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(res) & ~(res >= 1)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise SchemaError(
                f"resistance raster {res_path} has cell(s) below 1 (first at row {r0 + r}, "
                f"col {c}: {res[r, c]}); the encoding is finite >= 1 passable, inf "
                "impassable, NaN (nodata) outside the study area.")
        if not any_source:
            src = _sources(res, str(src_path) if src_path else None, r0, r1, 0, cols,
                           r_cutoff, threshold)
            if (src < 0).any():
                raise SchemaError(f"source raster {src_path} has negative strengths; "
                                  "source strengths must be >= 0.")
            any_source = bool((src > 0).any())
    if not any_source:
        raise SchemaError(
            "no cell has a source strength above 0"
            + (f" in {src_path}" if src_path else f" (1/resistance with r_cutoff={r_cutoff})")
            + "; give sources with positive values, lower source_threshold or raise r_cutoff.")


# -- the job -----------------------------------------------------------------------------
def work_folder(out_dir: str | os.PathLike[str]) -> Path:
    """The work folder of a tiled run: beside ``out_dir``, named ``<out_dir>.work``.

    Examples
    --------
    >>> work_folder("/data/maps").as_posix()
    '/data/maps.work'
    """
    out = Path(out_dir)
    return out.with_name(out.name + ".work")


def omniscape_tiled(resistance: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
                    radius: int | None = None, radius_m: float | None = None,
                    sources: str | os.PathLike[str] | None = None,
                    r_cutoff: float = float("inf"), source_threshold: float = 0.0,
                    block_size: int = 1, neighbours: Literal[8, 4] = 8,
                    average: Literal["conductance", "resistance"] = "conductance",
                    solver: Literal["auto", "direct", "amg"] = "auto",
                    correct_artifacts: bool = True, tile_size: int = 1024,
                    dask_scheduler: str | None = None,
                    n_workers: int | None = None, threads_per_worker: int | None = None,
                    scheduler_timeout_s: float = 10.0, progress: bool = True,
                    overwrite: bool = False, keep_work: bool = False,
                    on_tile: Callable[[int, int], None] | None = None,
                    extra_settings: dict[str, Any] | None = None) -> TiledResult:
    """Omniscape on a resistance GeoTIFF of any size, tile by tile on dask.distributed.

    Long only for its documented options; the body is 90 lines, one call per step
    (check inputs and outputs, plan the tiles, run them on the cluster).

    The results equal those of :func:`~cami_atlas.connectivity.omniscape.omniscape` on
    the whole grid (to rounding: sums are taken in another order).

    Parameters
    ----------
    resistance : path
        GeoTIFF (any GDAL raster) in the resistance encoding; nodata is outside.
    out_dir : path
        Folder for ``cumulative_current.tif``, ``flow_potential.tif``,
        ``normalized_current.tif`` (float64, tiled, deflate) and the settings JSON.
    radius, radius_m, sources, r_cutoff, source_threshold, block_size, neighbours, average,
    solver, correct_artifacts
        As for :func:`~cami_atlas.connectivity.omniscape.omniscape`; ``sources`` is a
        raster aligned with the resistance raster.
    tile_size : int
        Side of a tile in cells; at least the window radius (the halo).
    dask_scheduler : str, optional
        Address of an existing scheduler (``"tcp://HOST:PORT"``); default: a LocalCluster.
    n_workers, threads_per_worker : int, optional
        Of the LocalCluster (default 1 worker with one thread per core).
    progress : bool
        A progress bar on stderr (when it is a terminal).
    overwrite : bool
        Replace existing outputs (and the work folder of another job).
    keep_work : bool
        Keep the per-tile files after success.
    on_tile : callable, optional
        Called as ``on_tile(done, total)`` after each finished tile.

    Returns
    -------
    TiledResult
    """
    res_path = Path(resistance)
    src_path = Path(sources) if sources is not None else None
    meta = _open_meta(res_path)
    shape = meta["shape"]
    crs = meta["crs"]
    if crs is not None and crs.is_geographic:
        raise CRSError(
            f"the resistance raster {res_path} is in lat/lon ({crs}): Omniscape's window "
            "radius and cell-based conductances need square cells in metres. Reproject it "
            "first (e.g. gdalwarp -t_srs ESRI:102025 -tr 1000 1000).")
    tr = meta["transform"]
    cell_m = None
    if crs is not None:
        if tr.b != 0 or tr.d != 0 or not np.isclose(abs(tr.a), abs(tr.e), rtol=1e-6):
            raise CRSError(f"{res_path} must be north-up with square cells; warp it first.")
        cell_m = float(abs(tr.a) * crs.axis_info[0].unit_conversion_factor)
    if (radius is None) == (radius_m is None):
        raise OptionError("give the window radius either in cells (radius=...) or in metres "
                          f"(radius_m=...), not both or neither; got radius={radius!r}, "
                          f"radius_m={radius_m!r}.")
    if radius_m is not None:
        if cell_m is None:
            raise CRSError(f"radius_m needs a projected CRS; {res_path} has none.")
        radius = round(float(radius_m) / cell_m)
    if int(radius) != radius or radius < 1:  # type: ignore[arg-type, operator]
        raise OptionError(f"radius={radius!r} must be a whole number of cells >= 1.")
    rad = int(radius)  # type: ignore[arg-type]
    _check_options(shape, rad, block_size, neighbours, average)
    check_option("solver", solver, ("auto", "direct", "amg"))
    if int(tile_size) != tile_size or tile_size < rad:
        raise OptionError(
            f"tile_size={tile_size} is smaller than the halo (the window radius, {rad} "
            f"cells); use tile_size >= {rad} (a few times the radius is efficient).")
    if src_path is not None:
        sm = _open_meta(src_path)
        if sm["shape"] != shape or not sm["transform"].almost_equals(tr):
            raise SchemaError(f"the source raster {src_path} is not aligned with the "
                              f"resistance raster {res_path} (shape {sm['shape']} vs {shape}); "
                              "resample it onto the resistance grid.")
    out = Path(out_dir)
    paths = {k: out / v for k, v in OUTPUT_FILES.items()}
    paths["settings"] = out / SETTINGS_FILE
    for p in paths.values():
        check_writable(p, overwrite=overwrite)
    settings = OmniscapeSettings(
        radius_cells=rad, block_size=int(block_size), source_threshold=float(source_threshold),
        r_cutoff=float(r_cutoff), source_from_resistance=src_path is None,
        neighbours=int(neighbours), average=average, cell_size_m=cell_m,
        correct_artifacts=bool(correct_artifacts) and int(block_size) > 1,
        extra={"tile_size": int(tile_size), **(extra_settings or {})})
    _scan(res_path, src_path, shape, int(tile_size), float(r_cutoff), float(source_threshold))
    client, cluster = dask_client(dask_scheduler, n_workers, threads_per_worker,
                              scheduler_timeout_s)
    try:
        work = work_folder(out)
        # the inputs as they are now: a changed file is not mixed with old tiles
        manifest = {"settings_digest": settings.digest(), "tile_size": int(tile_size),
                    "resistance": str(res_path.resolve()), "shape": list(shape),
                    "resistance_stat": _stat(res_path),
                    "sources": str(src_path.resolve()) if src_path else None,
                    "sources_stat": _stat(src_path) if src_path else None}
        done = _open_work(work, manifest, overwrite)
        tiles = _tiles(shape, int(tile_size))
        specs, reused = [], 0
        for i, j, core in tiles:
            name = f"tile_{i}_{j}.npy"
            if name in done and (work / name).exists():
                reused += 1
                continue
            specs.append({"shape": shape, "core": core, "radius": rad,
                          "resistance": str(res_path.resolve()),
                          "sources": str(src_path.resolve()) if src_path else None,
                          "r_cutoff": float(r_cutoff), "source_threshold": float(source_threshold),
                          "block_size": int(block_size), "neighbours": int(neighbours),
                          "average": average, "n_threads": 1, "solver": solver,
                          "correct_artifacts": settings.correct_artifacts,
                          "file": str((work / name).resolve()), "name": name})
        n_targets = _run(client, specs, work, manifest, done, len(tiles), reused, progress,
                          on_tile)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    _assemble(res_path, work, shape, int(tile_size), rad, meta, paths, overwrite)
    with atomic_path(paths["settings"], overwrite=overwrite) as tmp:
        tmp.write_text(settings.to_json())
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return TiledResult(paths=paths, settings=settings, n_tiles=len(tiles),
                       tiles_computed=len(specs), tiles_reused=reused, n_targets=n_targets)


def _stat(path: Path) -> list[int]:
    st = path.stat()
    return [int(st.st_size), int(st.st_mtime_ns)]


def _open_work(work: Path, manifest: dict[str, Any], overwrite: bool) -> dict[str, Any]:
    """Create or reopen the work folder; return the finished tiles (name -> targets)."""
    mpath = work / MANIFEST
    if mpath.exists():
        old = json.loads(mpath.read_text())
        same = all(old.get(k) == v for k, v in manifest.items())
        if same:
            return dict(old.get("done", {}))
        if not overwrite:
            raise OptionError(
                f"the work folder {work} belongs to a job with other settings or inputs; "
                "rerun that job to finish it, or pass overwrite=True (--overwrite) to start "
                "afresh.")
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    _write_json(mpath, {**manifest, "done": {}})
    return {}


def _run(client: Any, specs: list[dict[str, Any]], work: Path, manifest: dict[str, Any],
         done: dict[str, Any], total: int, reused: int, progress: bool,
         on_tile: Callable[[int, int], None] | None) -> int:
    from distributed import as_completed

    n_targets = sum(int(v) for v in done.values())
    bar = RichBar("omniscape tiles", total, done=reused, enabled=progress, counts=True,
                  transient=False).start()
    finished = reused
    try:
        futures = {client.submit(_tile_task, s, key=f"omniscape-{manifest['settings_digest']}-"
                                 f"{s['name']}", pure=False): s["name"] for s in specs}
        for fut in as_completed(futures):
            name = futures[fut]
            count = fut.result()
            done[name] = int(count)
            n_targets += int(count)
            _write_json(work / MANIFEST, {**manifest, "done": done})
            finished += 1
            bar.advance()
            if on_tile is not None:
                on_tile(finished, total)
    finally:
        bar.close()
    if n_targets == 0:
        raise SchemaError("no target block has a positive source strength; nothing to solve. "
                          "Give sources with positive values inside the study area, lower "
                          "source_threshold or raise r_cutoff.")
    return n_targets


def _assemble(res_path: Path, work: Path, shape: tuple[int, int], tile: int, radius: int,
              meta: dict[str, Any], paths: dict[str, Path], overwrite: bool) -> None:
    """Sum the per-tile arrays into the three GeoTIFFs, one output tile at a time."""
    rows, cols = shape
    nodata = -9999.0
    prof = dict(driver="GTiff", height=rows, width=cols, count=1, dtype="float64",
                crs=meta["crs"].to_wkt() if meta["crs"] else None, transform=meta["transform"],
                nodata=nodata, compress="deflate", predictor=3, BIGTIFF="IF_SAFER")
    if rows >= 256 and cols >= 256:
        prof.update(tiled=True, blockxsize=256, blockysize=256)
    tiles = _tiles(shape, tile)
    index = {(i, j): core for i, j, core in tiles}
    names = ("cumulative_current", "flow_potential", "normalized_current")
    from contextlib import ExitStack

    with ExitStack() as stack:
        tmps = [stack.enter_context(atomic_path(paths[n], overwrite=overwrite)) for n in names]
        dsts = [stack.enter_context(rasterio.open(t, "w", **prof)) for t in tmps]
        for dst, n in zip(dsts, names, strict=True):
            dst.set_band_description(1, n)
        for (i, j), (r0, r1, c0, c1) in index.items():
            cum = np.zeros((r1 - r0, c1 - c0))
            fp = np.zeros((r1 - r0, c1 - c0))
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    if (i + di, j + dj) not in index:
                        continue
                    q0, _, p0, _ = index[(i + di, j + dj)]
                    e0, f0 = max(0, q0 - radius), max(0, p0 - radius)
                    arr = np.load(work / f"tile_{i + di}_{j + dj}.npy", mmap_mode="r")
                    e1, f1 = e0 + arr.shape[1], f0 + arr.shape[2]
                    a0, a1, b0, b1 = max(r0, e0), min(r1, e1), max(c0, f0), min(c1, f1)
                    if a0 >= a1 or b0 >= b1:
                        continue
                    cum[a0 - r0:a1 - r0, b0 - c0:b1 - c0] += arr[0, a0 - e0:a1 - e0,
                                                                 b0 - f0:b1 - f0]
                    fp[a0 - r0:a1 - r0, b0 - c0:b1 - c0] += arr[1, a0 - e0:a1 - e0,
                                                                b0 - f0:b1 - f0]
            res = _read(str(res_path), r0, r1, c0, c1)
            win = Window(c0, r0, c1 - c0, r1 - r0)
            for dst, a in zip(dsts, normalize(cum, fp, res), strict=True):
                dst.write(np.where(np.isnan(a), nodata, a), 1, window=win)
