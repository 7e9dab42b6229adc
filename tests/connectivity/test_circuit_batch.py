"""Independent circuit problems as tasks on Dask (cami_atlas.connectivity.batch): a real
scheduler with two worker processes gives what solving them one by one gives, and a
series-resistor case checks the value itself."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from cami_atlas.connectivity import circuit_all_to_one, circuit_pairwise
from cami_atlas.connectivity.batch import circuits_on_dask
from cami_atlas.connectivity.cluster import SchedulerUnreachableError
from cami_atlas.errors import OptionError
from cami_atlas.raster import Grid


def _grid(values: np.ndarray) -> Grid:
    return Grid(values, Affine(100, 0, 0, 0, -100, 100 * values.shape[0]), "EPSG:3857")


def _problems() -> list:
    # SYNTHETIC surfaces, "one per season": random log-normal resistances, 3 focal cells
    rng = np.random.default_rng(7)
    focal = np.array([[50.0, 50.0], [1450.0, 650.0], [750.0, 1150.0]])
    return [(_grid(1 + np.exp(rng.normal(1, 1, (12, 15)))), focal) for _ in range(4)]


@pytest.mark.slow
def test_batch_on_a_real_cluster_equals_one_by_one(dask_scheduler_address) -> None:
    problems = _problems()
    options = dict(neighbours=8, average="conductance", method="direct")
    for mode, func in (("pairwise", circuit_pairwise), ("all_to_one", circuit_all_to_one)):
        got = circuits_on_dask(problems, mode=mode, dask_scheduler=dask_scheduler_address,
                               **options)
        assert len(got) == len(problems)
        for result, (res, focal) in zip(got, problems, strict=True):
            alone = func(res, focal, **options)
            np.testing.assert_allclose(result.current.values, alone.current.values,
                                       rtol=1e-12, equal_nan=True)
            if mode == "pairwise":
                np.testing.assert_allclose(result.resistances.to_numpy(),
                                           alone.resistances.to_numpy(), rtol=1e-12)


def test_series_resistors_on_a_local_cluster() -> None:
    """A 1 x 5 corridor of resistances 1..5 with 4 neighbours, conductances averaged
    between cells: R = sum of 1 / mean(1/r_i, 1/r_{i+1}) over the four links."""
    r = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    ends = np.array([[50.0, 50.0], [450.0, 50.0]])
    expected = sum(1 / ((1 / a + 1 / b) / 2) for a, b in zip(r[0][:-1], r[0][1:], strict=True))
    out = circuits_on_dask([(_grid(r), ends), (_grid(2 * r), ends)], mode="pairwise",
                           n_workers=2, neighbours=4, average="conductance", method="direct")
    assert out[0].resistances.iloc[0, 1] == pytest.approx(expected, rel=1e-9)
    assert out[1].resistances.iloc[0, 1] == pytest.approx(2 * expected, rel=1e-9)


def test_bad_batches_say_what_to_give() -> None:
    with pytest.raises(OptionError, match="no circuit problem given"):
        circuits_on_dask([])
    with pytest.raises(OptionError, match="problem 0 is not a"):
        circuits_on_dask([_grid(np.ones((2, 2)))])
    with pytest.raises(OptionError, match="mode='loop' is not valid"):
        circuits_on_dask(_problems()[:1], mode="loop")
    with pytest.raises(SchedulerUnreachableError, match="no Dask scheduler answers"):
        circuits_on_dask(_problems()[:1], dask_scheduler="tcp://127.0.0.1:9",
                         scheduler_timeout_s=2)
