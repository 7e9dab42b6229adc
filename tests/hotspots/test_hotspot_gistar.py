"""Gi* against esda called directly; classes by the documented rule (synthetic values)."""

from __future__ import annotations

import esda
import libpysal
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely import box

from cami_atlas.errors import OptionError, SchemaError
from cami_atlas.hotspots import GI_CLASSES, gi_star, hex_grid, spatial_weights

ALBERS = "ESRI:102025"
# the direct esda calls of these tests trigger esda's notice about its future default
pytestmark = pytest.mark.filterwarnings("ignore:The alternative hypothesis:DeprecationWarning")


@pytest.fixture(scope="module")
def cells():
    return hex_grid(box(0, 0, 150_000, 120_000), cell_km=12, crs=ALBERS, region_crs=ALBERS)


@pytest.fixture(scope="module")
def values(cells):
    """A synthetic surface: a bump in one corner, a trough in another, plus noise."""
    c = cells.centroid
    rng = np.random.default_rng(42)
    bump = np.exp(-((c.x - 30_000) ** 2 + (c.y - 30_000) ** 2) / 8e8)
    trough = -np.exp(-((c.x - 120_000) ** 2 + (c.y - 90_000) ** 2) / 8e8)
    return pd.Series(2 + bump + trough + 0.2 * rng.random(len(cells)), index=cells.index)


def test_z_and_p_equal_esda_called_directly(cells, values):
    out = gi_star(cells, values, permutations=99, seed=7)
    w = libpysal.weights.Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    ref = esda.G_Local(values.to_numpy(), w, transform="B", star=True, permutations=99,
                       seed=7, n_jobs=1)
    np.testing.assert_allclose(out["gi_z"], ref.Zs, rtol=1e-12)
    np.testing.assert_allclose(out["gi_p"], ref.p_sim, rtol=0)
    norm = gi_star(cells, values, permutations=0, p_value="norm")
    np.testing.assert_allclose(norm["gi_p"], ref.p_norm, rtol=1e-12)
    assert list(out.columns) == ["gi_z", "gi_p", "gi_class"]
    assert out.index.equals(cells.index)


def test_p_sim_is_the_directed_one_sided_pseudo_p_value(cells, values):
    """Guards the documented inference against a change of esda's default."""
    w = libpysal.weights.Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    ref = esda.G_Local(values.to_numpy(), w, transform="B", star=True, permutations=99,
                       seed=11, n_jobs=1, keep_simulations=True)
    sims = ref.rGs  # (n, permutations)
    larger = (sims >= ref.Gs[:, None]).sum(axis=1)
    k = np.minimum(larger, 99 - larger)
    np.testing.assert_allclose(gi_star(cells, values, permutations=99, seed=11)["gi_p"],
                               (k + 1) / 100)


def test_same_seed_same_p_other_seed_other_p(cells, values):
    a = gi_star(cells, values, permutations=99, seed=3)
    b = gi_star(cells, values, permutations=99, seed=3)
    c = gi_star(cells, values, permutations=99, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not np.array_equal(a["gi_p"], c["gi_p"])


def test_classes_follow_the_documented_rule(cells, values):
    for alpha in (0.01, 0.05, 0.1):
        out = gi_star(cells, values, permutations=199, seed=5, alpha=alpha)
        z, p = out["gi_z"].to_numpy(), out["gi_p"].to_numpy()
        expected = np.full(len(z), "not significant", dtype=object)
        for level, text in ((0.1, "90%"), (0.05, "95%"), (0.01, "99%")):
            if level <= alpha:
                expected[(p <= level) & (z > 0)] = "hot spot " + text
                expected[(p <= level) & (z < 0)] = "cold spot " + text
        assert out["gi_class"].tolist() == expected.tolist()
        assert set(out["gi_class"]) <= set(GI_CLASSES)
    out = gi_star(cells, values, permutations=199, seed=5, alpha=0.1)
    c = cells.centroid
    near_bump = ((c.x - 30_000) ** 2 + (c.y - 30_000) ** 2) < 15_000**2
    near_trough = ((c.x - 120_000) ** 2 + (c.y - 90_000) ** 2) < 15_000**2
    assert out.loc[near_bump, "gi_class"].str.startswith("hot spot").all()
    assert out.loc[near_trough, "gi_class"].str.startswith("cold spot").all()


def test_fdr_correction_uses_benjamini_hochberg(cells, values):
    from scipy.stats import false_discovery_control

    raw = gi_star(cells, values, permutations=99, seed=2)
    adj = gi_star(cells, values, permutations=99, seed=2, correction="fdr")
    np.testing.assert_allclose(adj["gi_p"], false_discovery_control(raw["gi_p"]))
    assert (adj["gi_class"] != "not significant").sum() <= (
        raw["gi_class"] != "not significant").sum()


def test_distance_band_weights_use_great_circle_distances(cells, values):
    d = 18.0
    w = spatial_weights(cells, method="distance", distance_km=d)
    ll = cells.centroid.to_crs("EPSG:4326")
    geod = Geod(ellps="WGS84")
    i = int(np.argmin((cells.centroid.x - 75_000) ** 2 + (cells.centroid.y - 60_000) ** 2))
    dist = geod.inv(np.full(len(ll), ll.x.iloc[i]), np.full(len(ll), ll.y.iloc[i]),
                    ll.x.to_numpy(), ll.y.to_numpy())[2] / 1000
    expected = set(np.flatnonzero((dist <= d) & (np.arange(len(ll)) != i)))
    assert set(w.neighbors[i]) == expected
    # centres of the first ring are 12.9 km apart in the plane, the second ring 22.3 km;
    # the plane's scale here is 0.93-1.07, so 18 km holds exactly the first ring
    assert len(expected) == 6
    out = gi_star(cells, values, weights="distance", distance_km=d, permutations=99, seed=1)
    ref = esda.G_Local(values.to_numpy(), w, transform="B", star=True, permutations=99, seed=1,
                       n_jobs=1)
    np.testing.assert_allclose(out["gi_z"], ref.Zs, rtol=1e-12)


def test_ready_weights_are_not_mutated(cells, values):
    w = libpysal.weights.Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    before = w.transform
    out = gi_star(cells, values, weights=w, permutations=99, seed=7)
    assert w.transform == before
    pd.testing.assert_frame_equal(out, gi_star(cells, values, permutations=99, seed=7))


def test_global_random_state_is_restored(cells, values):
    np.random.seed(123)  # noqa: NPY002 - checking the legacy global state on purpose
    expected = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    gi_star(cells, values, permutations=99, seed=9)
    assert np.random.random() == expected  # noqa: NPY002


def test_constant_values_are_not_significant(cells):
    out = gi_star(cells, np.ones(len(cells)), permutations=99)
    assert (out["gi_class"] == "not significant").all() and out["gi_z"].isna().all()


def test_values_by_column_name(cells, values):
    frame = cells.assign(score=values)
    pd.testing.assert_frame_equal(gi_star(frame, "score", permutations=99, seed=1),
                                  gi_star(cells, values, permutations=99, seed=1))


def test_errors(cells, values):
    with pytest.raises(OptionError, match=r"alpha=0.2 is not valid"):
        gi_star(cells, values, alpha=0.2)
    with pytest.raises(OptionError, match=r"p_value='z' is not valid"):
        gi_star(cells, values, p_value="z")
    with pytest.raises(OptionError, match=r"needs permutations >= 1"):
        gi_star(cells, values, permutations=0)
    with pytest.raises(OptionError, match=r"permutations must be an integer >= 0"):
        gi_star(cells, values, permutations=-5)
    with pytest.raises(SchemaError, match=r"finite value in every cell; 1 are missing"):
        gi_star(cells, values.where(values.index != values.index[0]))
    with pytest.raises(SchemaError, match=r"aligned to cells.index"):
        gi_star(cells, values.iloc[::-1])
    with pytest.raises(SchemaError, match=r"values has 3 entries for"):
        gi_star(cells, [1.0, 2.0, 3.0])
    with pytest.raises(OptionError, match=r"needs distance_km > 0"):
        gi_star(cells, values, weights="distance")
    with pytest.raises(OptionError, match=r"distance_km is only used with method='distance'"):
        spatial_weights(cells, method="queen", distance_km=10)
    with pytest.raises(OptionError, match=r"weights must be 'queen'"):
        gi_star(cells, values, weights=np.eye(3))
    small = libpysal.weights.lat2W(2, 2)
    with pytest.raises(SchemaError, match=r"weights cover 4 cells"):
        gi_star(cells, values, weights=small)


def test_zero_inflated_values_give_no_spurious_cold_spots(cells):
    """Most cells 0 (no infrastructure): esda's directed p_sim marks zero cells among zero
    neighbours at p = 1/(P+1); gi_p is raised to the exact hypergeometric probability."""
    c = cells.centroid
    y = np.where(((c.x - 30_000) ** 2 + (c.y - 30_000) ** 2) < 25_000**2, 5.0, 0.0)
    w = libpysal.weights.Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    ref = esda.G_Local(y, w, transform="B", star=True, permutations=99, seed=7, n_jobs=1)
    out = gi_star(cells, y, permutations=99, seed=7)
    n, zeros = len(y), int((y == 0).sum())
    card = np.array([w.cardinalities[i] for i in range(n)])
    neigh_sum = np.array([y[w.neighbors[i]].sum() for i in range(n)])
    interior_zero = (y == 0) & (neigh_sum == 0) & (card == 6)
    assert interior_zero.sum() > 20
    assert (ref.p_sim[interior_zero] == 0.01).all()  # the artefact being corrected
    # exact probability that 6 neighbours drawn from the other n - 1 cells are all zero
    from math import comb

    exact = comb(zeros - 1, 6) / comb(n - 1, 6)
    np.testing.assert_allclose(out["gi_p"].to_numpy()[interior_zero], exact, rtol=1e-9)
    assert (out["gi_class"][interior_zero] == "not significant").all()
    assert out["gi_class"].str.startswith("hot spot").sum() >= 5  # the cluster stays hot
    untouched = ~((y == 0) & (neigh_sum == 0))
    np.testing.assert_array_equal(out["gi_p"].to_numpy()[untouched & (out["gi_z"] > 0)],
                                  ref.p_sim[untouched & (out["gi_z"] > 0).to_numpy()])
