"""The error tree of cami_atlas.

Every error raised on purpose by the library derives from :class:`CamiAtlasError`
and also from the builtin that matches its meaning, so callers can catch either
``CamiAtlasError`` or, for example, ``ValueError``.

A message says what is wrong, what was received, which file / layer / column it
concerns and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "AssetNotVendoredError",
    "AtlasLockedError",
    "CRSError",
    "CamiAtlasError",
    "DisconnectedGraphWarning",
    "EmptyLayerError",
    "GeometryTypeError",
    "InvalidGeometryError",
    "LayerNotFoundError",
    "LayerReadError",
    "LayerWriteError",
    "MemoryLimitError",
    "MissingColumnError",
    "OptionError",
    "OutputExistsError",
    "SchemaError",
    "SolverError",
    "UnknownSpeciesError",
    "UnknownValueError",
]


class CamiAtlasError(Exception):
    """Root of every error raised by cami_atlas."""


class OptionError(CamiAtlasError, ValueError):
    """An option (keyword argument, CLI flag) has a value outside its allowed set."""


class CRSError(CamiAtlasError, ValueError):
    """A layer or raster has no CRS, or an unsuitable one (e.g. lat/lon for a planar metric)."""


class SchemaError(CamiAtlasError, ValueError):
    """A layer does not follow the schema of its kind."""


class MissingColumnError(SchemaError):
    """A required column is missing (the message suggests the closest name)."""


class UnknownValueError(SchemaError):
    """A column holds a value outside its allowed vocabulary (the message lists it)."""


class GeometryTypeError(SchemaError):
    """A layer holds geometries of a type its kind does not allow."""


class InvalidGeometryError(SchemaError):
    """A layer holds invalid geometries (count and ids in the message)."""


class EmptyLayerError(SchemaError):
    """A layer has no features (or only empty/missing geometries)."""


class LayerReadError(CamiAtlasError, OSError):
    """A file could not be read: missing, unreadable, corrupt or of an unknown format."""


class LayerWriteError(CamiAtlasError, OSError):
    """An output could not be written; the previous file, if any, is left intact."""


class AtlasLockedError(CamiAtlasError, TimeoutError):
    """Another process kept an atlas locked for writing longer than the lock timeout."""


class AssetNotVendoredError(LayerWriteError):
    """A self-contained (offline) map needs a web asset that the package does not ship."""


class MemoryLimitError(CamiAtlasError, MemoryError):
    """A grid would need more memory than is available or allowed (``max_memory``)."""


class OutputExistsError(CamiAtlasError, FileExistsError):
    """An output exists already and overwriting was not asked for."""


class LayerNotFoundError(CamiAtlasError, KeyError):
    """An atlas or a file has no layer of the requested name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SolverError(CamiAtlasError, ArithmeticError):
    """A linear solve failed (a matrix that should be positive definite is not)."""


class UnknownSpeciesError(CamiAtlasError, KeyError):
    """A species name is not known to the barrier matrix or to the atlas."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DisconnectedGraphWarning(UserWarning):
    """Parts of a raster graph are disconnected; their resistances are infinite."""
