"""Many independent circuit problems at once, each a task on a Dask cluster.

Connectivity work is often a batch of problems that share nothing: one resistance surface
per species, per season or per planning scenario, each with its focal nodes. Each problem
is solved whole by :func:`~cami_atlas.connectivity.circuit.circuit_pairwise` or
:func:`~cami_atlas.connectivity.circuit.circuit_all_to_one` (which already share one
solver setup among the focal nodes of a problem), and the problems run side by side on the
workers of a ``LocalCluster`` on this machine, or of any running ``dask.distributed``
scheduler given by its address, the same route as the tiled Omniscape maps
(:func:`cami_atlas.connectivity.omniscape.omniscape_tiled`). Results come back in the
order of the problems, equal to solving them one after the other.

Examples
--------
>>> import numpy as np
>>> from affine import Affine
>>> from cami_atlas.raster import Grid
>>> flat = Grid(np.ones((3, 5)), Affine(1, 0, 0, 0, -1, 3), "EPSG:3857")
>>> ends = np.array([[0.5, 1.5], [4.5, 1.5]])
>>> out = circuits_on_dask([(flat, ends), (flat, ends)], mode="pairwise", n_workers=1,
...                        neighbours=4, average="conductance", method="direct")
>>> len(out), round(float(out[0].resistances.iloc[0, 1]), 6) > 0
(2, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from .._options import check_option
from ..errors import OptionError
from .circuit import CircuitResult, Focal, circuit_all_to_one, circuit_pairwise
from .cluster import dask_client

__all__ = ["circuits_on_dask"]

_MODES = {"pairwise": circuit_pairwise, "all_to_one": circuit_all_to_one}


def _solve(problem: tuple[Any, Focal], mode: str, options: dict[str, Any]) -> CircuitResult:
    resistance, focal = problem
    return _MODES[mode](resistance, focal, **options)


def circuits_on_dask(problems: Sequence[tuple[Any, Focal]], *,
                     mode: Literal["pairwise", "all_to_one"] = "pairwise",
                     dask_scheduler: str | None = None, n_workers: int | None = None,
                     threads_per_worker: int = 1, scheduler_timeout_s: float = 10.0,
                     **options: Any) -> list[CircuitResult]:
    """Solve independent circuit problems as tasks on a Dask cluster.

    Parameters
    ----------
    problems : sequence of (resistance Grid, focal)
        Each problem as :func:`~cami_atlas.connectivity.circuit.circuit_pairwise` takes it.
    mode : {"pairwise", "all_to_one"}
    dask_scheduler : str, optional
        Address of a running scheduler (``"tcp://HOST:PORT"``); default a ``LocalCluster``
        of ``n_workers`` in-process workers (default one per core) with
        ``threads_per_worker`` threads each.
    scheduler_timeout_s : float
        How long to wait for the scheduler to answer.
    **options
        Passed to the circuit function (``neighbours``, ``average``, ``method``, ``tol``,
        ``id_column``, ``workers``).

    Returns
    -------
    list of CircuitResult
        In the order of ``problems``.

    Raises
    ------
    SchedulerUnreachableError
        No scheduler answers at ``dask_scheduler``.
    """
    import os

    check_option("mode", mode, tuple(_MODES))
    problems = list(problems)
    if not problems:
        raise OptionError("no circuit problem given; pass (resistance, focal) pairs.")
    bad = [i for i, p in enumerate(problems) if not (isinstance(p, tuple) and len(p) == 2)]
    if bad:
        raise OptionError(f"problem {bad[0]} is not a (resistance, focal) pair.")
    client, cluster = dask_client(dask_scheduler,
                                  n_workers or min(len(problems), os.cpu_count() or 1),
                                  threads_per_worker, scheduler_timeout_s)
    try:
        futures = client.map(_solve, problems, mode=mode, options=options, pure=False)
        return list(client.gather(futures))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
