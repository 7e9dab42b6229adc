"""Scenario definitions: which projects make up each scenario, and where their lines come from.

A scenario file is a CSV with columns ``scenario``, ``project`` and ``route`` (one row per
project; see ``docs/planning.md``):

- ``project`` alone names a project of the atlas (``project_name`` of an infrastructure layer);
- ``route`` is a line file (GeoJSON, GeoPackage, shapefile, ...; relative to the CSV) whose
  lines are the project (named by ``project`` or the file name);
- a row with neither is a scenario without projects (the existing network only).

On the command line, ``NAME=route.geojson[,route2.gpkg]`` or ``NAME=@project A,@project B``
defines a scenario the same way (``@`` names an atlas project).
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from cami_atlas.errors import LayerReadError, MissingColumnError, SchemaError
from cami_atlas.planning.status import infrastructure_status

__all__ = ["parse_scenario_option", "project_lines", "read_scenario_file", "resolve_scenarios"]

#: A scenario definition: ``{scenario: [(project, route path or None), ...]}``.
Definitions = dict[str, list[tuple[str, str | None]]]


def read_scenario_file(path: str | os.PathLike[str]) -> Definitions:
    """Scenario definitions from a CSV (``scenario, project, route``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "s.csv").write_text("scenario,project,route\\nA,Rail X,\\nB,,b.geojson\\nC,,\\n")
    >>> read_scenario_file(d / "s.csv") == {"A": [("Rail X", None)],
    ...     "B": [("b", str(d / "b.geojson"))], "C": []}
    True
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise LayerReadError(
            f"cannot read scenario file {str(path)!r}: {e}. Give a CSV with "
            "columns scenario, project, route."
        ) from e
    missing = [c for c in ("scenario", "project", "route") if c not in df.columns]
    if missing:
        raise MissingColumnError(
            f"scenario file {str(path)!r} has no column(s) {missing}; "
            "columns are scenario, project, route (see docs/planning.md)."
        )
    out: Definitions = {}
    for scen, project, route in df[["scenario", "project", "route"]].itertuples(index=False):
        scen, project, route = scen.strip(), project.strip(), route.strip()
        if not scen:
            raise SchemaError(f"scenario file {str(path)!r}: a row has no scenario name.")
        items = out.setdefault(scen, [])
        if route:
            full = route if Path(route).is_absolute() else str(path.parent / route)
            items.append((project or Path(route).stem, full))
        elif project:
            items.append((project, None))
    return out


def parse_scenario_option(text: str) -> Definitions:
    """One ``--scenario NAME=route.geojson[,@atlas project,...]`` option.

    Examples
    --------
    >>> parse_scenario_option("future=a.geojson,@Hypothetical line B")
    {'future': [('a', 'a.geojson'), ('Hypothetical line B', None)]}
    >>> parse_scenario_option("none=")
    {'none': []}
    """
    name, sep, rest = text.partition("=")
    if not sep or not name.strip():
        raise SchemaError(
            f"--scenario {text!r}: write NAME=route.geojson[,route2.gpkg] or "
            "NAME=@atlas project name."
        )
    items: list[tuple[str, str | None]] = []
    for part in (p.strip() for p in rest.split(",")):
        if not part:
            continue
        if part.startswith("@"):
            items.append((part[1:].strip(), None))
        else:
            items.append((Path(part).stem, part))
    return {name.strip(): items}


def _read_route(path: str, project: str, crs: object) -> gpd.GeoDataFrame:
    try:
        gdf = gpd.read_file(path)
    except Exception as e:  # fiona/pyogrio raise many types for a bad file
        raise LayerReadError(
            f"cannot read route file {path!r} of project {project!r}: {e}. "
            "Give a line file GDAL reads (GeoJSON, GeoPackage, ...)."
        ) from e
    if gdf.crs is None:
        raise SchemaError(
            f"route file {path!r} has no CRS; save it with one (GeoJSON is WGS84 by definition)."
        )
    if "infra_type" not in gdf.columns and "barrier_class" not in gdf.columns:
        raise MissingColumnError(
            f"route file {path!r} has no column 'infra_type' (nor "
            "'barrier_class'); add the infrastructure type of its lines."
        )
    return gdf.to_crs(crs).assign(project_name=project)


def project_lines(infra: gpd.GeoDataFrame, project: str) -> gpd.GeoDataFrame:
    """The lines of atlas project ``project`` (by ``project_name``).

    Raises
    ------
    SchemaError
        The project is not in the layer; the message lists the known projects.
    """
    names = (
        infra["project_name"].dropna().astype(str)
        if "project_name" in infra.columns
        else pd.Series(dtype=str)
    )
    sel = infra[(names.reindex(infra.index) == project).to_numpy()]
    if sel.empty:
        known = sorted(pd.unique(names))
        raise SchemaError(
            f"unknown project {project!r}: the atlas infrastructure has no line "
            f"with project_name {project!r}; known projects: "
            f"{known if known else 'none (import planned lines with a project_name column)'}."
        )
    return sel


def resolve_scenarios(
    definitions: Definitions, infra: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, dict[str, dict[str, gpd.GeoDataFrame]]]:
    """The existing network and ``{scenario: {project: lines}}`` from the definitions.

    The existing network is the rows of ``infra`` whose status is ``existing`` (see
    :func:`cami_atlas.planning.infrastructure_status`); projects come from ``infra`` by name or
    from their route files.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> infra = gpd.GeoDataFrame(
    ...     {"infra_type": ["road", "railway"], "status": ["existing", "planned"],
    ...      "project_name": [None, "Hypothetical line A"]},
    ...     geometry=[shapely.LineString([(0, 0), (1, 0)])] * 2, crs=3857)
    >>> base, scen = resolve_scenarios({"A": [("Hypothetical line A", None)]}, infra)
    >>> len(base), {k: list(v) for k, v in scen.items()}
    (1, {'A': ['Hypothetical line A']})
    """
    status = infrastructure_status(infra)
    existing = infra[(status == "existing").to_numpy()]
    out: dict[str, dict[str, gpd.GeoDataFrame]] = {}
    for scen, items in definitions.items():
        out[scen] = {}
        for project, route in items:
            lines = (
                _read_route(route, project, infra.crs)
                if route is not None
                else project_lines(infra, project)
            )
            out[scen][project] = lines
    return existing, out
