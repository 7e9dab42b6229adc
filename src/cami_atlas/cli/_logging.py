"""Messages of the command line go through :mod:`logging`, so ``--quiet`` and ``--verbose``
choose what is shown.

The ``cami_atlas`` logger (and every module logger below it) gets one handler that
writes through :func:`click.echo`: INFO on stdout as plain lines ("wrote out/x.csv"),
WARNING and above on stderr prefixed ``Warning:``, DEBUG (``--verbose``: step timings,
solver choices, files added to an output set) on stderr prefixed ``debug:``. A command's
results (a table, a CSV on stdout) are printed, not logged: ``--quiet`` never hides them.
Progress bars are shown only when INFO messages are (and stderr is a terminal).
"""

from __future__ import annotations

import logging

import click

__all__ = ["LOGGER_NAME", "configure", "log"]

#: The library's root logger.
LOGGER_NAME = "cami_atlas"
#: Logger of the command line's messages.
log = logging.getLogger(f"{LOGGER_NAME}.cli")


class _ClickHandler(logging.Handler):
    """Write records with :func:`click.echo` (the streams of the current command)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = self.format(record)
            if record.levelno >= logging.WARNING:
                click.echo(f"Warning: {msg}", err=True)
            elif record.levelno < logging.INFO:
                click.echo(f"debug: {msg}", err=True)
            else:
                click.echo(msg)
        except Exception:  # a logging call never breaks a command
            self.handleError(record)


def configure(*, quiet: bool = False, verbose: bool = False) -> int:
    """Set the level of the ``cami_atlas`` logger for a command and return it.

    Examples
    --------
    >>> configure(quiet=True) == logging.WARNING, configure() == logging.INFO
    (True, True)
    >>> configure(verbose=True) == logging.DEBUG
    True
    """
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose exclude each other; give one.")
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    root = logging.getLogger(LOGGER_NAME)
    for handler in [h for h in root.handlers if isinstance(h, _ClickHandler)]:
        root.removeHandler(handler)
    handler = _ClickHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    return level
