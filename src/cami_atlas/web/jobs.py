"""Route screenings of the online atlas, run as background jobs.

A route sent to ``POST /api/screenings`` (RFC 7946 GeoJSON of its line(s)) is checked
at once (size, JSON, geometry types, coordinates) and queued; a worker runs
:func:`cami_atlas.screening.screen_route` on the served atlas and writes its outputs
(report, map, GeoJSON, GeoPackage, CSV tables) into the job's folder. For an atlas
stored in a file or database the screening runs in a separate worker process (spawned
once, then reused), so its Python work never holds the server's interpreter lock and
requests of other users are not slowed by it; an atlas held only in memory is screened
in a worker thread. Limits: the size of the route document,
the number of unfinished jobs per client and in all, the number of jobs kept (the
oldest finished ones are deleted). A job's id is random and unguessable: whoever has
it can read its results.

Examples
--------
>>> jobs = ScreeningJobs(workers=1)
>>> route = parse_route(b'{"type": "LineString", "coordinates": [[66.9, 47.8], [67.4, 48.3]]}')
>>> len(route), route.crs.to_epsg()
(1, 4326)
>>> jobs.shutdown()
"""

from __future__ import annotations

import json
import multiprocessing
import os
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from ..errors import CamiAtlasError, OptionError, SchemaError
from ..screening.screen import SCREENING_STEPS

__all__ = ["MAX_ROUTE_BYTES", "MAX_ROUTE_FILE_BYTES", "ROUTE_SUFFIXES", "Job",
           "ScreeningBusyError", "ScreeningJobs", "parse_route", "parse_route_file"]

#: Largest route document accepted (bytes).
MAX_ROUTE_BYTES = 2_000_000
_PROGRESS = ".progress.json"
#: Largest route file (GeoPackage, KML, zipped Shapefile) accepted by the upload endpoint.
MAX_ROUTE_FILE_BYTES = 20_000_000
#: Route files the upload endpoint reads.
ROUTE_SUFFIXES = (".geojson", ".json", ".gpkg", ".kml", ".zip")
_MAX_VERTICES = 100_000


class ScreeningBusyError(CamiAtlasError, RuntimeError):
    """Too many unfinished screenings (of this client, or in all): try again later."""


@dataclass
class Job:
    """One screening: its state (``queued``, ``running``, ``done``, ``failed``) and files."""

    id: str
    client: str
    infra_type: str
    connectivity: bool = True
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    status: str = "queued"
    error: str = ""
    files: list[str] = field(default_factory=list)
    folder: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        """The job as the API shows it (no client address)."""
        end = self.finished or time.time()
        return {"id": self.id, "status": self.status, "infra_type": self.infra_type,
                "connectivity": self.connectivity,
                "queued_s": round((self.started or end) - self.created, 3),
                "running_s": round(end - self.started, 3) if self.started else 0.0,
                "progress": self.progress(),
                "error": self.error, "files": list(self.files)}

    def progress(self) -> dict[str, Any]:
        """``step`` and ``steps`` done of the screening and what it is doing (``text``),
        as the worker last wrote them to ``progress.json``."""
        if self.status == "done":
            return {"step": SCREENING_STEPS, "steps": SCREENING_STEPS, "text": "done"}
        if self.folder is None or self.status != "running":
            return {"step": 0, "steps": SCREENING_STEPS, "text": self.status}
        try:
            return json.loads((self.folder / _PROGRESS).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # not written yet, or being replaced
            return {"step": 0, "steps": SCREENING_STEPS, "text": "starting"}


def parse_route(body: bytes) -> gpd.GeoDataFrame:
    """The line(s) of a GeoJSON document (Feature, FeatureCollection or geometry), EPSG:4326.

    Raises
    ------
    OptionError
        The document is too large, not JSON, or not GeoJSON.
    SchemaError
        No line, other geometry types, coordinates outside lon/lat, too many vertices.
    """
    if len(body) > MAX_ROUTE_BYTES:
        raise OptionError(f"the route document has {len(body):,} bytes; the limit is "
                          f"{MAX_ROUTE_BYTES:,}. Simplify the line or send fewer features.")
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise OptionError(f"the route is not valid JSON ({exc}); send RFC 7946 GeoJSON.") \
            from None
    if not isinstance(doc, dict) or "type" not in doc:
        raise OptionError("the route is not GeoJSON: expected an object with a 'type' "
                          "(FeatureCollection, Feature or LineString).")
    if doc["type"] == "FeatureCollection":
        geoms = [f.get("geometry") if isinstance(f, dict) else None
                 for f in doc.get("features") or []]
    elif doc["type"] == "Feature":
        geoms = [doc.get("geometry")]
    else:
        geoms = [doc]
    try:
        shapes = [shapely.geometry.shape(g) if g else None for g in geoms]
    except Exception as exc:
        raise OptionError(f"the route's geometry cannot be read ({exc}).") from None
    lines = [g for g in shapes if g is not None and not g.is_empty]
    kinds = sorted({g.geom_type for g in lines} - {"LineString", "MultiLineString"})
    if not lines:
        raise SchemaError("the route holds no line: send LineString or MultiLineString "
                          "features.")
    if kinds:
        raise SchemaError(f"the route holds {', '.join(kinds)} geometries; a route is "
                          "LineString or MultiLineString features only.")
    coords = shapely.get_coordinates(np.array(lines, dtype=object))
    if len(coords) > _MAX_VERTICES:
        raise SchemaError(f"the route has {len(coords):,} vertices; the limit is "
                          f"{_MAX_VERTICES:,}. Simplify it first.")
    if not np.isfinite(coords).all() or (np.abs(coords[:, 0]) > 180).any() or \
            (np.abs(coords[:, 1]) > 90).any():
        raise SchemaError("the route's coordinates are not longitude/latitude in degrees "
                          "(RFC 7946: WGS84, lon -180..180, lat -90..90).")
    return gpd.GeoDataFrame(geometry=lines, crs="EPSG:4326")


class ScreeningJobs:
    """The queue of screenings: ``workers`` threads, limits per client and in all.

    Parameters
    ----------
    workers : int, default 1
        Screenings run at the same time.
    per_client : int, default 2
        Unfinished screenings one client may have.
    max_pending : int, default 8
        Unfinished screenings in all.
    keep : int, default 50
        Jobs kept; beyond, the oldest finished ones and their files are deleted.
    processes : bool, default True
        Screen atlases stored in a file or database in worker processes (``False``:
        always in threads of the server process).
    """

    def __init__(self, *, workers: int = 1, per_client: int = 2, max_pending: int = 8,
                 keep: int = 50, processes: bool = True) -> None:
        self.per_client, self.max_pending, self.keep = per_client, max_pending, keep
        self.root = Path(tempfile.mkdtemp(prefix="cami_atlas_screenings_"))
        self._pool = ThreadPoolExecutor(max_workers=workers,
                                        thread_name_prefix="cami-screening")
        self._workers = workers
        self._processes = processes
        self._process_pool: ProcessPoolExecutor | None = None
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, route: gpd.GeoDataFrame, atlas: Any, *, infra_type: str,
               attributes: dict[str, str], client: str, connectivity: bool = True) -> Job:
        """Queue a screening of ``route``; raises :class:`ScreeningBusyError` over the limits.

        ``connectivity`` models the change in connectivity of every crossed range (circuit
        theory, ECA; :func:`cami_atlas.screening.screen_route`) and the crossing candidates,
        as the CLI does by default."""
        from .._options import check_option
        from ..schema import INFRA_TYPES, normalise_value
        from ..screening import normalise_attributes

        # bad values fail now, with the CLI's messages, not later in the worker
        kind = str(check_option("infra_type", normalise_value(
            "infra_type", str(infra_type).strip().lower()), INFRA_TYPES))
        normalise_attributes(kind, attributes)
        with self._lock:
            open_jobs = [j for j in self._jobs.values() if j.status in ("queued", "running")]
            if sum(j.client == client for j in open_jobs) >= self.per_client:
                raise ScreeningBusyError(
                    f"you have {self.per_client} unfinished screening(s), the most one client "
                    "may have; wait for one to finish before sending another.")
            if len(open_jobs) >= self.max_pending:
                raise ScreeningBusyError(f"{len(open_jobs)} screenings are waiting; try again "
                                         "in a few minutes.")
            job = Job(secrets.token_urlsafe(16), client, kind, bool(connectivity))
            self._jobs[job.id] = job
            self._prune()
        self._pool.submit(self._run, job, route, atlas, attributes)
        return job

    def _run(self, job: Job, route: gpd.GeoDataFrame, atlas: Any,
             attributes: dict[str, str]) -> None:
        from ..screening import screen_route

        job.started, job.status = time.time(), "running"
        job.folder = self.root / job.id
        try:
            location = getattr(atlas, "location", None)
            if self._processes and location:
                # the thread only waits (without the GIL) for the worker process
                files, error = self._processes_pool().submit(
                    _screen_in_process, route, location, job.infra_type, attributes,
                    str(self.root / job.id), job.connectivity).result()
                if error is not None:
                    job.error, job.status = error, "failed"
                    return
                job.files = files
            else:
                result = screen_route(route, atlas, infra_type=job.infra_type,
                                      attributes=attributes, connectivity=job.connectivity,
                                      name="uploaded route",
                                      progress=_progress_writer(job.folder))
                written = result.write(self.root / job.id, basemap=None)
                job.files = sorted(p.name for p in written)
            job.status = "done"
        except CamiAtlasError as exc:
            job.error, job.status = str(exc), "failed"
        except Exception as exc:  # a bug: keep the server up, say what happened
            job.error, job.status = f"{type(exc).__name__}: {exc}", "failed"
        finally:
            job.finished = time.time()

    def _processes_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._process_pool is None:
                # spawn, not fork: the server process has threads (fork would copy held locks)
                self._process_pool = ProcessPoolExecutor(
                    max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_lower_priority)
            return self._process_pool

    def get(self, job_id: str) -> Job | None:
        """The job ``job_id``, or ``None``."""
        with self._lock:
            return self._jobs.get(job_id)

    def file(self, job_id: str, name: str) -> Path | None:
        """The output ``name`` of a finished job (only names the job wrote), or ``None``."""
        job = self.get(job_id)
        if job is None or job.status != "done" or name not in job.files:
            return None
        return self.root / job.id / name

    def _prune(self) -> None:
        done = sorted((j for j in self._jobs.values() if j.status in ("done", "failed")),
                      key=lambda j: j.created)
        while len(self._jobs) > self.keep and done:
            old = done.pop(0)
            del self._jobs[old.id]
            shutil.rmtree(self.root / old.id, ignore_errors=True)

    def shutdown(self) -> None:
        """Stop the workers (waiting for running screenings) and delete every job's files."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._process_pool is not None:
            self._process_pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)


#: How much lower than the server's the screening workers' CPU priority is (``nice``):
#: on a busy machine readers of maps and pages go first, screenings take what is left.
SCREENING_NICENESS = 10


def _lower_priority() -> None:
    """Lower the CPU priority of a screening worker process (POSIX ``nice``; elsewhere
    nothing)."""
    if hasattr(os, "nice"):
        os.nice(SCREENING_NICENESS)


def _progress_writer(folder: Path) -> Any:
    """A ``screen_route`` progress callback writing ``.progress.json`` into ``folder``
    (atomically: a reader sees the old or the new state)."""
    folder.mkdir(parents=True, exist_ok=True)

    def write(i: int, n: int, text: str) -> None:
        tmp = folder / f"{_PROGRESS}.tmp"
        tmp.write_text(json.dumps({"step": i, "steps": n, "text": text}), encoding="utf-8")
        tmp.replace(folder / _PROGRESS)

    return write


def _screen_in_process(route: gpd.GeoDataFrame, location: str, infra_type: str,
                       attributes: dict[str, str], folder: str, connectivity: bool = True
                       ) -> tuple[list[str], str | None]:
    """Screen ``route`` on the atlas at ``location`` into ``folder`` (in a worker process).

    Returns the names of the files written and ``None``, or ``[]`` and the error message
    (a message, not the exception: not every exception can be sent back between
    processes)."""
    from ..screening import screen_route
    from ..store import Atlas

    try:
        result = screen_route(route, Atlas.open(location), infra_type=infra_type,
                              attributes=attributes, connectivity=connectivity,
                              name="uploaded route", progress=_progress_writer(Path(folder)))
        written = result.write(Path(folder), basemap=None)
        return sorted(p.name for p in written), None
    except CamiAtlasError as exc:
        return [], str(exc)
    except Exception as exc:  # a bug: keep the server up, say what happened
        return [], f"{type(exc).__name__}: {exc}"


def parse_route_file(path: Path, shown: str) -> gpd.GeoDataFrame:
    """The line(s) of a route file (GeoJSON, GeoPackage, KML, zipped Shapefile), EPSG:4326,
    checked as :func:`parse_route` checks a GeoJSON body; ``shown`` names the file in errors.

    A zip is checked first for members outside it and zip bombs
    (:func:`cami_atlas.web.contribute.check_archive`).
    """
    from ..io import read_vector
    from .contribute import check_archive

    if path.suffix.lower() == ".zip":
        check_archive(path)
    try:
        gdf = read_vector(path)
    except CamiAtlasError as exc:
        text = str(exc.args[0] if exc.args else exc).replace(str(path), shown)
        raise SchemaError(text.replace(path.name, shown)) from None
    if gdf.crs is None:
        raise SchemaError(f"{shown} has no CRS; save it with one (e.g. EPSG:4326).")
    return parse_route(gdf.to_crs(4326).to_json(drop_id=True).encode("utf-8"))

