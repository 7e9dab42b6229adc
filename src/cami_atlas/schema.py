"""The layer model: one schema per kind of layer (the contract between io and analysis).

A schema names the allowed geometry types, the required and optional columns with
their dtypes, and, for categorical columns, the allowed values. The infrastructure
vocabulary is that of the 2017 CAMI data dictionary as used by the expert barrier
matrix (``cami_atlas/data/cami_barrier_matrix_2017.csv``); short aliases that users
type (``double`` for ``double track``) are normalised by :func:`normalise_value`.

Kinds
-----
``species_range``  polygons: ``species`` (canonical ``Genus_species``), ``season``,
                   IUCN ``presence`` / ``origin`` / ``seasonal`` codes where known.
``corridor``       polygons or migration-route lines: ``species``, ``use_class``.
``tracks``         points: ``individual``, ``timestamp`` (UTC), ``species``.
``infrastructure`` lines: ``infra_type``, ``status`` and the CAMI attributes.
``protected_area`` polygons: ``name``, ``designation``, ``iucn_category``.
``country``        polygons: ``iso3``, ``name``.
``border``         lines: ``iso3_left``, ``iso3_right``.
``water``          rivers (lines) and lakes (polygons): ``name``.
``places``         points: ``name``, ``population``.
``raster``         base rasters (elevation, land cover), handled by :mod:`cami_atlas.raster`.

Examples
--------
>>> SCHEMAS["infrastructure"].column("track").allowed
('single track', 'double track')
>>> normalise_value("track", "double")
'double track'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

__all__ = [
    "ATTRIBUTE_ALIASES",
    "BARRIER_CLASSES",
    "INFRA_TYPES",
    "KINDS",
    "MATRIX_ATTRIBUTE_COLUMNS",
    "SCHEMAS",
    "SPECIES_NAME_PATTERN",
    "Column",
    "LayerKind",
    "LayerSchema",
    "canonical_species_name",
    "normalise_value",
]

LayerKind = Literal[
    "species_range",
    "corridor",
    "tracks",
    "infrastructure",
    "protected_area",
    "country",
    "border",
    "water",
    "places",
    "raster",
]
KINDS: tuple[str, ...] = LayerKind.__args__  # type: ignore[attr-defined]

Dtype = Literal["string", "int", "float", "bool", "datetime"]

POLYGONS = ("Polygon", "MultiPolygon")
LINES = ("LineString", "MultiLineString")
POINTS = ("Point", "MultiPoint")

#: Barrier classes of the CAMI matrix, in the order the 2017 atlas applied them.
BARRIER_CLASSES: tuple[str, ...] = (
    "unknown",
    "not a barrier",
    "partial barrier",
    "complete barrier",
)

#: Infrastructure types of the atlas (``railway`` is the matrix's ``railroad``).
INFRA_TYPES: tuple[str, ...] = (
    "road",
    "railway",
    "fence",
    "pipeline",
    "canal",
    "power_line",
    "other",
)

#: (matrix infrastructure, matrix attribute) -> atlas column.
MATRIX_ATTRIBUTE_COLUMNS: dict[tuple[str, str], str] = {
    ("road", "type_"): "road_surface",
    ("road", "type1"): "road_class",
    ("road", "traffic"): "traffic",
    ("railroad", "track"): "track",
    ("railroad", "speed"): "train_speed",
    ("fence", "type_"): "fence_type",
    ("fence", "height"): "fence_height",
    ("fence", "bottom_gap"): "fence_bottom_gap",
    ("fence", "covered"): "fence_covered",
    ("pipeline", "buried"): "pipeline_buried",
    ("pipeline", "trenches"): "pipeline_trenches",
}

#: Matrix infrastructure name -> atlas ``infra_type``.
MATRIX_INFRA_TYPES: dict[str, str] = {
    "road": "road",
    "railroad": "railway",
    "fence": "fence",
    "pipeline": "pipeline",
}

_VOCABULARY: dict[str, tuple[str, ...]] = {
    "road_surface": ("paved", "unpaved"),
    "road_class": ("local road", "major road", "highway"),
    "traffic": ("low [<=1 car/hour]", "medium [2-60 cars/hour]", "high [>= 1 car/minute]"),
    "track": ("single track", "double track"),
    "train_speed": ("low", "slow train", "regular train", "high speed train"),
    "fence_type": (
        "tight barbed wire",
        "woven barbed wire",
        "not barbed - horizontal",
        "not barbed - vertical",
        "chain link",
        "metal panel",
        "ditch / trench",
        "wall",
    ),
    "fence_height": ("low [<1m]", "medium", "high [>2m]"),
    "fence_bottom_gap": ("low [<30cm]", "high [>30cm]"),
    "fence_covered": ("yes", "no"),
    "pipeline_buried": ("yes", "yes, with a berm", "no"),
    "pipeline_trenches": ("trenches", "no trenches"),
    "status": ("existing", "under construction", "planned", "proposed"),
    "infra_type": INFRA_TYPES,
    "use_class": ("high", "medium", "low"),
    "season": ("resident", "breeding", "non-breeding", "passage", "uncertain", "summer",
               "winter", "spring", "autumn"),
}

#: Short forms users type (CLI ``--attr track=double``) -> the vocabulary value.
ATTRIBUTE_ALIASES: dict[str, dict[str, str]] = {
    "road_surface": {"asphalt": "paved", "concrete": "paved", "dirt": "unpaved",
                     "gravel": "unpaved", "ground": "unpaved"},
    "road_class": {"local": "local road", "major": "major road", "motorway": "highway"},
    "traffic": {"low": "low [<=1 car/hour]", "medium": "medium [2-60 cars/hour]",
                "high": "high [>= 1 car/minute]"},
    "track": {"single": "single track", "double": "double track", "1": "single track",
              "2": "double track", "multiple": "double track"},
    "train_speed": {"slow": "slow train", "regular": "regular train",
                    "high": "high speed train", "high speed": "high speed train"},
    "fence_type": {"barbed wire": "tight barbed wire", "woven": "woven barbed wire",
                   "chain_link": "chain link", "metal": "metal panel", "ditch": "ditch / trench",
                   "trench": "ditch / trench"},
    "fence_height": {"low": "low [<1m]", "high": "high [>2m]"},
    "fence_bottom_gap": {"low": "low [<30cm]", "high": "high [>30cm]"},
    "fence_covered": {"true": "yes", "false": "no", "1": "yes", "0": "no"},
    "pipeline_buried": {"true": "yes", "false": "no", "1": "yes", "0": "no",
                        "berm": "yes, with a berm"},
    "pipeline_trenches": {"yes": "trenches", "no": "no trenches"},
    "status": {"built": "existing", "operational": "existing", "in use": "existing",
               "construction": "under construction", "under_construction": "under construction",
               "in construction": "under construction", "approved": "planned",
               "planning": "planned", "concept": "proposed", "idea": "proposed",
               "prospective": "proposed"},
    "infra_type": {"railroad": "railway", "rail": "railway", "power line": "power_line",
                   "powerline": "power_line"},
    "season": {"non breeding": "non-breeding", "nonbreeding": "non-breeding",
               "year-round": "resident"},
}

#: Canonical species names: ``Genus_species`` or ``Genus_species_subspecies`` or ``Genus_spp``.
SPECIES_NAME_PATTERN = re.compile(r"^[A-Z][a-z]+_(?:[a-z]+|spp)(?:_[a-z]+)?$")


@dataclass(frozen=True)
class Column:
    """One column of a layer schema."""

    name: str
    dtype: Dtype
    required: bool = False
    nullable: bool = True
    allowed: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class LayerSchema:
    """The schema of one kind of layer."""

    kind: str
    geometry_types: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required columns."""
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of all known columns."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The :class:`Column` called ``name`` (``KeyError`` if unknown)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _vocab(name: str, dtype: Dtype = "string", **kw: object) -> Column:
    return Column(name, dtype, allowed=_VOCABULARY[name], **kw)  # type: ignore[arg-type]


_CAMI_ATTRIBUTES = tuple(
    _vocab(col, description=f"2017 CAMI data dictionary: {infra} `{attr}`")
    for (infra, attr), col in MATRIX_ATTRIBUTE_COLUMNS.items()
)

SCHEMAS: dict[str, LayerSchema] = {
    "species_range": LayerSchema(
        "species_range",
        POLYGONS,
        (
            Column("species", "string", required=True, nullable=False,
                   description="canonical scientific name, Genus_species"),
            Column("common_name", "string"),
            _vocab("season"),
            Column("presence", "int", description="IUCN presence code 1-6"),
            Column("origin", "int", description="IUCN origin code 1-6"),
            Column("seasonal", "int", description="IUCN seasonality code 1-5"),
        ),
        "Species distribution polygons (one or more rows per species).",
    ),
    "corridor": LayerSchema(
        "corridor",
        POLYGONS + LINES,
        (
            Column("species", "string", required=True, nullable=False),
            _vocab("use_class"),
            Column("name", "string"),
        ),
        "Migration corridors (polygons) or migration routes (lines) per species.",
    ),
    "tracks": LayerSchema(
        "tracks",
        ("Point",),
        (
            Column("individual", "string", required=True, nullable=False),
            Column("timestamp", "datetime", required=True, nullable=False,
                   description="time of the fix, UTC"),
            Column("species", "string", required=True),
        ),
        "GPS fixes of tracked animals.",
    ),
    "infrastructure": LayerSchema(
        "infrastructure",
        LINES,
        (
            _vocab("infra_type", required=True, nullable=False),
            _vocab("status", description="existing, under construction, planned or proposed; "
                   "a layer without it is all existing"),
            Column("project_name", "string", description="planned project the line belongs to"),
            Column("developer", "string", description="developer or proponent of the project"),
            Column("expected_year", "int", description="year the line is expected in service"),
            Column("status_source", "string", description="where the status comes from"),
            Column("name", "string"),
            Column("source_id", "string", description="feature id in the source"),
            *_CAMI_ATTRIBUTES,
            Column("electrified", "string", description="OSM electrified tag where tagged"),
            Column("usage", "string", description="OSM railway usage where tagged"),
            Column("fence_height_m", "float", description="fence height in metres where tagged"),
            Column("source_class", "string", description="class in the source (e.g. OSM highway)"),
        ),
        "Linear infrastructure with the attributes the barrier matrix classifies on.",
    ),
    "protected_area": LayerSchema(
        "protected_area",
        POLYGONS,
        (
            Column("name", "string", required=True),
            Column("designation", "string"),
            Column("iucn_category", "string"),
            Column("wdpa_id", "string"),
        ),
        "Protected areas (e.g. WDPA, which users download themselves under its terms).",
    ),
    "country": LayerSchema(
        "country",
        POLYGONS,
        (
            Column("iso3", "string", required=True, nullable=False),
            Column("name", "string", required=True),
            Column("cami_range_state", "bool"),
        ),
        "Country polygons.",
    ),
    "border": LayerSchema(
        "border",
        LINES,
        (
            Column("iso3_left", "string", required=True),
            Column("iso3_right", "string", required=True),
            Column("border_type", "string"),
        ),
        "International boundary lines with the country on each side.",
    ),
    "water": LayerSchema(
        "water",
        LINES + POLYGONS,
        (Column("name", "string", required=True),),
        "Rivers (lines) and lakes (polygons).",
    ),
    "places": LayerSchema(
        "places",
        ("Point",),
        (
            Column("name", "string", required=True),
            Column("iso3", "string"),
            Column("population", "float"),
        ),
        "Towns and cities.",
    ),
    "raster": LayerSchema("raster", (), (), "Base rasters (elevation, land cover)."),
}


def normalise_value(column: str, value: object) -> object:
    """Map a user-typed attribute value onto the atlas vocabulary of ``column``.

    Matching ignores case, surrounding blanks and ``_`` versus space. Values that are
    already in the vocabulary, and values with no alias, are returned unchanged
    (validation then reports unknown ones).

    Examples
    --------
    >>> normalise_value("track", "Double")
    'double track'
    >>> normalise_value("fence_type", "chain_link")
    'chain link'
    >>> normalise_value("road_surface", "paved")
    'paved'
    >>> normalise_value("track", 2), normalise_value("fence_covered", True)
    ('double track', 'yes')
    """
    allowed = _VOCABULARY.get(column)
    if allowed is None:
        return value
    if isinstance(value, bool | np.bool_):
        value = "true" if value else "false"
    elif isinstance(value, int | np.integer) or (
        isinstance(value, float | np.floating) and np.isfinite(value) and float(value).is_integer()
    ):
        value = str(int(value))
    if not isinstance(value, str):
        return value
    if value in allowed:
        return value
    key = value.strip().lower()
    for a in allowed:
        if key == a.lower() or key.replace("_", " ") == a.lower():
            return a
    aliases = ATTRIBUTE_ALIASES.get(column, {})
    return aliases.get(key, aliases.get(key.replace("_", " "), value))


def canonical_species_name(name: str) -> str:
    """Canonical form of a scientific name: ``Genus_species`` with underscores.

    Examples
    --------
    >>> canonical_species_name("saiga tatarica")
    'Saiga_tatarica'
    >>> canonical_species_name(" Procapra  gutturosa ")
    'Procapra_gutturosa'
    """
    parts = re.split(r"[\s_]+", str(name).strip())
    parts = [p for p in parts if p]
    if not parts:
        return ""
    return "_".join([parts[0].capitalize()] + [p.lower() for p in parts[1:]])
