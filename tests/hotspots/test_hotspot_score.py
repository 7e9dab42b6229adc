"""Barrier-pressure score: hand-computed cells and weights-table errors (synthetic data)."""

from __future__ import annotations

import csv

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod, Transformer
from shapely import LineString, Point, box

from cami_atlas.errors import LayerReadError, MissingColumnError, SchemaError, UnknownValueError
from cami_atlas.hotspots import (
    barrier_pressure,
    default_weights_path,
    hotspot_grid,
    load_weights,
    pressure_components,
)
from cami_atlas.schema import BARRIER_CLASSES

ALBERS = "ESRI:102025"
GEOD = Geod(ellps="WGS84")
TO_LL = Transformer.from_crs(ALBERS, "EPSG:4326", always_xy=True)


def _csv_weights(path):
    """Read the weights CSV with the csv module (independent of the library's reader)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    header, body = rows[0], rows[1:]
    gi, ni, wi = header.index("group"), header.index("name"), header.index("weight")
    return {(r[gi], r[ni]): float(r[wi]) for r in body}


def _meridian_10km(x, y):
    """A 2-vertex line in EPSG:4326 due north from projected (x, y), exactly 10 km geodesic."""
    lon, lat = TO_LL.transform(x, y)
    lon2, lat2, _ = GEOD.fwd(lon, lat, 0.0, 10_000.0)
    return LineString([(lon, lat), (lon2, lat2)])


@pytest.fixture(scope="module")
def toy():
    """Squares of 25 km: cell A crossed by 10 km of a complete barrier for two species, cell B by
    10 km of a partial barrier for one species, cell C holds two crossings."""
    region = gpd.GeoDataFrame(geometry=[box(0, 0, 75_000, 50_000)], crs=ALBERS)
    ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica", "Equus_hemionus"]},
                              geometry=[box(-1e5, -1e5, 2e5, 2e5)] * 2, crs=ALBERS)
    infra = gpd.GeoDataFrame(
        {"infra_type": ["railway", "road"],
         "Saiga_tatarica": ["complete barrier", "partial barrier"],
         "Equus_hemionus": ["complete barrier", "not a barrier"]},
        geometry=[_meridian_10km(12_500, 5_000), _meridian_10km(37_500, 5_000)],
        crs="EPSG:4326")
    crossings = gpd.GeoDataFrame(geometry=[Point(60_000, 10_000), Point(62_000, 12_000)],
                                 crs=ALBERS)
    return region, ranges, infra, crossings


def test_hand_computed_scores_from_the_shipped_weights(toy):
    region, ranges, infra, crossings = toy
    w = _csv_weights(default_weights_path())
    out = hotspot_grid(infra, ranges, region=region, cell_km=25, shape="square",
                       crossings=crossings, permutations=99).set_index("cell_id")
    assert len(out) == 6
    a, b, c = out.loc["r0_c0"], out.loc["r0_c1"], out.loc["r0_c2"]
    area = 625.0
    assert a["area_km2"] == pytest.approx(area)
    assert a["km_railway"] == pytest.approx(10.0, rel=1e-9)
    assert a["species_km_complete_barrier"] == pytest.approx(20.0, rel=1e-9)  # 10 km x 2 spp
    assert b["species_km_partial_barrier"] == pytest.approx(10.0, rel=1e-9)
    assert b["species_km_not_a_barrier"] == pytest.approx(10.0, rel=1e-9)
    assert c["crossings"] == 2 and a["n_species"] == 2
    x_a = w["barrier_class", "complete barrier"] * 20 / area
    x_b = (w["barrier_class", "partial barrier"] * 10
           + w["barrier_class", "not a barrier"] * 10) / area
    assert a["barrier_km_per_km2"] == pytest.approx(x_a, rel=1e-9)
    assert b["barrier_km_per_km2"] == pytest.approx(x_b, rel=1e-9)
    assert c["crossings_per_km2"] == pytest.approx(2 / area)
    wb, wc = w["component", "barrier"], w["component", "crossings"]
    total = wb + wc
    assert a["score"] == pytest.approx((wb * 1.0 + wc * 0) / total, rel=1e-9)
    assert b["score"] == pytest.approx(wb * (x_b / x_a) / total, rel=1e-9)
    assert c["score"] == pytest.approx(wc * 1.0 / total, rel=1e-9)
    assert out.loc["r1_c0", "score"] == 0
    # with the shipped defaults: 1/1.5, 0.25/1.5, 0.5/1.5
    assert [a["score"], b["score"], c["score"]] == pytest.approx([2 / 3, 1 / 6, 1 / 3])
    raw = barrier_pressure(out, normalise="none")
    assert raw["r0_c0"] == pytest.approx(wb * x_a)
    assert raw["r0_c2"] == pytest.approx(wc * 2 / area)


def test_user_weights_file_changes_the_score_as_the_formula_says(toy, tmp_path):
    region, ranges, infra, crossings = toy
    text = default_weights_path().read_text(encoding="utf-8")
    text = text.replace("barrier_class,not a barrier,0.0", "barrier_class,not a barrier,0.5")
    text = text.replace("component,crossings,0.5", "component,crossings,3")
    path = tmp_path / "w.csv"
    path.write_text(text, encoding="utf-8")
    out = hotspot_grid(infra, ranges, region=region, cell_km=25, shape="square",
                       crossings=crossings, permutations=99, weights=path).set_index("cell_id")
    x_a, x_b = 20 / 625, (0.5 * 10 + 0.5 * 10) / 625
    assert out.loc["r0_c1", "score"] == pytest.approx(1 * (x_b / x_a) / 4)
    assert out.loc["r0_c2", "score"] == pytest.approx(3 / 4)


def test_components_absent_and_all_zero():
    t = pd.DataFrame({"area_km2": [100.0, 50.0], "species_km_complete_barrier": [0.0, 0.0],
                      "connectivity": [np.nan, 2.0]}, index=["p", "q"])
    x = pressure_components(t)
    assert list(x.columns) == ["barrier_km_per_km2", "connectivity"]
    assert x["connectivity"].tolist() == [0.0, 2.0]  # NaN counts 0
    s = barrier_pressure(t)
    # barrier is 0 everywhere: adds 0 but keeps its weight 1 in the denominator 1 + 0.5
    assert s.tolist() == pytest.approx([0.0, 0.5 / 1.5])
    assert s.name == "score" and list(s.index) == ["p", "q"]
    assert barrier_pressure(pd.DataFrame({"area_km2": [1.0]})).tolist() == [0.0]


def test_load_weights_default_rows():
    w = load_weights()
    assert set(w.loc[w.group == "barrier_class", "name"]) == set(BARRIER_CLASSES)
    assert len(w) == 8 and w["weight"].dtype == float
    expected = _csv_weights(default_weights_path())
    got = {(g, n): v for g, n, v in w.itertuples(index=False)}
    assert got == expected


def _write(tmp_path, body):
    p = tmp_path / "weights.csv"
    p.write_text("# my weights\n" + body, encoding="utf-8")
    return p


GOOD = """group,name,weight
barrier_class,complete barrier,1
barrier_class,partial barrier,0.5
barrier_class,unknown,0.5
barrier_class,not a barrier,0
component,barrier,1
component,crossings,0.5
component,track_crossings,0.5
component,connectivity,0.5
"""


def test_weights_csv_errors(tmp_path):
    assert len(load_weights(_write(tmp_path, GOOD))) == 8
    with pytest.raises(SchemaError, match=r"missing weight for barrier_class 'unknown'"):
        load_weights(_write(tmp_path, GOOD.replace("unknown,0.5", "unknown,")))
    with pytest.raises(SchemaError, match=r"missing weight for barrier class 'partial barrier'"):
        load_weights(_write(tmp_path, GOOD.replace("barrier_class,partial barrier,0.5\n", "")))
    with pytest.raises(SchemaError, match=r"missing weight for component 'connectivity'"):
        load_weights(_write(tmp_path, GOOD.replace("component,connectivity,0.5\n", "")))
    with pytest.raises(UnknownValueError, match=r"unknown barrier class 'complete' \(use one of"):
        load_weights(_write(tmp_path, GOOD.replace("complete barrier,1", "complete,1")))
    with pytest.raises(UnknownValueError, match=r"unknown component 'species'"):
        load_weights(_write(tmp_path, GOOD + "component,species,1\n"))
    with pytest.raises(UnknownValueError, match=r"unknown group 'class'"):
        load_weights(_write(tmp_path, GOOD + "class,unknown,1\n"))
    with pytest.raises(SchemaError, match=r"weight -1.0 of component 'barrier' must be finite"):
        load_weights(_write(tmp_path, GOOD.replace("component,barrier,1", "component,barrier,-1")))
    with pytest.raises(SchemaError, match=r"weight 'high' of component 'barrier' is not a number"):
        load_weights(_write(tmp_path, GOOD.replace("component,barrier,1", "component,barrier,high")))
    with pytest.raises(SchemaError, match=r"component 'crossings' is given more than once"):
        load_weights(_write(tmp_path, GOOD + "component,crossings,2\n"))
    with pytest.raises(MissingColumnError, match=r"lacks column\(s\) \['weight'\]"):
        load_weights(_write(tmp_path, GOOD.replace("group,name,weight", "group,name,w")))
    with pytest.raises(LayerReadError, match=r"does not exist"):
        load_weights(tmp_path / "nope.csv")
    with pytest.raises(SchemaError, match=r"must be a path to a CSV or a DataFrame"):
        load_weights({"complete barrier": 1})
    frame = pd.read_csv(_write(tmp_path, GOOD), comment="#")
    frame.loc[0, "weight"] = np.nan
    with pytest.raises(SchemaError, match=r"missing weight for barrier_class 'complete barrier'"):
        barrier_pressure(pd.DataFrame({"area_km2": [1.0]}), weights=frame)


def test_score_input_errors():
    with pytest.raises(MissingColumnError, match=r"no column 'area_km2'"):
        barrier_pressure(pd.DataFrame({"crossings": [1]}))
    with pytest.raises(SchemaError, match=r"area_km2 must be finite and > 0"):
        barrier_pressure(pd.DataFrame({"area_km2": [0.0], "crossings": [1]}))
    with pytest.raises(ValueError, match=r"normalise='minmax' is not valid"):
        barrier_pressure(pd.DataFrame({"area_km2": [1.0]}), normalise="minmax")
