"""Progress reporting by callback: a step calls ``step(text)``; who listens decides.

A progress factory is ``factory(total, label)`` returning a context manager that yields
``step(text)``; each call advances by one. :func:`rich_progress` draws a rich bar on
stderr when it is a terminal (and does nothing elsewhere); :func:`no_progress` ignores
everything; a web application passes its own factory that records the messages.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from .._progress import RichBar

__all__ = ["ProgressFactory", "no_progress", "rich_progress"]


class ProgressFactory(Protocol):
    """``factory(total, label)`` -> context manager yielding ``step(text)``."""

    def __call__(self, total: int, label: str, /) -> AbstractContextManager[
            Callable[[str], None]]: ...


def rich_progress(total: int, label: str = "") -> AbstractContextManager[Callable[[str], None]]:
    """A rich bar of ``total`` steps on stderr, shown only on a terminal.

    Examples
    --------
    >>> with rich_progress(2, "demo") as step:
    ...     step("first"); step("second")
    """
    return RichBar(label, total)


def no_progress(total: int = 0, label: str = "") -> AbstractContextManager[
        Callable[[str], None]]:
    """A progress factory that ignores every message.

    Examples
    --------
    >>> with no_progress(3) as step:
    ...     step("ignored")
    """
    return nullcontext(lambda _text: None)
