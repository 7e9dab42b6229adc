"""One helper that checks string options and lists the valid values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from .errors import OptionError


def check_option(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`OptionError`.

    Parameters
    ----------
    name : str
        Name of the option, used in the message (e.g. ``"connectivity"``).
    value : Any
        The value received.
    allowed : iterable
        The valid values.

    Examples
    --------
    >>> check_option("neighbours", 8, (4, 8))
    8
    >>> check_option("mode", "pairwise", ("pairwise", "one-to-all"))
    'pairwise'
    """
    allowed = tuple(allowed)
    if value in allowed:
        return value
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, [str(a) for a in allowed], n=1)
        if close:
            hint = f" Did you mean {close[0]!r}?"
    valid = ", ".join(repr(a) for a in allowed)
    raise OptionError(f"{name}={value!r} is not valid; use one of: {valid}.{hint}")
