"""Tests of cami_atlas.barriers.fragmentation (effective mesh size, Jaeger 2000; CBC, Moser et al. 2007).

Hand cases use synthetic squares in ESRI:102025 metres (named as synthetic), whose fragment
areas are products of side lengths; the real-data check splits the PHYLACINE range of the
Mongolian gazelle by the Natural Earth railroads.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, Point, Polygon, box

from cami_atlas.barriers.fragmentation import (
    effective_mesh_size,
    fragments,
    range_fragmentation,
)
from cami_atlas.errors import (
    CRSError,
    EmptyLayerError,
    GeometryTypeError,
    InvalidGeometryError,
    MissingColumnError,
    OptionError,
    SchemaError,
    UnknownSpeciesError,
    UnknownValueError,
)
from cami_atlas.measure import area_km2

EA = "ESRI:102025"
KM = 1000.0
X0, Y0 = 1_000_000.0, 2_000_000.0  # synthetic square placed inside the CAMI region


def _sq(x1, y1, x2, y2):
    """Box in km relative to the synthetic origin."""
    return box(X0 + x1 * KM, Y0 + y1 * KM, X0 + x2 * KM, Y0 + y2 * KM)


def _line(*pts):
    return LineString([(X0 + x * KM, Y0 + y * KM) for x, y in pts])


def _gs(*geoms, index=None):
    return gpd.GeoSeries(list(geoms), crs=EA, index=index)


SQUARE = _gs(_sq(0, 0, 100, 100))
CROSS = _gs(_line((30, -5), (30, 105)), _line((-5, 60), (105, 60)))


# ------------------------------------------------------------------ CUT, single area


def test_square_cut_into_four_rectangles():
    rects = np.array([30 * 60, 70 * 60, 30 * 40, 70 * 40], dtype=float)  # km²
    total = 100.0 * 100.0
    row = effective_mesh_size(SQUARE, CROSS).iloc[0]
    assert row["procedure"] == "CUT"
    assert row["area_km2"] == pytest.approx(total, rel=1e-12)
    assert row["fragment_area_km2"] == pytest.approx(total, rel=1e-12)
    assert row["m_eff_km2"] == pytest.approx((rects ** 2).sum() / total, rel=1e-9)  # 3016
    assert row["s_eff_per_1000km2"] == pytest.approx(1000.0 / ((rects ** 2).sum() / total))
    assert row["n_fragments"] == 4
    assert row["largest_fragment_share"] == pytest.approx(rects.max() / total, rel=1e-9)
    # CBC agrees when the unit is the area itself
    cbc = effective_mesh_size(SQUARE, CROSS, procedure="CBC").iloc[0]
    assert cbc["m_eff_km2"] == pytest.approx(row["m_eff_km2"], rel=1e-12)


def test_fragments_are_the_rectangles():
    fr = fragments(SQUARE, CROSS)
    assert sorted(fr["area_km2"].round(6)) == [1200.0, 1800.0, 2800.0, 4200.0]
    assert fr.crs == EA and (fr["area_id"] == 0).all()
    expected = [_sq(0, 0, 30, 60), _sq(30, 0, 100, 60), _sq(0, 60, 30, 100), _sq(30, 60, 100, 100)]
    for g in expected:
        assert any(shapely.equals_exact(shapely.normalize(g), shapely.normalize(f), tolerance=1e-6)
                   for f in fr.geometry)


def test_lines_ending_exactly_on_the_boundary_cut():
    lines = _gs(_line((30, 0), (30, 100)), _line((0, 60), (100, 60)))
    assert effective_mesh_size(SQUARE, lines)["n_fragments"].iloc[0] == 4


def test_t_junction_line_ending_on_another_line_cuts():
    lines = _gs(_line((30, -5), (30, 105)), _line((30, 60), (105, 60)))  # starts on x = 30
    rects = np.array([30 * 100, 70 * 60, 70 * 40], dtype=float)
    row = effective_mesh_size(SQUARE, lines).iloc[0]
    assert row["n_fragments"] == 3
    assert row["m_eff_km2"] == pytest.approx((rects ** 2).sum() / 1e4, rel=1e-9)  # 3448


def test_dangling_line_does_not_split():
    lines = _gs(_line((-5, 50), (60, 50)),  # enters from the west, stops inside
                _line((20, 20), (80, 80)))  # wholly inside, touches nothing
    row = effective_mesh_size(SQUARE, lines).iloc[0]
    assert row["n_fragments"] == 1
    assert row["m_eff_km2"] == pytest.approx(1e4, rel=1e-12)
    assert row["largest_fragment_share"] == pytest.approx(1.0)


def test_snap_joins_a_line_stopping_short_of_the_boundary():
    short = _gs(LineString([(X0 + 50 * KM, Y0 - 5 * KM), (X0 + 50 * KM, Y0 + 100 * KM - 0.4)]))
    assert effective_mesh_size(SQUARE, short)["n_fragments"].iloc[0] == 2  # 0.4 m <= 1 m
    assert effective_mesh_size(SQUARE, short, snap_m=0)["n_fragments"].iloc[0] == 1
    far = _gs(LineString([(X0 + 50 * KM, Y0 - 5 * KM), (X0 + 50 * KM, Y0 + 100 * KM - 5.0)]))
    assert effective_mesh_size(SQUARE, far)["n_fragments"].iloc[0] == 1  # 5 m gap stays open
    assert effective_mesh_size(SQUARE, far, snap_m=10)["n_fragments"].iloc[0] == 2


def test_no_cuts_gives_the_area_and_parts_count_separately():
    two = _gs(shapely.union(_sq(0, 0, 10, 10), _sq(20, 0, 50, 10)))  # 100 + 300 km²
    none = gpd.GeoSeries([], crs=EA)
    row = effective_mesh_size(two, none).iloc[0]
    assert row["n_fragments"] == 2
    assert row["m_eff_km2"] == pytest.approx((100 ** 2 + 300 ** 2) / 400, rel=1e-12)
    holed = _gs(Polygon(_sq(0, 0, 100, 100).exterior.coords, [_sq(40, 40, 60, 60).exterior.coords]))
    row = effective_mesh_size(holed, none).iloc[0]
    assert row["n_fragments"] == 1
    assert row["area_km2"] == pytest.approx(1e4 - 400, rel=1e-12)
    assert row["m_eff_km2"] == pytest.approx(1e4 - 400, rel=1e-12)


def test_line_through_a_hole_only_splits_where_it_crosses_land():
    holed = _gs(Polygon(_sq(0, 0, 100, 100).exterior.coords, [_sq(40, 40, 60, 60).exterior.coords]))
    # a line from the west edge to the hole splits nothing (land stays connected round it)
    assert effective_mesh_size(holed, _gs(_line((-5, 50), (50, 50))))["n_fragments"].iloc[0] == 1
    # from edge to edge through the hole: two halves of 4800 km² each
    row = effective_mesh_size(holed, _gs(_line((-5, 50), (105, 50)))).iloc[0]
    assert row["n_fragments"] == 2
    assert row["m_eff_km2"] == pytest.approx(2 * 4800 ** 2 / 9600, rel=1e-9)


def test_each_area_row_is_its_own_unit_and_index_is_kept():
    areas = _gs(_sq(0, 0, 100, 100), _sq(200, 0, 300, 100), index=["a", "b"])
    lines = _gs(_line((50, -5), (50, 105)))  # cuts only "a"
    out = effective_mesh_size(areas, lines)
    assert out.index.tolist() == ["a", "b"]
    assert out["n_fragments"].tolist() == [2, 1]
    assert out["m_eff_km2"].tolist() == pytest.approx([5000.0, 10000.0], rel=1e-9)
    assert list(out.columns) == ["procedure", "area_km2", "fragment_area_km2", "m_eff_km2",
                                 "s_eff_per_1000km2", "n_fragments", "largest_fragment_share"]


# ---------------------------------------------------------------- CUT vs CBC per unit


def test_cut_and_cbc_with_reporting_units():
    lines = _gs(_line((50, -5), (50, 105)))  # two fragments of 5000 km²
    units = gpd.GeoDataFrame({"name": ["mid", "west", "east_out"]},
                             geometry=[_sq(25, 0, 75, 100), _sq(0, 0, 25, 100),
                                       _sq(75, 0, 125, 100)], crs=EA, index=[7, 8, 9])
    cut = effective_mesh_size(SQUARE, lines, reporting_units=units, procedure="CUT")
    cbc = effective_mesh_size(SQUARE, lines, reporting_units=units, procedure="CBC")
    assert cut.index.tolist() == [7, 8, 9]
    # mid: two pieces of 2500 km² in a 5000 km² unit
    assert cut.loc[7, "m_eff_km2"] == pytest.approx((2500 ** 2 + 2500 ** 2) / 5000)  # 2500
    assert cbc.loc[7, "m_eff_km2"] == pytest.approx((2500 * 5000 + 2500 * 5000) / 5000)  # 5000
    # west: one piece of 2500 km² of a 5000 km² fragment, unit 2500 km²
    assert cut.loc[8, "m_eff_km2"] == pytest.approx(2500.0)
    assert cbc.loc[8, "m_eff_km2"] == pytest.approx(2500 * 5000 / 2500)  # 5000
    # east_out: half the unit is outside the landscape (counts as no fragment)
    assert cut.loc[9, "area_km2"] == pytest.approx(5000.0)
    assert cut.loc[9, "fragment_area_km2"] == pytest.approx(2500.0)
    assert cut.loc[9, "m_eff_km2"] == pytest.approx(2500 ** 2 / 5000)  # 1250
    assert cbc.loc[9, "m_eff_km2"] == pytest.approx(2500 * 5000 / 5000)  # 2500
    assert cut.loc[9, "largest_fragment_share"] == pytest.approx(0.5)
    assert (cbc["m_eff_km2"] >= cut["m_eff_km2"]).all()


def test_unit_cutting_one_fragment_twice():
    # U-shaped landscape (7200 km²), a unit over both arms: CUT sees 2 pieces, CBC 1 fragment
    u_shape = _gs(shapely.difference(_sq(0, 0, 100, 100), _sq(30, 30, 70, 100)))
    strip = _gs(_sq(0, 50, 100, 100))
    cut = effective_mesh_size(u_shape, gpd.GeoSeries([], crs=EA), reporting_units=strip).iloc[0]
    cbc = effective_mesh_size(u_shape, gpd.GeoSeries([], crs=EA), reporting_units=strip,
                              procedure="CBC").iloc[0]
    assert cut["n_fragments"] == 2 and cbc["n_fragments"] == 1
    assert cut["m_eff_km2"] == pytest.approx((1500 ** 2 + 1500 ** 2) / 5000)  # 900
    assert cbc["m_eff_km2"] == pytest.approx((1500 + 1500) * 7200 / 5000)  # 4320
    assert cut["largest_fragment_share"] == pytest.approx(1500 / 5000)
    assert cbc["largest_fragment_share"] == pytest.approx(3000 / 5000)


def test_areas_are_computed_in_the_equal_area_crs():
    ll = gpd.GeoSeries([box(100, 45, 102, 46)], crs="EPSG:4326")
    row = effective_mesh_size(ll, gpd.GeoSeries([], crs="EPSG:4326")).iloc[0]
    assert row["area_km2"] == pytest.approx(area_km2(ll).iloc[0], rel=1e-9)
    meridian = gpd.GeoSeries([LineString([(101, 44), (101, 47)])], crs="EPSG:4326")
    assert effective_mesh_size(ll, meridian)["n_fragments"].iloc[0] == 2


def _geod_km2(poly) -> float:
    """Independent geodesic area of a lon/lat polygon whose edges are straight in lon/lat."""
    from pyproj import Geod

    return abs(Geod(ellps="WGS84").geometry_area_perimeter(
        shapely.segmentize(poly, 0.01))[0]) / 1e6


def test_large_lonlat_range_cut_along_a_parallel_by_hand():
    # a 40° x 20° lon/lat range cut by a railway along the 45th parallel and by a meridian
    # at 70° E: four fragments whose areas come from pyproj.Geod, not from the library.
    # Reprojecting only the vertices, the parallel becomes a chord 1.2° north of 45° N at
    # 80° E and the range's edges chords too: m_eff came out 2.9 % too small.
    rng = gpd.GeoDataFrame({"species": ["Ursus_arctos"]}, geometry=[box(60, 35, 100, 55)],
                           crs="EPSG:4326")
    rails = gpd.GeoDataFrame({"barrier_class": ["complete barrier", "complete barrier"]},
                             geometry=[LineString([(59, 45), (101, 45)]),
                                       LineString([(70, 34), (70, 56)])], crs="EPSG:4326")
    parts = [box(60, 35, 70, 45), box(70, 35, 100, 45), box(60, 45, 70, 55),
             box(70, 45, 100, 55)]
    a = np.array([_geod_km2(p) for p in parts])
    a_total = _geod_km2(box(60, 35, 100, 55))
    assert a.sum() == pytest.approx(a_total, rel=1e-9)
    m_eff = (a ** 2).sum() / a_total  # Jaeger 2000, CUT, by hand
    out = range_fragmentation(rng, rails, procedures="CUT").iloc[0]
    assert out["n_fragments"] == 4
    assert out["area_km2"] == pytest.approx(a_total, rel=1e-6)
    assert out["m_eff_km2"] == pytest.approx(m_eff, rel=1e-6)
    assert out["largest_fragment_share"] == pytest.approx(a.max() / a_total, rel=1e-6)
    # the same areas through effective_mesh_size and fragments
    emf = effective_mesh_size(rng, rails).iloc[0]
    assert emf["m_eff_km2"] == pytest.approx(m_eff, rel=1e-6)
    pieces = np.sort(fragments(rng, rails)["area_km2"].to_numpy())
    np.testing.assert_allclose(pieces, np.sort(a), rtol=1e-6)
    # the range's area here is the one area_km2 states for it
    assert out["area_km2"] == pytest.approx(float(area_km2(rng).iloc[0]), rel=1e-12)


def test_mesh_of_a_stored_projected_range_matches_geod():
    # a range stored in Behrmann (EPSG:6933, as the default atlas' ranges) with edges of
    # 2000 km, cut in half by a line along its middle: m_eff = A / 2 of its geodesic area
    from pyproj import Geod, Transformer

    poly = box(6_000_000, 4_000_000, 9_000_000, 5_500_000)  # about 62-93° E, 33-47° N
    rng = gpd.GeoDataFrame({"species": ["Equus_hemionus"]}, geometry=[poly], crs="EPSG:6933")
    cut = gpd.GeoSeries([LineString([(7_500_000, 3_900_000), (7_500_000, 5_600_000)])],
                        crs="EPSG:6933")
    to_ll = Transformer.from_crs("EPSG:6933", "EPSG:4326", always_xy=True)
    dense = shapely.transform(shapely.segmentize(poly, 1000.0),
                              lambda xy: np.column_stack(to_ll.transform(*xy.T)))
    a_total = abs(Geod(ellps="WGS84").geometry_area_perimeter(dense)[0]) / 1e6
    row = effective_mesh_size(rng, cut).iloc[0]
    assert row["area_km2"] == pytest.approx(a_total, rel=1e-5)
    assert row["m_eff_km2"] == pytest.approx(a_total / 2, rel=1e-5)  # two equal halves


# ------------------------------------------------------------------ range_fragmentation


def _ranges():
    return gpd.GeoDataFrame(
        {"species": ["Saiga tatarica", "Saiga_tatarica", "Procapra gutturosa"]},
        geometry=[_sq(0, 0, 100, 50), _sq(0, 50, 100, 100), _sq(200, 0, 300, 100)], crs=EA)


def _infra():
    return gpd.GeoDataFrame(
        {"barrier_class": ["complete barrier", "partial barrier", "not a barrier", "unknown"]},
        geometry=[_line((50, -5), (50, 105)), _line((250, -5), (250, 105)),
                  _line((-5, 20), (105, 20)), _line((-5, 80), (305, 80))], crs=EA)


def test_range_fragmentation_uses_barrier_classes():
    out = range_fragmentation(_ranges(), _infra())
    assert out["species"].tolist() == ["Procapra_gutturosa"] * 2 + ["Saiga_tatarica"] * 2
    assert out["procedure"].tolist() == ["CUT", "CBC"] * 2
    # rows of one species are merged: the saiga square is cut by the complete barrier only
    saiga = out[out["species"] == "Saiga_tatarica"].iloc[0]
    assert saiga["area_km2"] == pytest.approx(1e4)
    assert saiga["n_fragments"] == 2 and saiga["m_eff_km2"] == pytest.approx(5000.0)
    gazelle = out[out["species"] == "Procapra_gutturosa"].iloc[0]
    assert gazelle["n_fragments"] == 2  # the partial barrier cuts too
    only_complete = range_fragmentation(_ranges(), _infra(), species="Procapra gutturosa",
                                        barrier_classes=("complete barrier",), procedures="CUT")
    assert only_complete["n_fragments"].tolist() == [1]
    with_unknown = range_fragmentation(_ranges(), _infra(), species=["Saiga tatarica"],
                                       barrier_classes=("complete barrier", "unknown"))
    assert with_unknown["n_fragments"].tolist() == [4, 4]


def test_range_fragmentation_with_classify_callable_per_species():
    def classify(infra, species):
        value = "complete barrier" if species == "Saiga_tatarica" else "not a barrier"
        return pd.Series(value, index=infra.index, name="barrier_class")

    infra = _infra().drop(columns="barrier_class")
    out = range_fragmentation(_ranges(), infra, classify=classify, procedures=["CUT"])
    assert out.set_index("species")["n_fragments"].to_dict() == {
        "Procapra_gutturosa": 1, "Saiga_tatarica": 6}  # x=50, y=20, y=80 cut the saiga square


def test_range_fragmentation_default_classifier_is_the_cami_matrix():
    from cami_atlas.barriers.classify import classify_barriers

    infra = gpd.GeoDataFrame(
        {"infra_type": ["railway", "road", "fence"],
         "track": ["double track", None, None],
         "road_surface": [None, "paved", None],
         "fence_type": [None, None, "chain link"]},
        geometry=[_line((50, -5), (50, 105)), _line((-5, 50), (105, 50)),
                  _line((-5, 25), (105, 25))], crs=EA)
    ranges = _ranges().iloc[:1]
    out = range_fragmentation(ranges, infra, procedures="CUT")
    expected = range_fragmentation(
        ranges, infra.assign(barrier_class=classify_barriers(infra, "Saiga_tatarica")),
        procedures="CUT")
    pd.testing.assert_frame_equal(out, expected)
    assert out["n_fragments"].iloc[0] > 1  # the matrix rates some of these as barriers


def test_range_fragmentation_per_reporting_unit():
    units = gpd.GeoDataFrame({"iso3": ["KAZ", "MNG"]},
                             geometry=[_sq(-10, -10, 150, 110), _sq(150, -10, 310, 110)],
                             crs=EA).set_index("iso3")
    out = range_fragmentation(_ranges(), _infra(), reporting_units=units, procedures="CBC")
    assert out[["species", "reporting_unit"]].values.tolist() == [
        ["Procapra_gutturosa", "MNG"], ["Saiga_tatarica", "KAZ"]]
    assert out["area_km2"].tolist() == pytest.approx([160 * 120] * 2)
    assert out["m_eff_km2"].tolist() == pytest.approx([2 * 5000 ** 2 / 19200] * 2)


def test_range_fragmentation_errors():
    with pytest.raises(UnknownSpeciesError, match="available"):
        range_fragmentation(_ranges(), _infra(), species="Equus hemionus")
    with pytest.raises(OptionError, match="Did you mean 'CBC'"):
        range_fragmentation(_ranges(), _infra(), procedures="CBS")
    with pytest.raises(OptionError, match="barrier_classes"):
        range_fragmentation(_ranges(), _infra(), barrier_classes=("complete",))
    with pytest.raises(MissingColumnError, match="Did you mean 'Species'"):
        range_fragmentation(_ranges().rename(columns={"species": "Species"}), _infra(),
                            species_col="specie")
    with pytest.raises(SchemaError, match="aligned"):
        range_fragmentation(_ranges(), _infra(), classify=lambda i, s: ["complete barrier"])
    with pytest.raises(UnknownValueError, match="blocking"):
        range_fragmentation(_ranges(), _infra().assign(barrier_class="blocking"))


# ----------------------------------------------------------------------------- errors


def test_errors():
    with pytest.raises(OptionError, match="'CUT', 'CBC'"):
        effective_mesh_size(SQUARE, CROSS, procedure="cut-out")
    with pytest.raises(CRSError, match="geographic"):
        effective_mesh_size(SQUARE, CROSS, crs="EPSG:4326")
    with pytest.raises(CRSError, match="no CRS"):
        effective_mesh_size(gpd.GeoSeries([_sq(0, 0, 1, 1)]), CROSS)
    with pytest.raises(GeometryTypeError, match=r"\.boundary"):
        effective_mesh_size(SQUARE, SQUARE)
    with pytest.raises(GeometryTypeError, match="Polygon/MultiPolygon"):
        effective_mesh_size(_gs(Point(0, 0)), CROSS)
    bowtie = _gs(Polygon([(0, 0), (10, 10), (10, 0), (0, 10)]))
    with pytest.raises(InvalidGeometryError, match="make_valid"):
        effective_mesh_size(bowtie, CROSS)
    with pytest.raises(OptionError, match="snap_m"):
        effective_mesh_size(SQUARE, CROSS, snap_m=-1)
    with pytest.raises(SchemaError, match="GeoDataFrame or GeoSeries"):
        effective_mesh_size([SQUARE.iloc[0]], CROSS)


def test_inputs_not_mutated():
    ranges, infra = _ranges(), _infra()
    r0, i0 = ranges.copy(), infra.copy()
    range_fragmentation(ranges, infra)
    pd.testing.assert_frame_equal(ranges, r0)
    pd.testing.assert_frame_equal(infra, i0)


# -------------------------------------------------------------------------- real data


def test_real_mongolian_gazelle_range_cut_by_railways(real_data):
    ranges = gpd.read_file(real_data / "species" / "phylacine_1.2.1_cami_species_ranges.gpkg",
                           layer="current_range")
    rail = gpd.read_file(real_data / "natural_earth" / "ne_10m_railroads_cami.gpkg")
    rail = rail.assign(barrier_class="complete barrier")  # every railway treated as a barrier
    gazelle = ranges[ranges["species"] == "Procapra gutturosa"]
    range_area = float(area_km2(gazelle).iloc[0])

    out = range_fragmentation(ranges, rail, species="Procapra gutturosa")
    cut = out[out["procedure"] == "CUT"].iloc[0]
    assert cut["species"] == "Procapra_gutturosa"
    assert cut["area_km2"] == pytest.approx(range_area, rel=1e-9)
    assert cut["fragment_area_km2"] == pytest.approx(range_area, rel=1e-6)
    assert cut["m_eff_km2"] <= cut["area_km2"]
    assert cut["n_fragments"] > 1

    fr = fragments(gazelle, rail)
    assert fr["area_km2"].sum() == pytest.approx(range_area, rel=1e-6)
    assert len(fr) == cut["n_fragments"]
    assert cut["m_eff_km2"] == pytest.approx((fr["area_km2"] ** 2).sum() / range_area, rel=1e-9)

    # independent split: the range minus the railways buffered by 1 m, in the same CRS; the
    # edges are cut finely in their own CRS first (range: Behrmann metres, rail: lon/lat) so
    # that they keep their course in ESRI:102025
    assert gazelle.crs.to_epsg() == 6933 and rail.crs.to_epsg() == 4326
    g = gpd.GeoSeries(shapely.segmentize(gazelle.geometry.values, 1000.0),
                      crs=gazelle.crs).to_crs("ESRI:102025").iloc[0]
    rail_ea = gpd.GeoSeries(shapely.segmentize(rail.geometry.values, 0.01),
                            crs=rail.crs).to_crs("ESRI:102025").values
    rail_ea = rail_ea[shapely.intersects(rail_ea, g)]
    cuts = shapely.union_all(shapely.buffer(rail_ea, 1.0))
    pieces = np.sort(shapely.area(shapely.get_parts(shapely.difference(g, cuts))) / 1e6)
    assert len(pieces) == len(fr) == 8
    np.testing.assert_allclose(np.sort(fr["area_km2"])[-3:], pieces[-3:], rtol=1e-3)

    # no cut: m_eff is the whole range
    none = effective_mesh_size(gazelle, rail.iloc[:0]).iloc[0]
    assert none["n_fragments"] == 2  # the range has two parts
    parts = area_km2(gazelle.explode()).to_numpy()
    assert none["m_eff_km2"] == pytest.approx((parts ** 2).sum() / range_area, rel=1e-9)
    one_part = gazelle.explode().iloc[[int(np.argmax(parts))]]
    assert effective_mesh_size(one_part, rail.iloc[:0])["m_eff_km2"].iloc[0] == pytest.approx(
        parts.max(), rel=1e-9)

    # per country: CBC is never below CUT
    countries = gpd.read_file(real_data / "natural_earth" / "ne_50m_admin_0_countries_cami.gpkg")
    countries = countries[countries["ISO_A3"].isin(["MNG", "CHN"])]
    by_country = range_fragmentation(gazelle, rail, reporting_units=countries.set_index("ISO_A3"))
    wide = by_country.pivot(index="reporting_unit", columns="procedure", values="m_eff_km2")
    assert set(wide.index) == {"MNG", "CHN"}
    assert (wide["CBC"] >= wide["CUT"] * (1 - 1e-12)).all()
    assert (wide["CBC"] > wide["CUT"]).any()


def test_remaining_error_paths():
    with pytest.raises(SchemaError, match="ranges must be a GeoDataFrame"):
        range_fragmentation(_ranges().geometry, _infra())
    with pytest.raises(SchemaError, match="infra must be a GeoDataFrame"):
        range_fragmentation(_ranges(), _infra().geometry)
    empty = _ranges().assign(geometry=None)
    with pytest.raises(EmptyLayerError, match="no species with a range geometry"):
        range_fragmentation(empty, _infra())
    with pytest.raises(CRSError, match="not a CRS pyproj understands"):
        effective_mesh_size(SQUARE, CROSS, crs="EPSG:not-a-code")
