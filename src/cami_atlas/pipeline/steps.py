"""Jobs as lists of named steps that read an atlas and write a staged output set.

A :class:`Step` names what it reads from the atlas (layer kinds), the files it may
write, what it does, and the function that does it; the function gets a
:class:`StepContext` (the atlas, the folder to write into, a place for results and for
sections of a summary, and progress callbacks). :func:`run_steps` runs a list of steps
into one output folder through :class:`~cami_atlas.pipeline.staging.StagedOutputs`: every
output of every step is checked before anything is written, the steps write into a
staging folder, and the set replaces the old one only when every step has succeeded.

``cami-atlas run`` is such a list (:data:`cami_atlas.cli.run.STEPS`); a notebook or a
background job of a web application runs the same steps with its own callbacks::

    from cami_atlas.pipeline import run_steps
    from cami_atlas.cli.run import STEPS, SUMMARY_STEP
    ctx = run_steps(atlas, "out/", steps=[*STEPS, SUMMARY_STEP], echo=log.info)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..atlas import Atlas
from .progress import ProgressFactory, rich_progress
from .staging import StagedOutputs

log = logging.getLogger(__name__)

__all__ = ["RunContext", "Section", "Step", "StepContext", "missing_kinds", "run_steps"]


@dataclass
class Section:
    """A part of the summary: a title, paragraphs and optionally a table."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None


def _ignore(_text: str) -> None:
    return None


@dataclass
class StepContext:
    """What every step gets: the atlas, the folder to write into and a place for results.

    Attributes
    ----------
    atlas : Atlas
    out_dir : Path
        The folder the step writes into (the staging folder while the job runs; the
        output folder once :func:`run_steps` returns).
    overwrite : bool
    results : dict
        Tables and objects computed by the steps, by step name.
    sections : list of Section
        Parts of the summary added by the steps.
    written : list of Path
        Files written (recorded with :meth:`wrote`).
    echo : callable
        One-line messages (``click.echo`` at the command line, a logger elsewhere).
    progress : callable
        ``progress(total, label)`` returns a context manager yielding ``step(text)``
        that advances a bar by one; default a rich bar on a terminal (stderr).
    options : dict
        Options of the job that steps honour, e.g. ``species`` (list of range names: the
        barrier and hotspot steps analyse only these).
    """

    atlas: Atlas
    out_dir: Path
    overwrite: bool = False
    results: dict[str, Any] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    echo: Callable[[str], None] = _ignore
    progress: ProgressFactory = rich_progress
    options: dict[str, Any] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        """Path of output ``name`` in the folder being written."""
        return self.out_dir / name

    def wrote(self, path: Path) -> None:
        """Record an output that was written (it is moved into place at the end)."""
        self.written.append(path)

    def bar(self, total: int, label: str) -> AbstractContextManager[Callable[[str], None]]:
        """A progress bar of ``total`` steps (see :attr:`progress`)."""
        return self.progress(total, label)

    def skipped(self, requires: Sequence[str], *, analysis: str, heading: str) -> bool:
        """True (and a note in the summary) if the atlas lacks a kind of ``requires``.

        ``requires`` as in :func:`missing_kinds`; the note reads "``analysis`` skipped:
        the atlas has no ... layer." under ``heading``.
        """
        missing = missing_kinds(self.atlas, requires)
        if missing:
            self.sections.append(Section(heading, [
                f"{analysis} skipped: the atlas has no {' and no '.join(missing)} layer."]))
        return bool(missing)


#: The context of ``cami-atlas run`` (the same class; kept for the name used since v0.1).
RunContext = StepContext


def missing_kinds(atlas: Atlas, requires: Sequence[str]) -> list[str]:
    """Kinds of ``requires`` the atlas has no layer of (``"a|b"``: either a or b).

    Examples
    --------
    >>> missing_kinds(Atlas.default(), ["infrastructure", "corridor|tracks"])
    ['corridor or tracks']
    """
    return [need.replace("|", " or ") for need in requires
            if not any(atlas.layer_names(k) for k in need.split("|"))]


@dataclass(frozen=True)
class Step:
    """One step of a job.

    Attributes
    ----------
    name : str
    outputs : tuple of str
        Every file the step may write (checked before the job starts).
    func : callable
        ``func(ctx: StepContext) -> None``; writes into ``ctx.out_dir``, records the
        files with ``ctx.wrote`` and may add :class:`Section` s to ``ctx.sections``.
    description : str
        What the step does (shown while the job runs).
    reads : tuple of str
        Layer kinds the step reads from the atlas when they are present (a step skips
        itself, with a note, when a kind it needs is missing: :meth:`StepContext.skipped`).
    """

    name: str
    outputs: tuple[str, ...]
    func: Callable[[StepContext], None]
    description: str = ""
    reads: tuple[str, ...] = ()


def run_steps(atlas: Atlas, out_dir: str | Path, *, steps: Sequence[Step],
              overwrite: bool = False, echo: Callable[[str], None] = _ignore,
              progress: ProgressFactory = rich_progress,
              on_step: Callable[[int, int, Step], None] | None = None,
              required_bytes: int = 0,
              options: Mapping[str, Any] | None = None) -> StepContext:
    """Run ``steps`` on ``atlas`` and put their outputs into ``out_dir`` as one set.

    Every output of every step is checked first (see
    :meth:`~cami_atlas.pipeline.staging.StagedOutputs.check`); if one exists and
    ``overwrite`` is false, :class:`~cami_atlas.errors.OutputExistsError` is raised and
    nothing is written. The steps write into a staging folder; the set replaces
    ``out_dir`` only when all have succeeded, so a failed or killed job leaves the old
    outputs as they were.

    Parameters
    ----------
    atlas : Atlas
    out_dir : str or path
    steps : sequence of Step
        Run in order.
    overwrite : bool, default False
    echo : callable, optional
        Receives one line per output written.
    progress : callable, optional
        Progress-bar factory handed to the steps (:attr:`StepContext.progress`).
    on_step : callable, optional
        ``on_step(i, n, step)`` before each step (1-based ``i``).
    required_bytes : int, default 0
        Estimated size of the outputs, compared with the free space before the job.
    options : mapping, optional
        Job options handed to the steps (:attr:`StepContext.options`).

    Returns
    -------
    StepContext
        With ``results`` (tables computed by the steps), ``sections`` and ``written``
        (final paths).

    Examples
    --------
    >>> import tempfile
    >>> def hello(ctx):
    ...     ctx.path("hello.txt").write_text(ctx.atlas.name)
    ...     ctx.wrote(ctx.path("hello.txt"))
    >>> out = tempfile.mkdtemp()
    >>> ctx = run_steps(Atlas.default(), out, steps=[Step("hello", ("hello.txt",), hello)])
    >>> [p.name for p in ctx.written], (ctx.out_dir / "hello.txt").read_text()
    (['hello.txt'], 'cami_default_atlas')
    """
    names = [o for s in steps for o in s.outputs]
    staged = StagedOutputs(out_dir, names, overwrite=overwrite, atlas=atlas,
                           required_bytes=required_bytes).check()
    with staged as staging:
        ctx = StepContext(atlas=atlas, out_dir=staging, overwrite=overwrite, echo=echo,
                          progress=progress, options=dict(options or {}))
        for i, step in enumerate(steps, start=1):
            if on_step is not None:
                on_step(i, len(steps), step)
            started = time.perf_counter()
            step.func(ctx)
            log.debug("step %s took %.1f s", step.name, time.perf_counter() - started)
    ctx.out_dir = Path(out_dir)
    ctx.written = [Path(out_dir) / staged.final(p).relative_to(staged.out)
                   for p in ctx.written]
    for path in ctx.written:
        echo(f"wrote {path}")
    return ctx
