#!/usr/bin/env python3
"""Regenerate the barrier-hotspot map and report of every species in one go.

For each species with a range in the atlas (or those given with ``--species``) the
hotspot analysis of ``cami_atlas.hotspots`` is run for that species alone and
its outputs are written to ``OUT/<Species_name>/``: ``hotspot_report.html`` (+ ``.pdf``
with ``--pdf``), ``hotspot_map.html`` (self-contained), ``hotspot_cells.gpkg``,
``hotspot_cells.csv`` and ``hotspot_segments.csv``. ``OUT/index.html`` links them all
with each species' key figures. Nothing is written if any output exists and
``--overwrite`` is not given.

Usage::

    python scripts/make_hotspot_atlas.py --out hotspot_atlas/
    python scripts/make_hotspot_atlas.py --atlas my_atlas.gpkg --out out/ --cell-km 25 \\
        --species saiga --species khulan --pdf --overwrite

Exit codes: 0 done, 1 a cami_atlas error (one line on stderr), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from pathlib import Path

from cami_atlas.atlas import Atlas
from cami_atlas.errors import CamiAtlasError
from cami_atlas.pipeline.hotspot_atlas import write_hotspot_atlas


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--atlas", type=Path, default=None,
                   help="atlas GeoPackage (default: the embedded default atlas)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--cell-km", type=_positive, default=25.0,
                   help="cell size, km (each cell covers cell-km² km²; default 25)")
    p.add_argument("--species", action="append", default=None,
                   help="species to include (repeat or comma-separate; default: all)")
    p.add_argument("--permutations", type=int, default=999,
                   help="Gi* permutations (default 999)")
    p.add_argument("--seed", type=int, default=12345, help="permutation seed")
    p.add_argument("--border-km", type=float, default=50.0,
                   help="distance from a border for transboundary hotspots, km (default 50)")
    p.add_argument("--pdf", action="store_true", help="also write PDF reports (WeasyPrint)")
    p.add_argument("--offline", action="store_true",
                   help="maps without basemap tiles (no network request at all)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    species = None
    if args.species:
        species = [s.strip() for v in args.species for s in v.split(",") if s.strip()]

    def progress(text: str) -> None:
        if not args.quiet:
            print(f"hotspots: {text}", file=sys.stderr, flush=True)

    command = "python scripts/make_hotspot_atlas.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    try:
        atlas = Atlas.default() if args.atlas is None else Atlas.open(args.atlas)
        with warnings.catch_warnings():
            # libpysal notes islands of the hexagon grid (ranges in several parts)
            warnings.filterwarnings("ignore", message="The weights matrix is not fully")
            index = write_hotspot_atlas(
                atlas, args.out, species=species, cell_km=args.cell_km,
                overwrite=args.overwrite, pdf=args.pdf, offline=args.offline,
                progress=progress, command=command, permutations=args.permutations,
                seed=args.seed, border_distance_km=args.border_km)
    except CamiAtlasError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
