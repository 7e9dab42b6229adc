"""The Dask cluster of the heavy connectivity jobs: a ``LocalCluster`` on this machine by
default, or any running ``dask.distributed`` scheduler given by its address.

Examples
--------
>>> client, cluster = dask_client(None, n_workers=1, threads=1)
>>> client.submit(sum, [1, 2, 3]).result()
6
>>> client.close(); cluster.close()
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import CamiAtlasError, OptionError

__all__ = ["SchedulerUnreachableError", "dask_client"]


class SchedulerUnreachableError(CamiAtlasError, ConnectionError):
    """No Dask scheduler answers at the given address."""


def dask_client(dask_scheduler: str | None, n_workers: int | None = None,
                threads: int | None = None, timeout_s: float = 10.0) -> tuple[Any, Any]:
    """A ``distributed.Client`` and the ``LocalCluster`` it owns (``None`` for an address).

    Without ``dask_scheduler`` a ``LocalCluster`` of ``n_workers`` in-process workers (default
    1) with ``threads`` threads each (default one per core); with an address
    (``"tcp://HOST:PORT"``) a client of that scheduler, or
    :class:`SchedulerUnreachableError` naming the address when none answers within
    ``timeout_s``. Close both when done.
    """
    from distributed import Client, LocalCluster

    if dask_scheduler is None:
        cluster = LocalCluster(n_workers=n_workers or 1, threads_per_worker=threads or
                               (os.cpu_count() or 1), processes=False, dashboard_address=None)
        return Client(cluster), cluster
    if not isinstance(dask_scheduler, str) or "://" not in dask_scheduler:
        raise OptionError(f"dask_scheduler={dask_scheduler!r} is not a scheduler address; "
                          "give one like 'tcp://10.0.0.5:8786' or None for a LocalCluster.")
    try:
        return Client(dask_scheduler, timeout=f"{timeout_s}s"), None
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachableError(
            f"no Dask scheduler answers at {dask_scheduler} ({type(exc).__name__}: {exc}). "
            "Start one (`dask scheduler`), check the address and port, or leave the "
            "scheduler out to run on a LocalCluster.") from exc
