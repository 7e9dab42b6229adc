"""``cami-atlas tracks``: GPS tracks -> migration periods, corridors and stopovers, step selection.

Examples
--------
::

    cami-atlas tracks segment fixes.csv --species "Odocoileus hemionus" --out mig/
    cami-atlas tracks corridors fixes.csv --cell-size-m 250 --out corr/ \\
        --add-to-atlas my_atlas.gpkg --layer-name muledeer_corridors --licence MIT
    cami-atlas tracks ssf fixes.csv --lines fences.gpkg --raster elevation=dem.tif --out ssf/

Tracks: a CSV (Movebank or plain layout, :func:`cami_atlas.io.read_tracks_csv`) or any
vector file with a ``tracks`` layer. Fixes in lat/lon are projected to the UTM zone of
their centre unless ``--to-crs`` says otherwise; every output is in that CRS.

Outputs (in ``--out``)
----------------------
``segment``    ``migrations.csv`` (start, end, duration, distance of each migration)
``corridors``  ``migrations.csv``, ``motion_variance.csv``, ``corridors.gpkg`` (layers
               ``corridors`` by use class and ``stopovers``), ``corridor_share.tif``
``ssf``        ``ssf_coefficients.csv`` and ``crossing_effects.csv`` (with ``--lines`` /
               ``--atlas``), one row per species and term; ``ssf_resistance_<Species>.tif``
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import geopandas as gpd
import pandas as pd

from .._atomic import atomic_path
from ..errors import SchemaError
from ..pipeline.staging import StagedOutputs
from ._common import atlas_option, out_option, overwrite_option, split_multi
from ._logging import log

__all__ = ["CORRIDOR_OUTPUTS", "SEGMENT_OUTPUTS", "SSF_OUTPUTS", "read_projected_tracks",
           "tracks"]

SEGMENT_OUTPUTS: tuple[str, ...] = ("migrations.csv",)
CORRIDOR_OUTPUTS: tuple[str, ...] = ("migrations.csv", "motion_variance.csv",
                                     "corridors.gpkg", "corridor_share.tif")
SSF_OUTPUTS: tuple[str, ...] = ("ssf_coefficients.csv", "crossing_effects.csv",
                                "ssf_resistance_<Species>.tif")


def read_projected_tracks(path: Path, *, layer: str | None = None, crs: str | None = None,
                          species: str | None = None, to_crs: str | None = None
                          ) -> gpd.GeoDataFrame:
    """Read a tracks file and project it (UTM zone of the fixes' centre by default).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "fixes.csv"
    >>> _ = p.write_text("individual,timestamp,lon,lat\\na,2020-01-01,107.1,47.9\\n"
    ...                  "a,2020-01-02,107.2,47.9\\n")
    >>> read_projected_tracks(p, species="Procapra gutturosa").crs.to_epsg()
    32648
    """
    from ..io import read_layer, read_tracks_csv
    from ..movement import to_metric_crs

    if path.suffix.lower() == ".csv":
        tracks = read_tracks_csv(path, crs=crs or "EPSG:4326", species=species)
    else:
        tracks = read_layer(path, "tracks", layer=layer, crs=crs)
        if species is not None:
            from ..schema import canonical_species_name

            tracks["species"] = tracks["species"].where(tracks["species"].notna(),
                                                        canonical_species_name(species))
    return to_metric_crs(tracks, to_crs)


def _thresholds(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise SchemaError(f"--thresholds takes two shares 'MEDIUM,HIGH', e.g. 0.1,0.2; got "
                          f"{text!r}.") from None
    return lo, hi


def _periods(tracks: gpd.GeoDataFrame, dates: Path | None, opts: dict[str, Any]
             ) -> pd.DataFrame:
    from ..movement import migration_periods, periods_from_dates

    if dates is not None:
        if not dates.exists():
            raise SchemaError(f"dates file {dates} does not exist.")
        return periods_from_dates(tracks, pd.read_csv(dates))
    return migration_periods(tracks, **opts)


def _write_csv(out: Path, name: str, df: pd.DataFrame) -> Path:
    """Write ``df`` into the staging folder ``out`` at full precision (round-trip floats)."""
    with atomic_path(out / name, overwrite=True) as tmp:
        df.to_csv(tmp, index=False)
    return out / name


def _echo_written(staged: StagedOutputs, written: list[Path]) -> None:
    for p in written:
        log.info(f"wrote {staged.final(p)}")


tracks_arg = click.argument("tracks_path", metavar="TRACKS",
                            type=click.Path(exists=True, dir_okay=False, path_type=Path))
_input_options = [
    click.option("--layer", default=None, help="Layer of a multi-layer tracks file."),
    click.option("--crs", default=None,
                 help="CRS of coordinates that carry none (CSV: default EPSG:4326)."),
    click.option("--species", default=None,
                 help="Species of fixes without one, e.g. 'Procapra gutturosa'."),
    click.option("--to-crs", default=None,
                 help="Projected CRS of the analysis (default: UTM zone of the fixes)."),
]
_segment_options = [
    click.option("--year-start", default="01-01", show_default=True,
                 help="First day (MM-DD) of the bio-year, inside the winter stay."),
    click.option("--lower", type=float, default=0.1, show_default=True,
                 help="Share of the year's largest displacement that is 'at the origin'."),
    click.option("--upper", type=float, default=0.9, show_default=True,
                 help="Share of the year's largest displacement that is 'arrived'."),
    click.option("--min-distance-km", type=float, default=15.0, show_default=True,
                 help="Years with a smaller largest displacement are not migrations."),
    click.option("--dates", "dates", type=click.Path(dir_okay=False, path_type=Path),
                 default=None,
                 help="CSV of given periods (individual,start,end[,season]) instead of NSD."),
]


def _apply(options: list[Any]) -> Any:
    def deco(f: Any) -> Any:
        for opt in reversed(options):
            f = opt(f)
        return f
    return deco


@click.group("tracks")
def tracks() -> None:
    """GPS tracks: migration periods, Brownian-bridge corridors and stopovers, step selection."""


@tracks.command("segment")
@tracks_arg
@_apply(_input_options)
@_apply(_segment_options)
@out_option
@overwrite_option
def segment(tracks_path: Path, layer: str | None, crs: str | None, species: str | None,
            to_crs: str | None, year_start: str, lower: float, upper: float,
            min_distance_km: float, dates: Path | None, out_dir: Path,
            overwrite: bool) -> None:
    """Spring and autumn migration periods from net squared displacement (migrations.csv)."""
    staged = StagedOutputs(out_dir, SEGMENT_OUTPUTS, overwrite=overwrite).check()
    fixes = read_projected_tracks(tracks_path, layer=layer, crs=crs, species=species,
                                  to_crs=to_crs)
    periods = _periods(fixes, dates, dict(year_start=year_start, lower=lower, upper=upper,
                                          min_distance_km=min_distance_km))
    with staged as out:
        written = [_write_csv(out, "migrations.csv", periods)]
    _echo_written(staged, written)
    resident = periods.attrs.get("resident", [])
    log.info(f"done: {len(periods)} migrations of {periods['individual'].nunique()} "
               f"individuals; {len(resident)} individual-years without migration")


@tracks.command("corridors")
@tracks_arg
@_apply(_input_options)
@_apply(_segment_options)
@click.option("--season", type=click.Choice(["all", "spring", "autumn"]), default="all",
              show_default=True, help="Migrations to use.")
@click.option("--cell-size-m", type=float, default=250.0, show_default=True,
              help="Cell size of the UD grid.")
@click.option("--model", type=click.Choice(["bbmm", "dbbmm"]), default="bbmm",
              show_default=True, help="Static or dynamic Brownian bridge.")
@click.option("--location-error-m", type=float, default=20.0, show_default=True,
              help="GPS location error (standard deviation, m).")
@click.option("--max-gap-h", type=float, default=8.0, show_default=True,
              help="Intervals longer than this are not bridged.")
@click.option("--contour", type=float, default=0.99, show_default=True,
              help="UD mass of each individual footprint.")
@click.option("--thresholds", default="0.1,0.2", show_default=True,
              help="Shares of individuals for medium and high use.")
@click.option("--stopover-fraction", type=float, default=0.1, show_default=True,
              help="Top share of each UD volume that is stopover.")
@click.option("--add-to-atlas", "atlas_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also add the corridors to this atlas GeoPackage "
                                 "(created if missing).")
@click.option("--layer-name", default=None,
              help="Name of the corridor layer in the atlas (default: <species>_corridors).")
@click.option("--licence", default=None, help="Licence of the tracks (needed with "
                                              "--add-to-atlas).")
@click.option("--source", "source", default=None,
              help="Source of the tracks for the provenance (default: the file name).")
@out_option
@overwrite_option
def corridors(tracks_path: Path, layer: str | None, crs: str | None, species: str | None,
              to_crs: str | None, year_start: str, lower: float, upper: float,
              min_distance_km: float, dates: Path | None, season: str, cell_size_m: float,
              model: str, location_error_m: float, max_gap_h: float, contour: float,
              thresholds: str, stopover_fraction: float, atlas_out: Path | None,
              layer_name: str | None, licence: str | None, source: str | None,
              out_dir: Path, overwrite: bool) -> None:
    """Population migration corridors (low / medium / high use) and stopovers.

    Migration periods (NSD or --dates) -> Brownian bridge UD of each migration -> each
    individual's footprint -> share of individuals per cell -> use classes.
    """
    from ..atlas import Atlas
    from ..movement import (
        add_corridor_layers,
        grid_for_tracks,
        migration_fixes,
        population_corridors,
        track_uds,
    )

    if atlas_out is not None and not licence:
        raise SchemaError("--add-to-atlas needs --licence (the licence of the tracks), "
                          "e.g. --licence CC-BY-4.0.")
    lo_hi = _thresholds(thresholds)
    staged = StagedOutputs(out_dir, CORRIDOR_OUTPUTS, overwrite=overwrite).check()
    fixes = read_projected_tracks(tracks_path, layer=layer, crs=crs, species=species,
                                  to_crs=to_crs)
    periods = _periods(fixes, dates, dict(year_start=year_start, lower=lower, upper=upper,
                                          min_distance_km=min_distance_km))
    if season != "all":
        periods = periods[periods["season"] == season]
    if len(periods) == 0:
        raise SchemaError(f"no {'' if season == 'all' else season + ' '}migration found in "
                          f"{tracks_path}; check --year-start and --min-distance-km, or give "
                          "the periods with --dates.")
    mig = migration_fixes(fixes, periods)
    grid = grid_for_tracks(mig, cell_size_m=cell_size_m, margin_m=20 * cell_size_m)
    uds = track_uds(mig, grid, by="migration", model=model, location_error_m=location_error_m,
                    max_gap_h=max_gap_h)
    pc = population_corridors(uds, contour=contour, thresholds=lo_hi,
                              stopover_fraction=stopover_fraction)
    atlas = None
    if atlas_out is not None:  # validate before anything is written
        atlas = Atlas.open(atlas_out) if atlas_out.exists() else Atlas(atlas_out.stem)
        name = layer_name or f"{pc.corridors['species'].iloc[0].lower()}_corridors"
        add_corridor_layers(atlas, pc, name, source=source or f"GPS tracks {tracks_path.name}",
                            licence=licence or "", overwrite=overwrite)
    with staged as out:
        written = [_write_csv(out, "migrations.csv", periods),
                   _write_csv(out, "motion_variance.csv", uds.table)]
        with atomic_path(out / "corridors.gpkg", overwrite=True) as tmp:
            pc.corridors.to_file(tmp, layer="corridors", driver="GPKG")
            if len(pc.stopovers):
                pc.stopovers.to_file(tmp, layer="stopovers", driver="GPKG", mode="a")
        written.append(out / "corridors.gpkg")
        written.append(pc.share.to_geotiff(out / "corridor_share.tif", overwrite=True))
    _echo_written(staged, written)
    if atlas is not None:
        log.info(f"wrote {atlas.save(atlas_out, overwrite=True)}")
    areas = pc.corridors.set_index("use_class")["area_km2"]
    log.info("done: " + ", ".join(f"{k} {v:,.1f} km²" for k, v in areas.items())
               + f"; stopovers {pc.stopovers['area_km2'].sum():,.1f} km²; "
               f"{pc.params['n_individuals']} individuals")


@tracks.command("ssf")
@tracks_arg
@_apply(_input_options)
@atlas_option
@click.option("--lines", "lines_path", type=click.Path(exists=True, dir_okay=False,
                                                       path_type=Path), default=None,
              help="Infrastructure lines (any vector file of kind infrastructure).")
@click.option("--lines-layer", default=None, help="Layer of --lines.")
@click.option("--infra-layers", "infra_layers", multiple=True,
              help="Infrastructure layers of --atlas to use (default: all).")
@click.option("--line-column", default="infra_type", show_default=True,
              help="Column whose values group the lines into crossing terms; "
                   "'barrier_class' classifies them per species with the CAMI matrix.")
@click.option("--raster", "rasters", multiple=True,
              help="Covariate raster NAME=PATH, or NAME of a raster layer of --atlas (repeat).")
@click.option("--where", type=click.Choice(["end", "along"]), default="end",
              show_default=True, help="Raster values at the step end or along the step.")
@click.option("--n-random", type=int, default=10, show_default=True,
              help="Available steps per used step.")
@click.option("--max-gap-h", type=float, default=8.0, show_default=True,
              help="Intervals longer than this break the track.")
@click.option("--cell-size-m", type=float, default=250.0, show_default=True,
              help="Cell size of the rasters and of the resistance surface.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@out_option
@overwrite_option
def ssf(tracks_path: Path, layer: str | None, crs: str | None, species: str | None,
        to_crs: str | None, atlas_path: Path | None, lines_path: Path | None,
        lines_layer: str | None, infra_layers: tuple[str, ...], line_column: str,
        rasters: tuple[str, ...], where: str, n_random: int, max_gap_h: float,
        cell_size_m: float, seed: int, out_dir: Path, overwrite: bool) -> None:
    """Step-selection function per species: coefficients with 95 % CIs, crossing effects,
    resistance.

    Used steps against --n-random available steps each (gamma step lengths, von Mises
    turn angles), covariates from --raster files or atlas rasters and crossings of
    infrastructure (--lines or the --atlas infrastructure) grouped by --line-column,
    conditional logit with the iSSF movement terms; the resistance surface
    exp(-linear predictor), scaled to a minimum of 1, feeds `cami-atlas connectivity`.
    One fit per species of the tracks: ssf_resistance_<Species>.tif each.
    """
    from ..atlas import Atlas
    from ..io import read_layer, read_raster
    from ..movement import (
        align_raster,
        crossing_effects,
        extract_covariates,
        fit_ssf,
        grid_for_tracks,
        movement_steps,
        random_steps,
        ssf_resistance,
    )

    fixes = read_projected_tracks(tracks_path, layer=layer, crs=crs, species=species,
                                  to_crs=to_crs)
    if fixes["species"].isna().any():
        raise SchemaError(f"{tracks_path}: {int(fixes['species'].isna().sum())} fix(es) have "
                          "no species; give --species or fill the species column.")
    species_list = sorted(fixes["species"].astype(str).unique())
    names = ["ssf_coefficients.csv", "crossing_effects.csv",
             *[f"ssf_resistance_{sp}.tif" for sp in species_list]]
    staged = StagedOutputs(out_dir, names, overwrite=overwrite).check()
    atlas = Atlas.open(atlas_path) if atlas_path is not None else None
    template = grid_for_tracks(fixes, cell_size_m=cell_size_m, margin_m=5000)
    grids = {}
    for item in rasters:
        name, sep, path = item.partition("=")
        if not name or (sep and not path):
            raise SchemaError(f"--raster takes NAME=PATH or the NAME of an atlas raster, e.g. "
                              f"elevation=dem.tif; got {item!r}.")
        if sep:
            src = read_raster(path)
        elif atlas is not None and name in atlas.layer_names("raster"):
            src = atlas.read(name)
        else:
            known = ", ".join(atlas.layer_names("raster")) if atlas is not None else ""
            raise SchemaError(f"--raster {name!r}: no such raster layer in the atlas (raster "
                              f"layers: {known or 'none'}); give NAME=PATH or --atlas with "
                              "that layer.")
        grids[name] = align_raster(src, template)
    lines = None
    if lines_path is not None:
        lines = read_layer(lines_path, "infrastructure", layer=lines_layer)
    elif atlas is not None:
        layer_names = split_multi(infra_layers) or atlas.layer_names("infrastructure")
        if layer_names:
            lines = pd.concat([atlas.read(n).to_crs(fixes.crs) for n in layer_names],
                              ignore_index=True)
            lines = gpd.GeoDataFrame(lines, geometry=lines.geometry.name, crs=fixes.crs)
    if not grids and lines is None:
        raise SchemaError("tracks ssf needs covariates: give --raster NAME=PATH and/or "
                          "--lines FILE (or --atlas with infrastructure layers).")
    if lines is not None and line_column != "barrier_class" and line_column not in lines:
        raise SchemaError(f"--line-column {line_column!r} is not a column of the lines; "
                          f"present: {', '.join(map(str, lines.columns))}.")
    coef_tables, effect_tables, results = [], [], {}
    for sp in species_list:
        sp_lines = lines
        if lines is not None and line_column == "barrier_class":
            from ..barriers.classify import classify_barriers
            from ..barriers.species import matrix_species

            msp = matrix_species([sp])[sp]
            sp_lines = lines.assign(barrier_class=classify_barriers(lines, msp) if msp
                                    else "unknown")
        steps = movement_steps(fixes[fixes["species"] == sp], max_gap_h=max_gap_h)
        avail = random_steps(steps, n_random=n_random, seed=seed)
        cov = extract_covariates(avail, rasters=grids, where=where, lines=sp_lines,
                                 line_type=line_column)
        terms = list(grids) + [c for c in cov.columns if c.startswith("cross_")]
        terms = [t for t in terms if cov[t].notna().any()
                 and cov.groupby("stratum")[t].nunique().gt(1).any()]
        result = fit_ssf(cov, terms)
        results[sp] = (result, ssf_resistance(result, template, rasters=grids, lines=sp_lines,
                                              line_type=line_column))
        coef_tables.append(result.coefficients.assign(species=sp, n_strata=result.n_strata))
        if lines is not None:
            effect_tables.append(crossing_effects(result).assign(species=sp))
    coefs = pd.concat(coef_tables, ignore_index=True)
    with staged as out:
        written = [_write_csv(out, "ssf_coefficients.csv",
                              coefs[["species", *[c for c in coefs if c != "species"]]])]
        if effect_tables:
            eff = pd.concat(effect_tables, ignore_index=True)
            written.append(_write_csv(out, "crossing_effects.csv",
                                      eff[["species", *[c for c in eff if c != "species"]]]))
        for sp, (_, resistance) in results.items():
            written.append(resistance.to_geotiff(out / f"ssf_resistance_{sp}.tif",
                                                 overwrite=True))
    _echo_written(staged, written)
    for sp, (result, _) in results.items():
        log.info(f"{sp}: {result.n_strata} strata ({result.dropped_strata} dropped); "
                   + ", ".join(f"{r.term} {r.coef:+.3g} [{r.ci_low:+.3g}, {r.ci_high:+.3g}]"
                               for r in result.coefficients.itertuples()))
