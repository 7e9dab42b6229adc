"""The barrier analysis counts the existing network only unless asked (issue 15)."""

import geopandas as gpd
import pytest
from shapely import LineString, box

from cami_atlas.atlas import Atlas
from cami_atlas.pipeline.barriers import analyse_atlas


def test_planned_lines_left_out_unless_included(tmp_path):
    """SYNTHETIC atlas: a 100 km range crossed by an existing and a planned railway."""
    crs = "EPSG:32642"
    atlas = Atlas("synthetic", region=box(60, 40, 75, 50))
    kw = {"source": "synthetic test data", "licence": "CC0-1.0"}
    atlas.add_layer(
        "ranges",
        gpd.GeoDataFrame(
            {"species": ["Saiga_tatarica"]}, geometry=[box(500_000, 5e6, 600_000, 5.1e6)], crs=crs
        ),
        "species_range",
        **kw,
    )
    atlas.add_layer(
        "rail",
        gpd.GeoDataFrame(
            {
                "infra_type": ["railway", "railway"],
                "track": ["double track"] * 2,
                "status": ["existing", "planned"],
                "project_name": [None, "Hypothetical line A"],
                "expected_year": [None, 2030],
            },
            geometry=[
                LineString([(450_000, 5.02e6), (700_000, 5.02e6)]),
                LineString([(450_000, 5.06e6), (700_000, 5.06e6)]),
            ],
            crs=crs,
        ),
        "infrastructure",
        **kw,
    )
    path = tmp_path / "synthetic.gpkg"
    atlas.save(path)
    atlas = Atlas.open(path)
    res = analyse_atlas(atlas, fragmentation=False)
    assert res.lengths["length_km"].sum() == pytest.approx(100.0, rel=2e-3)
    assert any("1 line(s) under construction, planned or proposed left out" in n for n in res.notes)
    both = analyse_atlas(atlas, fragmentation=False, include_planned=True)
    assert both.lengths["length_km"].sum() == pytest.approx(200.0, rel=2e-3)
    stored = atlas.read("rail")
    assert stored["project_name"].tolist()[1] == "Hypothetical line A"
    assert int(stored["expected_year"].tolist()[1]) == 2030
