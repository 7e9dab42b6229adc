"""One rich progress bar for the whole library (ground floor: analyses and jobs use it).

:class:`RichBar` draws on stderr only when it is a terminal, and does nothing when
``enabled`` is false or the ``cami_atlas`` logger does not show INFO messages
(``cami-atlas --quiet``), so library functions can take ``progress=True`` without printing into
notebooks' captured output or CI logs. The job layer's progress factories
(:mod:`cami_atlas.pipeline.progress`) are built on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["RichBar"]


class RichBar:
    """A rich progress bar of ``total`` steps on stderr (terminals only).

    Parameters
    ----------
    label : str
        Description of the main task (replaced by each :meth:`step` text).
    total : int
        Number of steps.
    done : int, default 0
        Steps already done (a resumed job).
    enabled : bool, default True
        False: every call does nothing.
    counts : bool, default False
        Show ``done/total`` and the remaining time (long jobs of many equal tasks).
    transient : bool, default True
        Remove the bar from the terminal when it closes.

    Examples
    --------
    >>> with RichBar("demo", 2) as bar:
    ...     bar.step("first"); bar.step("second")
    >>> quiet = RichBar("off", 3, enabled=False)
    >>> quiet.advance(); quiet.sub("inner", 2)()
    """

    def __init__(self, label: str, total: int, *, done: int = 0, enabled: bool = True,
                 counts: bool = False, transient: bool = True) -> None:
        self.bar: Any = None
        self.task: Any = None
        if not enabled or not logging.getLogger("cami_atlas").isEnabledFor(logging.INFO):
            return  # switched off, or the command runs with --quiet
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        columns: list[Any] = [TextColumn("{task.description:<40}"), BarColumn()]
        if counts:
            columns += [MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
        else:
            columns += [TimeElapsedColumn()]
        self.bar = Progress(*columns, console=console, transient=transient,
                            disable=not console.is_terminal)
        self.task = self.bar.add_task(label, total=total, completed=done)

    def start(self) -> RichBar:
        """Show the bar (also done by ``with``)."""
        if self.bar is not None:
            self.bar.start()
        return self

    def close(self) -> None:
        """Stop and (if transient) remove the bar."""
        if self.bar is not None:
            self.bar.stop()

    def __enter__(self) -> RichBar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, text: str) -> None:
        self.step(text)

    def step(self, text: str) -> None:
        """Advance one step and show ``text``."""
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=text)

    def advance(self) -> None:
        """Advance one step, keeping the text."""
        if self.bar is not None:
            self.bar.update(self.task, advance=1)

    def sub(self, text: str, total: int) -> Callable[[], None]:
        """A second bar of ``total`` steps under the first; returns its ``advance()``."""
        if self.bar is None:
            return lambda: None
        task = self.bar.add_task(text, total=total)
        return lambda: self.bar.update(task, advance=1)
