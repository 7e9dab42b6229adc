"""Progress reporting by callback: a step calls ``step(text)``; who listens decides.

A progress factory is ``factory(total, label)`` returning a context manager that yields
``step(text)``; each call advances by one. :func:`rich_progress` draws a rich bar on
stderr when it is a terminal (and does nothing elsewhere); :func:`no_progress` ignores
everything; a web application passes its own factory that records the messages.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

__all__ = ["ProgressFactory", "no_progress", "rich_progress"]


class ProgressFactory(Protocol):
    """``factory(total, label)`` -> context manager yielding ``step(text)``."""

    def __call__(self, total: int, label: str, /) -> AbstractContextManager[
            Callable[[str], None]]: ...


class _Bar:
    """A rich progress bar that advances one step per message (stderr, terminals only)."""

    def __init__(self, total: int, label: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        self.progress: Any = Progress(TextColumn("{task.description:<40}"), BarColumn(),
                                      TimeElapsedColumn(), console=console, transient=True,
                                      disable=not console.is_terminal)
        self.task = self.progress.add_task(label, total=total)

    def __enter__(self) -> Callable[[str], None]:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, text: str) -> None:
        self.progress.update(self.task, advance=1, description=text)


def rich_progress(total: int, label: str = "") -> AbstractContextManager[Callable[[str], None]]:
    """A rich bar of ``total`` steps on stderr, shown only on a terminal.

    Examples
    --------
    >>> with rich_progress(2, "demo") as step:
    ...     step("first"); step("second")
    """
    return _Bar(total, label)


def no_progress(total: int = 0, label: str = "") -> AbstractContextManager[
        Callable[[str], None]]:
    """A progress factory that ignores every message.

    Examples
    --------
    >>> with no_progress(3) as step:
    ...     step("ignored")
    """
    return nullcontext(lambda _text: None)
