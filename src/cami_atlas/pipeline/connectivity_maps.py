"""Region-wide Omniscape connectivity maps of every species, as a step of ``cami-atlas run``.

``cami-atlas run --connectivity-maps`` adds :data:`STEP`: for every species of the atlas
with a range and a cited movement scale (``cami_atlas/data/species_movement_scale.csv``)
it builds the species' resistance from the atlas' base layers
(:func:`~cami_atlas.connectivity.omniscape.species.species_inputs`: ETOPO5 slope,
MODIS land cover, barriers burned in by the species' barrier class, distance outside
the range), solves Omniscape with the movement scale as window radius, and writes into
the output folder::

    connectivity/<Species>/cumulative_current.tif
    connectivity/<Species>/flow_potential.tif
    connectivity/<Species>/normalized_current.tif
    connectivity/<Species>/omniscape_settings.json
    connectivity/<Species>/omniscape_quicklook.png
    connectivity/<Species>/resistance.tif, sources.tif

The normalized currents go into ``ctx.results["connectivity_maps"]`` for the
interactive map (one layer per species, drawn by :mod:`cami_atlas.maps`).

Default resolution :data:`RUN_CELL_SIZE_M` (10 km): the whole region is about
480 x 780 cells and a species takes seconds to a minute on 2 cores. A species whose
radius is below :data:`MIN_RADIUS_CELLS` cells at the chosen cell size is skipped with
a note giving the cell size it needs (home-range species such as snow leopard, leopard
and argali need 1-3 km cells: ``--connectivity-cell-size-m``). With ``scheduler``
(``--scheduler tcp://HOST:PORT``) every species is run tiled on that Dask cluster.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pandas as pd

from .steps import Section, Step, StepContext

__all__ = ["MIN_RADIUS_CELLS", "OUTPUT_DIR", "RUN_CELL_SIZE_M", "STEP",
           "connectivity_maps_step", "display_normalized", "mapped_species"]

#: Default cell size of ``run --connectivity-maps`` (m).
RUN_CELL_SIZE_M = 10_000.0
#: Smallest window radius (cells) mapped; below it a species is skipped with a note.
MIN_RADIUS_CELLS = 3
#: Folder of the maps in the run output.
OUTPUT_DIR = "connectivity"
#: Tile side (cells) of tiled runs on a Dask scheduler.
TILE_SIZE = 256


def mapped_species(atlas: Any, wanted: list[str] | None = None) -> pd.DataFrame:
    """Species of ``atlas`` with a range, and their cited movement scale (NaN: none).

    Columns ``species, movement_km``; restricted to ``wanted`` (range names) if given.

    Examples
    --------
    >>> from cami_atlas.atlas import Atlas
    >>> t = mapped_species(Atlas.default()).set_index("species")
    >>> float(t.loc["Equus_hemionus", "movement_km"]), bool(t["movement_km"].isna().any())
    (97.7, True)
    """
    from ..connectivity.omniscape.species import movement_scale_table

    names: list[str] = []
    for layer in atlas.layer_names("species_range"):
        names.extend(atlas.read(layer)["species"].astype(str))
    names = sorted(set(names))
    if wanted:
        names = [n for n in wanted if n in names]
    table = movement_scale_table().set_index("species")["movement_km"]
    return pd.DataFrame({"species": names,
                         "movement_km": [float(table.get(n, np.nan)) for n in names]})


def connectivity_maps_step(ctx: StepContext) -> None:
    """Omniscape maps of every species with a movement scale (see the module)."""
    from ..connectivity.omniscape import omniscape, omniscape_tiled
    from ..connectivity.omniscape.core import SETTINGS_FILE
    from ..connectivity.omniscape.species import quicklook_png, read_decimated, species_inputs

    cell_size_m = float(ctx.options.get("connectivity_cell_size_m") or RUN_CELL_SIZE_M)
    scheduler = ctx.options.get("scheduler")
    table = mapped_species(ctx.atlas, ctx.options.get("species"))
    rows, skipped, maps = [], [], {}
    todo = table[table["movement_km"].notna()]
    for sp in table.loc[table["movement_km"].isna(), "species"]:
        skipped.append(f"{sp.replace('_', ' ')}: no published movement scale in "
                       "species_movement_scale.csv; map it with `cami-atlas connectivity "
                       f"omniscape --species \"{sp.replace('_', ' ')}\" --radius-km R`.")
    with ctx.bar(max(len(todo), 1), "connectivity maps") as step:
        for sp, km in zip(todo["species"], todo["movement_km"], strict=True):
            cells = km * 1000.0 / cell_size_m
            if cells < MIN_RADIUS_CELLS:
                need = km * 1000.0 / MIN_RADIUS_CELLS
                skipped.append(f"{sp.replace('_', ' ')}: radius {km:g} km is "
                               f"{cells:.1f} cells of {cell_size_m / 1000:g} km (< "
                               f"{MIN_RADIUS_CELLS}); run with --connectivity-cell-size-m "
                               f"{need:.0f} or less.")
                step(sp)
                continue
            t0 = time.perf_counter()
            inp = species_inputs(ctx.atlas, species=sp, cell_size_m=cell_size_m)
            folder = ctx.path(OUTPUT_DIR) / sp
            folder.mkdir(parents=True, exist_ok=True)
            extra = {"species": sp, "radius_km": inp.radius_km, "radius_from": inp.radius_source,
                     "notes": inp.notes, "cell_size_m": cell_size_m}
            res_file = inp.resistance.to_geotiff(folder / "resistance.tif", dtype="float64")
            src_file = inp.sources.to_geotiff(folder / "sources.tif", dtype="float64")
            if scheduler:
                tiled = omniscape_tiled(res_file, folder / "maps", sources=src_file,
                                        radius_m=inp.radius_km * 1000.0,
                                        tile_size=TILE_SIZE, dask_scheduler=scheduler,
                                        extra_settings=extra)
                for path in tiled.paths.values():
                    path.replace(folder / path.name)
                settings = folder / "maps" / SETTINGS_FILE
                if settings.exists():
                    settings.replace(folder / SETTINGS_FILE)
                _remove_tree(folder / "maps")
                cum = read_decimated(folder / "cumulative_current.tif")
                nrm = read_decimated(folder / "normalized_current.tif")
                flow = read_decimated(folder / "flow_potential.tif")
            else:
                result = omniscape(inp.resistance, sources=inp.sources,
                                   radius_m=inp.radius_km * 1000.0, extra_settings=extra)
                result.write(folder, overwrite=True)
                cum, nrm = result.cumulative_current, result.normalized_current
                flow = result.flow_potential
            nrm = display_normalized(nrm, flow)
            title = (f"{sp.replace('_', ' ')}: Omniscape, radius {inp.radius_km:g} km, "
                     f"{cell_size_m / 1000:g} km cells")
            quicklook_png(cum, nrm, folder / "omniscape_quicklook.png", title=title,
                          overwrite=True)
            maps[sp] = nrm.with_values(nrm.values, name=f"{sp.replace('_', ' ')} "
                                       "normalized current")
            finite = np.isfinite(nrm.values)
            shown = nrm.values[finite]
            rows.append({"species": sp.replace("_", " "), "radius_km": inp.radius_km,
                         "radius_cells": round(cells, 1),
                         "cells": int(np.isfinite(inp.resistance.values).sum()),
                         "source_cells": int((inp.sources.values > 0).sum()),
                         "normalized_median": round(float(np.median(shown)), 2)
                         if shown.size else np.nan,
                         "channelled_pct": round(100 * float((shown > 1.5).mean()), 1)
                         if shown.size else np.nan,
                         "seconds": round(time.perf_counter() - t0, 1)})
            ctx.wrote(folder)
            step(sp)
    ctx.results["connectivity_maps"] = maps
    (ctx.path(OUTPUT_DIR)).mkdir(exist_ok=True)
    summary = pd.DataFrame(rows, columns=["species", "radius_km", "radius_cells", "cells",
                                          "source_cells", "normalized_median",
                                          "channelled_pct", "seconds"])
    (ctx.path(OUTPUT_DIR) / "connectivity_maps.json").write_text(json.dumps(
        {"cell_size_m": cell_size_m, "scheduler": scheduler,
         "species": summary.to_dict(orient="records"), "skipped": skipped}, indent=2))
    ctx.wrote(ctx.path(OUTPUT_DIR) / "connectivity_maps.json")
    paragraphs = [
        f"Omniscape moving-window maps at {cell_size_m / 1000:g} km cells over the region "
        "(resistance: ETOPO5 slope x MODIS IGBP land-cover class x barriers burned in by the "
        "species' barrier class, raised with the distance outside the range; sources: the "
        "range; window radius: the species' cited movement scale). Files in "
        f"`{OUTPUT_DIR}/<Species>/`; normalized current (<1 impeded, ~1 diffuse, >1 "
        "channelled; shown where the flow potential is positive, i.e. within reach of "
        "the range; `channelled_pct`: share of those cells above 1.5) is a layer of "
        "overview_map.html. ETOPO5 and MODIS are coarse "
        "(data/layers/SOURCES.md): read the maps as region-wide context."]
    paragraphs += skipped
    ctx.sections.append(Section("Connectivity maps (Omniscape)", paragraphs,
                                summary if len(summary) else None))


def display_normalized(normalized: Any, flow_potential: Any) -> Any:
    """The normalized current where the flow potential is positive, NaN elsewhere.

    Outside the reach of the sources (flow potential 0) the normalized current is 0 by
    convention, which a map would show as "impeded"; for display those cells are left
    out (transparent on the map, blank in the quick-look).

    Examples
    --------
    >>> from affine import Affine
    >>> from cami_atlas.raster import Grid
    >>> t = Affine(1, 0, 0, 0, -1, 2)
    >>> n = Grid(np.array([[0.0, 1.2]]), t, "EPSG:3857")
    >>> f = Grid(np.array([[0.0, 3.0]]), t, "EPSG:3857")
    >>> display_normalized(n, f).values.tolist()
    [[nan, 1.2]]
    """
    values = np.where(np.asarray(flow_potential.values) > 0, normalized.values, np.nan)
    return normalized.with_values(values)


def _remove_tree(path: Any) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


#: The step of ``cami-atlas run --connectivity-maps`` (before the overview map, which
#: draws its layers).
STEP = Step("connectivity_maps", (OUTPUT_DIR,), connectivity_maps_step,
            "Omniscape connectivity maps of every species with a movement scale",
            reads=("species_range", "raster"))
