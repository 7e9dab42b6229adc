"""Names that moved to another module stay readable from the old one for a while.

A module assigns ``__getattr__ = moved_names(__name__, {...})``: the old name is imported
from its new home on first use, with a :class:`DeprecationWarning` that names where to
import it from (names in ``quiet`` resolve without a warning: private helpers, or names the
package itself still reads through the old place).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["moved_names"]


def moved_names(module: str, moved: Mapping[str, str | tuple[str, str]], *,
                quiet: Iterable[str] = ()) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving names that moved.

    Parameters
    ----------
    module : str
        The old module (``__name__``).
    moved : mapping
        Old name -> new module, or -> ``(new module, name there)`` when it was renamed.
    quiet : iterable of str
        Names served without a warning.

    Examples
    --------
    >>> import warnings
    >>> getter = moved_names("old.place", {"sqrt": "math", "root": ("math", "sqrt")})
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     getter("root")(9.0), str(w[0].message)[:44]
    (3.0, 'old.place.root moved to math.sqrt; import it')
    >>> try:
    ...     getter("cbrt")
    ... except AttributeError as exc:
    ...     print(exc)
    module 'old.place' has no attribute 'cbrt'
    """
    table = {k: (v, k) if isinstance(v, str) else v for k, v in moved.items()}
    silent = frozenset(quiet)

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        target, new_name = table[name]
        if name not in silent:
            warnings.warn(
                f"{module}.{name} moved to {target}.{new_name}; import it from there (the "
                "old name will be removed in a future release).",
                DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(target), new_name)

    return __getattr__
