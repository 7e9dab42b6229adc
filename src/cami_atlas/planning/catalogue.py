"""The mitigation catalogue: measures against the barrier effect of linear infrastructure,
by step of the mitigation hierarchy, and the measures proposed for screened segments.

The catalogue (``cami_atlas/data/mitigation_catalogue.csv``, documented in
``cami_atlas/data/README.md``) lists each measure with the step of the hierarchy it
belongs to (avoid → minimise → mitigate → offset), the infrastructure types and species
it suits, its design figures (clearances, spacing, ...) as the cited source gives them,
and the source of every entry. An empty cell means the source gives no figure: none was
guessed. An empty ``species`` cell means the source names no species of the atlas, so
the measure is proposed for every species (``evidence_species`` says on which animals
it was studied).

Examples
--------
>>> cat = load_catalogue()
>>> list(HIERARCHY)
['avoid', 'minimise', 'mitigate', 'offset']
>>> bool(cat["source"].str.len().gt(0).all())
True
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SchemaError, UnknownSpeciesError, UnknownValueError
from ..schema import BARRIER_CLASSES, INFRA_TYPES

__all__ = ["CATALOGUE_COLUMNS", "DESIGN_COLUMNS", "HIERARCHY", "load_catalogue",
           "propose_measures", "structure_measures", "summarise_proposals"]

#: Steps of the mitigation hierarchy, in the order a planner takes them.
HIERARCHY: tuple[str, ...] = ("avoid", "minimise", "mitigate", "offset")
#: Numeric design figures (metres, kilometres), empty where the source gives none.
DESIGN_COLUMNS: tuple[str, ...] = ("clearance_m", "max_height_m", "width_m", "length_m",
                                   "spacing_km", "separation_m")
#: Columns every catalogue has.
CATALOGUE_COLUMNS: tuple[str, ...] = (
    "measure_id", "measure", "hierarchy_step", "infra_types", "species", "evidence_species",
    "structure_type", *DESIGN_COLUMNS, "design", "evidence", "source", "source_url",
    "recommended")
# classes for which a measure is proposed (a segment that is not a barrier needs none)
_NEEDS_MEASURES = ("partial barrier", "complete barrier", "unknown")


def _default_path() -> Path:
    return Path(str(resources.files("cami_atlas") / "data" / "mitigation_catalogue.csv"))


def _split(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [v.strip() for v in str(value).split(";") if v.strip()]


def load_catalogue(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Read and check a mitigation catalogue (default: the one shipped with the package).

    Parameters
    ----------
    path : str or path, optional
        A CSV with :data:`CATALOGUE_COLUMNS` (lines starting with ``#`` are comments;
        lists inside a cell are separated by ``;``).

    Returns
    -------
    DataFrame
        The catalogue, one row per measure, in hierarchy order, with two added columns:
        ``infra_type_list`` and ``species_list`` (tuples; species as the names of the
        barrier matrix, e.g. ``Saiga_spp``; empty: every species); ``recommended`` is
        a bool.

    Raises
    ------
    SchemaError
        A missing column, a duplicate or empty ``measure_id``, a row without ``source``,
        or a design figure that is not a number.
    UnknownValueError
        A ``hierarchy_step`` or infrastructure type outside the vocabulary.
    UnknownSpeciesError
        A species that is not a species of the atlas (nor one of its synonyms).

    Examples
    --------
    >>> cat = load_catalogue()
    >>> row = cat.set_index("measure_id").loc["minimise_fence_bottom_gap"]
    >>> row["hierarchy_step"], float(row["clearance_m"])
    ('minimise', 0.3)
    """
    from ..barriers.species import resolve_species

    where = Path(path) if path is not None else _default_path()
    try:
        cat = pd.read_csv(where, comment="#", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as exc:
        raise SchemaError(f"mitigation catalogue {where}: cannot be read as CSV ({exc}); "
                          "give a comma-separated file with the columns "
                          f"{list(CATALOGUE_COLUMNS)}.") from None
    missing = [c for c in CATALOGUE_COLUMNS if c not in cat.columns]
    if missing:
        raise SchemaError(f"mitigation catalogue {where}: missing column(s) {missing}; "
                          f"a catalogue needs {list(CATALOGUE_COLUMNS)}.")
    cat = cat.apply(lambda c: c.str.strip())
    ids = cat["measure_id"]
    if (ids == "").any():
        rows = (np.flatnonzero(ids == "") + 1).tolist()
        raise SchemaError(f"mitigation catalogue {where}: data row(s) {rows} have no "
                          "measure_id; give every measure a unique id.")
    dup = sorted(set(ids[ids.duplicated()]))
    if dup:
        raise SchemaError(f"mitigation catalogue {where}: measure_id {dup} used more than "
                          "once; ids must be unique.")
    no_source = ids[cat["source"] == ""].tolist()
    if no_source:
        raise SchemaError(f"mitigation catalogue {where}: measure(s) {no_source} have no "
                          "source; cite the guideline or study every entry comes from (an "
                          "entry without a source cannot be kept).")
    bad_rec = ~cat["recommended"].str.lower().isin(["yes", "no"])
    if bad_rec.any():
        raise UnknownValueError(f"mitigation catalogue {where}: measure "
                                f"{ids[bad_rec].iloc[0]!r} has recommended="
                                f"{cat.loc[bad_rec, 'recommended'].iloc[0]!r}; use yes, or no "
                                "where the cited evidence found the measure ineffective.")
    cat["recommended"] = cat["recommended"].str.lower().eq("yes")
    bad_step = cat.loc[~cat["hierarchy_step"].isin(HIERARCHY), ["measure_id",
                                                                  "hierarchy_step"]]
    if len(bad_step):
        mid, val = bad_step.iloc[0]
        raise UnknownValueError(f"mitigation catalogue {where}: measure {mid!r} has "
                                f"hierarchy_step {val!r}; use one of {list(HIERARCHY)}.")
    infra_lists, species_lists = [], []
    for mid, infra, species in zip(ids, cat["infra_types"], cat["species"], strict=True):
        types = _split(infra)
        unknown = [t for t in types if t not in INFRA_TYPES]
        if not types or unknown:
            raise UnknownValueError(
                f"mitigation catalogue {where}: measure {mid!r} column 'infra_types' has "
                f"{unknown or 'no value'}; list one or more of {list(INFRA_TYPES)} "
                "separated by ';'.")
        infra_lists.append(tuple(types))
        names = []
        for s in _split(species):
            try:
                names.append(resolve_species(s))
            except UnknownSpeciesError as exc:
                raise UnknownSpeciesError(f"mitigation catalogue {where}: measure {mid!r} "
                                          f"column 'species': {exc}") from None
        species_lists.append(tuple(dict.fromkeys(names)))
    for col in DESIGN_COLUMNS:
        num = pd.to_numeric(cat[col].replace("", np.nan), errors="coerce")
        bad = cat[col].ne("") & num.isna()
        if bad.any():
            mid = ids[bad].iloc[0]
            raise SchemaError(f"mitigation catalogue {where}: measure {mid!r} column {col!r} "
                              f"is {cat.loc[bad, col].iloc[0]!r}, not a number; give the "
                              "figure in the unit of the column name, or leave it empty.")
        cat[col] = num.astype(float)
    cat["infra_type_list"] = infra_lists
    cat["species_list"] = species_lists
    order = cat["hierarchy_step"].map({s: i for i, s in enumerate(HIERARCHY)})
    return (cat.assign(_o=order).sort_values(["_o", "measure_id"], kind="stable")
            .drop(columns="_o").reset_index(drop=True))


def propose_measures(segment_species: pd.DataFrame, infra_type: str | pd.Series | None = None,
                     *, catalogue: pd.DataFrame | str | os.PathLike[str] | None = None
                     ) -> pd.DataFrame:
    """The catalogue's measures for each segment and species, in hierarchy order.

    A measure is proposed for a segment and species when it is recommended (the
    catalogue keeps measures found ineffective as evidence, never proposed), suits the
    segment's
    infrastructure type and the species (or names no species), and the segment is a
    barrier for that species (``partial barrier``, ``complete barrier``, or
    ``unknown``, which the precautionary reading treats as a possible barrier); a
    segment that is ``not a barrier`` gets none.

    Parameters
    ----------
    segment_species : DataFrame
        One row per segment and species: ``segment_id``, ``species``, ``barrier_class``
        and, unless ``infra_type`` is given, ``infra_type`` (e.g.
        ``ScreeningResult.segment_species`` or the hotspot segments in long form).
    infra_type : str or Series, optional
        The infrastructure type of every row (a screened route has one).
    catalogue : DataFrame, str or path, optional
        :func:`load_catalogue` output or a catalogue file (default: the shipped one).

    Returns
    -------
    DataFrame
        ``segment_id, species, infra_type, barrier_class, hierarchy_step, measure_id,
        measure, structure_type, design, source`` plus the design figures; sorted by
        segment, species and hierarchy step.

    Examples
    --------
    >>> segs = pd.DataFrame({"segment_id": ["r:1", "r:1", "r:2"],
    ...                      "species": ["Saiga tatarica", "Panthera_uncia", "Saiga tatarica"],
    ...                      "barrier_class": ["complete barrier", "not a barrier",
    ...                                        "partial barrier"]})
    >>> out = propose_measures(segs, "fence")
    >>> sorted(set(out["segment_id"])), out["species"].unique().tolist()
    (['r:1', 'r:2'], ['Saiga tatarica'])
    >>> out.groupby("segment_id")["hierarchy_step"].first().tolist()
    ['avoid', 'avoid']
    """
    from ..barriers.species import resolve_species

    cat = (catalogue if isinstance(catalogue, pd.DataFrame)
           else load_catalogue(catalogue))
    need = ["segment_id", "species", "barrier_class"]
    if infra_type is None:
        need.append("infra_type")
    missing = [c for c in need if c not in segment_species.columns]
    if missing:
        raise SchemaError(f"segments for mitigation proposals lack column(s) {missing}; "
                          f"they need {need} (one row per segment and species).")
    segs = segment_species.copy()
    if infra_type is not None:
        segs["infra_type"] = infra_type
    bad = sorted(set(segs["barrier_class"].astype(str)) - set(BARRIER_CLASSES))
    if bad:
        raise UnknownValueError(f"segments for mitigation proposals: barrier_class {bad} "
                                f"unknown; use one of {list(BARRIER_CLASSES)}.")
    segs = segs.loc[segs["barrier_class"].isin(_NEEDS_MEASURES)]
    out_cols = ["segment_id", "species", "infra_type", "barrier_class", "hierarchy_step",
                "measure_id", "measure", "structure_type", *DESIGN_COLUMNS, "design",
                "source"]
    if segs.empty:
        return pd.DataFrame(columns=out_cols)
    names = pd.unique(segs["species"].astype(str))
    matrix_name = {}
    for n in names:
        try:
            matrix_name[n] = resolve_species(n)
        except UnknownSpeciesError:
            matrix_name[n] = None  # a species the catalogue cannot name: general measures only
    segs = segs.assign(_sp=segs["species"].astype(str).map(matrix_name), _row=np.arange(len(segs)))
    # one row per catalogue measure and (infra type, species) it suits
    cat = cat.loc[cat["recommended"]]
    suits = cat[["measure_id", "infra_type_list", "species_list"]].explode("infra_type_list")
    suits = suits.rename(columns={"infra_type_list": "infra_type"})
    general = suits.loc[suits["species_list"].map(len) == 0, ["measure_id", "infra_type"]]
    specific = (suits.explode("species_list").dropna(subset=["species_list"])
                .rename(columns={"species_list": "_sp"}))[["measure_id", "infra_type", "_sp"]]
    hits = pd.concat([segs.merge(general, on="infra_type"),
                      segs.merge(specific, on=["infra_type", "_sp"])], ignore_index=True)
    hits = hits.merge(cat.drop(columns=["infra_type_list", "species_list", "species",
                                        "infra_types", "recommended"]), on="measure_id")
    hits["_o"] = hits["hierarchy_step"].map({s: i for i, s in enumerate(HIERARCHY)})
    hits = hits.sort_values(["_row", "_o", "measure_id"], kind="stable")
    return hits[out_cols].reset_index(drop=True)


def summarise_proposals(proposals: pd.DataFrame) -> pd.DataFrame:
    """One row per species and proposed measure: the segments it is proposed for.

    Parameters
    ----------
    proposals : DataFrame
        :func:`propose_measures` output.

    Returns
    -------
    DataFrame
        ``species, hierarchy_step, measure_id, measure, structure_type, n_segments,
        segments, design, source``, in hierarchy order per species.

    Examples
    --------
    >>> segs = pd.DataFrame({"segment_id": ["r:1", "r:2"], "species": ["saiga", "saiga"],
    ...                      "barrier_class": ["complete barrier", "partial barrier"]})
    >>> table = summarise_proposals(propose_measures(segs, "fence"))
    >>> table.loc[table["measure_id"] == "minimise_fence_bottom_gap", "segments"].tolist()
    ['r:1; r:2']
    """
    cols = ["species", "hierarchy_step", "measure_id", "measure", "structure_type",
            "n_segments", "segments", "design", "source"]
    if proposals.empty:
        return pd.DataFrame(columns=cols)
    p = proposals.assign(segment_id=proposals["segment_id"].astype(str))
    order = {s: i for i, s in enumerate(HIERARCHY)}
    out = (p.groupby(["species", "measure_id"], sort=False)
           .agg(hierarchy_step=("hierarchy_step", "first"), measure=("measure", "first"),
                structure_type=("structure_type", "first"),
                n_segments=("segment_id", "nunique"),
                segments=("segment_id", lambda v: "; ".join(dict.fromkeys(v))),
                design=("design", "first"), source=("source", "first"))
           .reset_index())
    out["_o"] = out["hierarchy_step"].map(order)
    return (out.sort_values(["species", "_o", "measure_id"], kind="stable")[cols]
            .reset_index(drop=True))


def structure_measures(structure_type: str, species: str | None = None, *,
                       catalogue: pd.DataFrame | str | os.PathLike[str] | None = None
                       ) -> pd.DataFrame:
    """The recommended measures of one structure type that suit ``species``.

    A measure suits a species when it names it (by its barrier-matrix name) or names no
    species. Used to say, beside the chosen crossing positions, which structures the
    catalogue describes and on what evidence.

    Parameters
    ----------
    structure_type : str
        A ``structure_type`` of the catalogue (``underpass``, ``overpass``,
        ``fence opening``, ``seasonal gate``, ...); case does not matter.
    species : str, optional
        Any name :func:`cami_atlas.barriers.species.resolve_species` knows.
    catalogue : DataFrame, str or path, optional
        :func:`load_catalogue` output or a catalogue file (default: the shipped one).

    Examples
    --------
    >>> structure_measures("fence opening", "saiga")["measure_id"].tolist()
    ['mitigate_fence_openings_border', 'mitigate_railway_fence_openings_kz']
    >>> structure_measures("fence opening", "khulan")["measure_id"].tolist()
    []
    >>> structure_measures("underpass", "khulan")["measure_id"].tolist()
    ['mitigate_underpass']
    """
    from ..barriers.species import resolve_species

    cat = catalogue if isinstance(catalogue, pd.DataFrame) else load_catalogue(catalogue)
    kind = str(structure_type).strip().lower()
    keep = cat["recommended"] & (cat["structure_type"].fillna("").str.lower() == kind)
    if species is not None:
        try:
            name = resolve_species(species)
        except UnknownSpeciesError:
            name = None  # a species the catalogue cannot name: general measures only
        keep &= cat["species_list"].map(lambda names: not names or name in names)
    return cat.loc[keep]
