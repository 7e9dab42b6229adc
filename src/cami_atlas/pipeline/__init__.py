"""Jobs as named steps over an atlas, and output sets written atomically.

The layer below the command line: ``cami-atlas run`` and every subcommand, the
notebooks and background jobs of a web application use the same pieces.

- :mod:`~cami_atlas.pipeline.steps`: :class:`Step` (name, layer kinds read, outputs,
  description, function), :class:`StepContext` (alias :class:`RunContext`),
  :class:`Section` of a summary, :func:`run_steps`.
- :mod:`~cami_atlas.pipeline.staging`: :class:`StagedOutputs` (a folder of outputs
  staged beside ``--out`` and swapped into place) and :class:`StagedFile` (one file).
- :mod:`~cami_atlas.pipeline.progress`: progress by callback (a rich bar, or nothing).
- :mod:`~cami_atlas.pipeline.barriers`, :mod:`~cami_atlas.pipeline.hotspots`: the
  barrier and hotspot jobs and their steps of the main job.
"""

from .progress import ProgressFactory, no_progress, rich_progress
from .staging import StagedFile, StagedOutputs, remove_stale
from .steps import RunContext, Section, Step, StepContext, missing_kinds, run_steps

__all__ = ["ProgressFactory", "RunContext", "Section", "StagedFile", "StagedOutputs", "Step",
           "StepContext", "missing_kinds", "no_progress", "remove_stale", "rich_progress",
           "run_steps"]
