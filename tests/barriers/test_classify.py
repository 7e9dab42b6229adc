"""Barrier classification per species (2017 atlas rule)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString

from cami_atlas.barriers import classify_barriers, classify_barriers_many
from cami_atlas.errors import MissingColumnError, OptionError, SchemaError, UnknownSpeciesError
from cami_atlas.schema import BARRIER_CLASSES


def _toy_matrix() -> pd.DataFrame:
    """A hand-made matrix for one species with every kind of row."""
    rows = [
        # class, infrastructure, attribute, value
        ("not a barrier", "road", "type1", "local road"),
        ("not a barrier", "road", "type_", "unpaved"),
        ("partial barrier", "road", "type1", "major road"),
        ("complete barrier", "road", "traffic", "high [>= 1 car/minute]"),
        ("unknown", "road", "type_", "paved"),
        ("not a barrier", "railroad", "track", "single track"),
        ("complete barrier", "railroad", "speed", "high speed train"),
        ("partial barrier", "fence", "fence_height_m", "1.5"),  # an atlas column directly
    ]
    return pd.DataFrame([{"species": "Testus_animalis", "infrastructure": i, "attribute": a,
                          "value": v, "barrier_class": c} for c, i, a, v in rows])


def _segments() -> gpd.GeoDataFrame:
    rows = [
        # name, infra_type, road_class, road_surface, traffic, track, train_speed, height_m
        ("local", "road", "local road", None, None, None, None, None),
        ("local+high traffic", "road", "local road", None, "high", None, None, None),
        ("major", "road", "major road", None, None, None, None, None),
        ("major+unpaved", "road", "major road", "unpaved", None, None, None, None),
        ("paved only", "road", None, "paved", None, None, None, None),
        ("no attributes", "road", None, None, None, None, None, None),
        ("single rail", "railway", None, None, None, "single", None, None),
        ("single fast rail", "railway", None, None, None, "single track", "high speed", None),
        ("track on a road", "road", None, None, None, "single track", None, None),
        ("fence 1.5 m", "fence", None, None, None, None, None, 1.5),
        ("fence 2 m", "fence", None, None, None, None, None, 2.0),
        ("canal", "canal", None, None, None, None, None, None),
        ("power line", "power_line", None, None, None, None, None, None),
    ]
    cols = ["name", "infra_type", "road_class", "road_surface", "traffic", "track",
            "train_speed", "fence_height_m"]
    df = pd.DataFrame(rows, columns=cols, index=pd.Index(range(100, 100 + len(rows)),
                                                         name="seg"))
    geoms = [LineString([(i, 0), (i, 1)]) for i in range(len(df))]
    return gpd.GeoDataFrame(df, geometry=geoms, crs="EPSG:4326")


EXPECTED = {
    "local": "not a barrier",
    "local+high traffic": "complete barrier",  # not-a-barrier AND complete -> complete
    "major": "partial barrier",
    "major+unpaved": "partial barrier",  # partial overrides not a barrier
    "paved only": "unknown",  # only an `unknown` row matches -> stays unknown
    "no attributes": "unknown",
    "single rail": "not a barrier",  # alias 'single' normalised
    "single fast rail": "complete barrier",
    "track on a road": "unknown",  # a railroad condition does not apply to roads
    "fence 1.5 m": "partial barrier",
    "fence 2 m": "unknown",
    "canal": "unknown",
    "power line": "unknown",
}


def test_precedence_by_hand():
    seg = _segments()
    before = seg.copy()
    got = classify_barriers(seg, "Testus animalis", matrix=_toy_matrix())
    assert got.name == "barrier_class"
    assert got.index.equals(seg.index)
    assert dict(zip(seg["name"], got, strict=True)) == EXPECTED
    pd.testing.assert_frame_equal(seg, before)  # caller's data untouched


def test_unknown_rows_never_change_anything():
    m = _toy_matrix()
    only_unknown = m.assign(barrier_class="unknown")
    got = classify_barriers(_segments(), "Testus_animalis", matrix=only_unknown)
    assert set(got) == {"unknown"}
    # dropping the `unknown` rows gives the same result as keeping them
    rated = m[m.barrier_class != "unknown"]
    pd.testing.assert_series_equal(
        classify_barriers(_segments(), "Testus_animalis", matrix=rated),
        classify_barriers(_segments(), "Testus_animalis", matrix=m))


def test_row_order_does_not_matter():
    m = _toy_matrix()
    shuffled = m.sample(frac=1.0, random_state=3)
    pd.testing.assert_series_equal(
        classify_barriers(_segments(), "Testus_animalis", matrix=shuffled),
        classify_barriers(_segments(), "Testus_animalis", matrix=m))


def test_2017_matrix_cases():
    # hand-read from cami_barrier_matrix_2017.csv
    seg = pd.DataFrame({
        "infra_type": ["railway", "railway", "railway", "road", "road", "fence", "pipeline",
                       "pipeline"],
        "track": ["single track", "double track", None, None, None, None, None, None],
        "train_speed": [None, None, "low", None, None, None, None, None],
        "road_class": [None, None, None, "highway", "local road", None, None, None],
        "traffic": [None, None, None, None, "medium", None, None, None],
        "fence_type": [None, None, None, None, None, "chain link", None, None],
        "pipeline_buried": [None, None, None, None, None, None, "yes", "no"],
    })
    saiga = classify_barriers(seg, "Saiga_tatarica").tolist()
    assert saiga == ["partial barrier", "complete barrier", "partial barrier",
                     "complete barrier", "partial barrier", "partial barrier",
                     "not a barrier", "complete barrier"]
    # Mongolian gazelle: single track not a barrier, double track only `unknown` rows
    gazelle = classify_barriers(seg, "Mongolian gazelle").tolist()
    assert gazelle[:5] == ["not a barrier", "unknown", "not a barrier", "partial barrier",
                           "partial barrier"]
    assert gazelle[5] == "complete barrier"  # chain link
    assert gazelle[6:] == ["unknown", "unknown"]  # pipelines: only unknown rows
    # wild camel: every railway row with a track value is complete
    assert classify_barriers(seg, "wild camel").tolist()[:2] == ["complete barrier"] * 2


def test_many_wide_and_long_agree():
    seg = _segments()
    wide = classify_barriers_many(seg, ["saiga", "khulan", "Panthera uncia"])
    assert list(wide.columns) == ["saiga", "khulan", "Panthera uncia"]
    assert wide.index.equals(seg.index)
    for name in wide.columns:
        pd.testing.assert_series_equal(wide[name], classify_barriers(seg, name), check_names=False)
    long = classify_barriers_many(seg, ["saiga", "khulan"], layout="long")
    assert len(long) == 2 * len(seg)
    assert long["matrix_species"].unique().tolist() == ["Saiga_spp", "Equus_hemionus"]
    back = long.pivot(index="feature", columns="species", values="barrier_class")
    assert (back.loc[seg.index, "saiga"].to_numpy() == wide["saiga"].to_numpy()).all()
    everyone = classify_barriers_many(seg)
    assert len(everyone.columns) == 10
    assert set(np.unique(everyone.to_numpy())) <= set(BARRIER_CLASSES)


def test_bool_and_numeric_columns():
    m = pd.DataFrame([
        {"species": "Testus_animalis", "infrastructure": "fence", "attribute": "covered",
         "value": "yes", "barrier_class": "complete barrier"},
    ])
    seg = pd.DataFrame({"infra_type": ["fence", "fence", "fence"],
                        "fence_covered": [True, False, None]})
    seg["fence_covered"] = seg["fence_covered"].astype("boolean")
    got = classify_barriers(seg, "Testus_animalis", matrix=m).tolist()
    assert got == ["complete barrier", "unknown", "unknown"]


def test_errors():
    seg = _segments()
    with pytest.raises(UnknownSpeciesError, match="'Equus kiang' is not in the barrier matrix"):
        classify_barriers(seg, "Equus kiang")
    with pytest.raises(MissingColumnError, match=r"no column 'infra_type' \(found 'infra_typ'"):
        classify_barriers(seg.rename(columns={"infra_type": "infra_typ"}), "saiga")
    bad = pd.DataFrame([{"species": "Testus_animalis", "infrastructure": "canal",
                         "attribute": "linning", "value": "concrete",
                         "barrier_class": "complete"}])
    canals = pd.DataFrame({"infra_type": ["canal"], "lining": ["concrete"]})
    with pytest.raises(MissingColumnError, match=r"attribute 'linning'.*closest column: 'lining'"):
        classify_barriers(canals, "Testus_animalis", matrix=bad)
    ok = bad.assign(attribute="lining")
    assert classify_barriers(canals, "Testus_animalis", matrix=ok).tolist() == [
        "complete barrier"]
    with pytest.raises(OptionError, match="layout='tall' is not valid; use one of: 'wide', 'long'"):
        classify_barriers_many(seg, ["saiga"], layout="tall")
    with pytest.raises(SchemaError, match="expected a \\(Geo\\)DataFrame, got list"):
        classify_barriers([1, 2], "saiga")
