"""Accounts of the served atlas: sign-in, contributor upload, editor publish, audit, and
the security rules (roles, CSRF, uploads, injection, escaping, concurrent publication).

Runs the real application (FastAPI TestClient) on a small SYNTHETIC atlas GeoPackage.
"""

from __future__ import annotations

import io
import re
import threading
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely import LineString, Point, box

from cami_atlas.atlas import Atlas
from cami_atlas.web import contribute
from cami_atlas.web.accounts import AccountStore, hash_password, verify_password
from cami_atlas.web.app import create_app

PASS = {"ana": "ana's long passphrase", "ed": "ed's long passphrase too"}


def _rail(n: int = 2, x0: float = 70.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"infra_type": ["railway"] * n},
                            geometry=[LineString([(x0 + i, 45), (x0 + i + 0.5, 46)])
                                      for i in range(n)], crs="EPSG:4326")


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, tmp_path: Path):
    """The application on a synthetic atlas with accounts in a SQLite file or in a
    PostgreSQL schema of the test cluster (both stores, the same tests)."""
    atlas = Atlas("synthetic test atlas")
    atlas.add_layer("rail", _rail(), "infrastructure", source="synthetic", licence="CC0-1.0")
    atlas.add_layer("land", gpd.GeoDataFrame({"iso3": ["AAA"], "name": ["A"]},
                                             geometry=[box(69, 44, 74, 47)], crs="EPSG:4326"),
                    "country", source="synthetic", licence="CC0-1.0")
    path = atlas.save(tmp_path / "atlas.gpkg")
    where = (request.getfixturevalue("postgis_url") if request.param == "postgresql"
             else tmp_path / "accounts.sqlite")
    store = AccountStore(where)
    store.add_user("ana", "contributor", PASS["ana"])
    store.add_user("ed", "editor", PASS["ed"])
    app = create_app(path, accounts=where, refresh_s=0)
    return app, store, path


def _client(app) -> TestClient:
    return TestClient(app, base_url="http://testserver")


def _login(client: TestClient, name: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    res = client.post("/login", data={"name": name, "password": PASS[name],
                                      "login_csrf": token}, follow_redirects=False)
    assert res.status_code == 303, res.text
    return re.search(r'name="csrf_token" value="([^"]+)"',
                     client.get("/contribute").text).group(1)


def _geojson(gdf: gpd.GeoDataFrame) -> bytes:
    return gdf.to_json().encode()


def _upload(client: TestClient, csrf: str, data: bytes, name: str = "rail_v2.geojson",
            layer: str = "rail", **extra):
    form = {"layer": layer, "source": "survey 2026 (synthetic)", "licence": "CC-BY-4.0",
            "note": extra.pop("note", ""), "csrf_token": csrf}
    return client.post("/contribute", data=form, files={"file": (name, data)},
                       follow_redirects=False, **extra)


def test_password_hashing() -> None:
    h = hash_password("a long passphrase")
    assert h != hash_password("a long passphrase")  # salted
    assert verify_password("a long passphrase", h) and not verify_password("a long pass", h)
    assert not verify_password("x", "md5$abc")


def test_contributor_uploads_editor_publishes(served) -> None:
    app, store, path = served
    ana = _client(app)
    csrf = _login(ana, "ana")
    res = _upload(ana, csrf, _geojson(_rail(5)))
    assert res.status_code == 303 and res.headers["location"] == "/contribute?done=1"
    assert "is waiting for review" in ana.get("/contribute?done=1").text
    sub = store.submissions("pending")[0]
    assert (sub["layer"], sub["n_features"], sub["submitted_by"]) == ("rail", 5, "ana")
    # a contributor cannot publish
    assert ana.post("/review/1/publish", data={"csrf_token": csrf}).status_code == 403
    ed = _client(app)
    ed_csrf = _login(ed, "ed")
    assert "rail_v2.geojson" in ed.get("/review").text
    res = ed.post("/review/1/publish", data={"csrf_token": ed_csrf}, follow_redirects=False)
    assert res.status_code == 303
    layer = ed.get("/api/layers/rail").json()
    assert layer["version"] == 2 and layer["n_features"] == 5
    versions = Atlas.open(path).layer_versions().set_index(["layer", "version"])
    assert versions.loc[("rail", 2), "published_by"] == "ana (reviewed by ed)"
    assert len(Atlas.open(path).read("rail", version=1)) == 2  # the old version is kept
    assert store.submission(1)["status"] == "published" and store.submission(1)["version"] == 2
    actions = [a["action"] for a in store.audit()]
    assert actions[-4:] == ["sign in", "submit", "sign in", "publish"]
    again = ed.post("/review/1/publish", data={"csrf_token": ed_csrf})
    assert again.status_code == 409


def test_every_write_refuses_anonymous_wrong_role_and_bad_csrf(served) -> None:
    app, store, _ = served
    anon = _client(app)
    for url in ("/contribute", "/review/1/publish", "/review/1/reject", "/logout"):
        assert anon.post(url, data={"csrf_token": "x", "layer": "rail", "source": "s",
                                    "licence": "l"},
                         files={"file": ("a.geojson", b"{}")}).status_code == 401, url
    assert anon.get("/review", follow_redirects=False).status_code == 303
    ana = _client(app)
    csrf = _login(ana, "ana")
    assert ana.get("/review").status_code == 403
    assert ana.post("/review/1/reject", data={"csrf_token": csrf}).status_code == 403
    # CSRF: missing, wrong, or another site's form
    assert _upload(ana, "", _geojson(_rail())).status_code == 403
    assert _upload(ana, "forged-token", _geojson(_rail())).status_code == 403
    res = _upload(ana, csrf, _geojson(_rail()), headers={"Origin": "https://evil.example"})
    assert res.status_code == 403 and "another site" in res.text
    # the sign-in form has its own token
    no_token = anon.post("/login", data={"name": "ana", "password": PASS["ana"]})
    assert no_token.status_code == 403
    assert store.submissions() == []
    wrong = _client(app)
    wrong.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', wrong.get("/login").text).group(1)
    bad = wrong.post("/login", data={"name": "ana", "password": "not the password",
                                     "login_csrf": token})
    assert bad.status_code == 401 and "wrong user name or password" in bad.text
    assert store.audit()[-1]["action"] == "failed sign in"


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_bad_uploads_are_refused_and_nothing_is_stored(served, monkeypatch, tmp_path) -> None:
    import tempfile

    app, store, _ = served
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where uploads are checked
    ana = _client(app)
    csrf = _login(ana, "ana")
    cases = [
        (_upload(ana, csrf, b"MZ\x90\x00", name="tool.exe"), "are not accepted"),
        (_upload(ana, csrf, _zip({"../../etc/evil.shp": b"x"}), name="a.zip"),
         "points outside the archive"),
        (_upload(ana, csrf, _zip({"big.shp": b"\0" * 5_000_000}), name="b.zip"),
         "possible zip bomb"),
        (_upload(ana, csrf, b"not json", name="c.geojson"), "c.geojson"),
        (_upload(ana, csrf, _geojson(gpd.GeoDataFrame(
            {"infra_type": ["railway"]}, geometry=[Point(70, 45)], crs="EPSG:4326"))),
         "Point"),
        (_upload(ana, csrf, _geojson(_rail()), layer="rail'; DROP TABLE users;--"),
         "has no layer"),
        (_upload(ana, csrf, b""), "is empty"),
    ]
    monkeypatch.setattr(contribute, "MAX_UPLOAD_BYTES", 1000)
    cases.append((_upload(ana, csrf, _geojson(_rail(40))), "larger than 1,000 bytes"))
    for res, text in cases:
        assert res.status_code == 400, res.text[:300]
        assert text in res.text, (text, re.findall(r'class="error"[^<]*>([^<]*)', res.text))
    assert store.submissions() == []
    assert not any(scratch.iterdir())  # every refused file was deleted
    assert [u["name"] for u in store.users()] == ["ana", "ed"]  # the injection did nothing


def test_hostile_text_is_escaped_in_pages(served) -> None:
    app, _, _ = served
    ana = _client(app)
    csrf = _login(ana, "ana")
    hostile = '<script>alert("x")</script>'
    assert _upload(ana, csrf, _geojson(_rail()), name=f"{hostile}.geojson",
                   note=hostile).status_code == 303
    ed = _client(app)
    _login(ed, "ed")
    for text in (ana.get("/contribute").text, ed.get("/review").text):
        assert hostile not in text and "&lt;script&gt;" in text


def test_two_publications_of_one_layer_keep_both_versions(served) -> None:
    app, store, path = served
    ana = _client(app)
    csrf = _login(ana, "ana")
    for n in (3, 4):
        assert _upload(ana, csrf, _geojson(_rail(n))).status_code == 303
    ed1, ed2 = _client(app), _client(app)
    t1, t2 = _login(ed1, "ed"), _login(ed2, "ed")
    results = {}

    def publish(client, token, sub_id):
        results[sub_id] = client.post(f"/review/{sub_id}/publish", data={"csrf_token": token},
                                      follow_redirects=False).status_code

    threads = [threading.Thread(target=publish, args=(ed1, t1, 1)),
               threading.Thread(target=publish, args=(ed2, t2, 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {1: 303, 2: 303}
    versions = Atlas.open(path).layer_versions()
    rail = versions[versions["layer"] == "rail"].sort_values("version")
    assert rail["version"].tolist() == [1, 2, 3]
    published = {s["id"]: s["version"] for s in store.submissions()}
    later = max(published, key=published.get)
    assert rail["current"].tolist() == [False, False, True]
    assert len(Atlas.open(path).read("rail")) == {1: 3, 2: 4}[later]


def test_users_cli(tmp_path) -> None:
    from click.testing import CliRunner

    from cami_atlas.cli import main

    acc = tmp_path / "acc.sqlite"
    res = CliRunner().invoke(main, ["users", "add", "ed", "--role", "editor", "--accounts",
                                    str(acc), "--password-stdin"],
                             input="a long enough passphrase\n")
    assert res.exit_code == 0, res.output
    short = CliRunner().invoke(main, ["users", "add", "x", "--role", "editor", "--accounts",
                                      str(acc), "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    listing = CliRunner().invoke(main, ["users", "list", "--accounts", str(acc)])
    assert listing.output.startswith("ed ") and "editor" in listing.output


def test_analyses_record_the_published_version(served, tmp_path) -> None:
    """Every command's output set (StagedOutputs with its atlas) records the versions."""
    import pandas as pd

    app, _, path = served
    ana = _client(app)
    assert _upload(ana, _login(ana, "ana"), _geojson(_rail(3))).status_code == 303
    ed = _client(app)
    assert ed.post("/review/1/publish", data={"csrf_token": _login(ed, "ed")},
                   follow_redirects=False).status_code == 303
    out = tmp_path / "layers_out"
    from cami_atlas.pipeline.staging import StagedOutputs

    with StagedOutputs(out, ["x.txt"], atlas=Atlas.open(path)) as folder:
        (folder / "x.txt").write_text("x")
    versions = pd.read_csv(out / "atlas_versions.csv").set_index("layer")
    assert versions.loc["rail", "version"] == 2
    assert versions.loc["rail", "published_by"] == "ana (reviewed by ed)"
    assert versions.loc["land", "version"] == 1


def test_cached_pages_follow_sign_in_and_publication(served) -> None:
    """Pages of readers who are not signed in come from memory; a signed-in user gets
    their own page; a published version refreshes every cached page."""
    app, _, _ = served
    reader = _client(app)
    first = reader.get("/layer/rail")
    assert first.status_code == 200 and "Sign in" in first.text
    assert reader.get("/layer/rail").content == first.content  # served from memory
    assert app.state.service._responses.data, "the page was not cached"
    ed = _client(app)
    ed_csrf = _login(ed, "ed")
    mine = ed.get("/layer/rail").text
    assert "ed (editor)" in mine and "Sign in" not in mine.split("<main")[0]
    assert "ed (editor)" not in reader.get("/layer/rail").text  # no one else's session
    ana = _client(app)
    assert _upload(ana, _login(ana, "ana"), _geojson(_rail(5))).status_code == 303
    assert ed.post("/review/1/publish", data={"csrf_token": ed_csrf},
                   follow_redirects=False).status_code == 303
    after = reader.get("/layer/rail").text
    assert after != first.text and "ana (reviewed by ed)" in after
