"""Development tool: re-create the vendored Leaflet assets of ``cami_atlas.maps``.

Not imported by the library. Run it from the project root on a machine with ``npm``
(only the npm registry is contacted)::

    python src/cami_atlas/maps/static/_vendor.py

It packs the npm packages whose versions match the CDN links that folium writes
(``folium/folium.py`` and the plugins used by ``cami_atlas.maps``), copies the
files those links need (plus each package's licence) into this folder and writes
``manifest.json``: CDN URL -> vendored file. Two files are derived here rather than
copied: ``glyphicons/glyphicons.css`` (the glyphicon rules of Bootstrap 3.4.1's
``dist/css/bootstrap.css``, woff2 font only: folium links a stand-alone Bootstrap
3.0.0 glyphicons sheet that no registry carries) and
``awesome-rotate/leaflet.awesome.rotate.css`` (written here: the ``fa-rotate-N``
classes folium's ``Icon(angle=N)`` uses).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: folder -> (npm spec, licence (SPDX), [(file in package, file in folder)])
PACKAGES: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "leaflet": ("leaflet@1.9.3", "BSD-2-Clause", [
        ("dist/leaflet.js", "leaflet.js"),
        ("dist/leaflet.css", "leaflet.css"),
        ("dist/images/layers.png", "images/layers.png"),
        ("dist/images/layers-2x.png", "images/layers-2x.png"),
        ("dist/images/marker-icon.png", "images/marker-icon.png"),
        ("dist/images/marker-icon-2x.png", "images/marker-icon-2x.png"),
        ("dist/images/marker-shadow.png", "images/marker-shadow.png"),
        ("LICENSE", "LICENSE"),
    ]),
    "jquery": ("jquery@3.7.1", "MIT", [
        ("dist/jquery.min.js", "jquery.min.js"),
        ("LICENSE.txt", "LICENSE.txt"),
    ]),
    "bootstrap": ("bootstrap@5.2.2", "MIT", [
        ("dist/js/bootstrap.bundle.min.js", "bootstrap.bundle.min.js"),
        ("dist/css/bootstrap.min.css", "bootstrap.min.css"),
        ("LICENSE", "LICENSE"),
    ]),
    "glyphicons": ("bootstrap@3.4.1", "MIT", [
        ("dist/fonts/glyphicons-halflings-regular.woff2",
         "fonts/glyphicons-halflings-regular.woff2"),
        ("LICENSE", "LICENSE"),
    ]),
    "awesome-markers": ("drmonty-leaflet-awesome-markers@2.0.2", "MIT", [
        ("js/leaflet.awesome-markers.js", "leaflet.awesome-markers.js"),
        ("css/leaflet.awesome-markers.css", "leaflet.awesome-markers.css"),
        ("css/images/markers-soft.png", "images/markers-soft.png"),
        ("css/images/markers-soft@2x.png", "images/markers-soft@2x.png"),
        ("css/images/markers-shadow.png", "images/markers-shadow.png"),
        ("css/images/markers-shadow@2x.png", "images/markers-shadow@2x.png"),
    ]),
    # the 2.0.2 repackaging above ships no licence file: take the project's own (same author)
    "awesome-markers-licence": ("leaflet.awesome-markers@2.0.4", "MIT", [
        ("LICENSE", "../awesome-markers/LICENSE"),
    ]),
    "fontawesome": ("@fortawesome/fontawesome-free@6.2.0", "CC-BY-4.0 AND OFL-1.1 AND MIT", [
        ("css/all.min.css", "css/all.min.css"),
        ("webfonts/fa-brands-400.woff2", "webfonts/fa-brands-400.woff2"),
        ("webfonts/fa-regular-400.woff2", "webfonts/fa-regular-400.woff2"),
        ("webfonts/fa-solid-900.woff2", "webfonts/fa-solid-900.woff2"),
        ("webfonts/fa-v4compatibility.woff2", "webfonts/fa-v4compatibility.woff2"),
        ("LICENSE.txt", "LICENSE.txt"),
    ]),
    "fullscreen": ("leaflet.fullscreen@3.0.0", "MIT", [
        ("Control.FullScreen.js", "Control.FullScreen.js"),
        ("Control.FullScreen.css", "Control.FullScreen.css"),
        ("icon-fullscreen.svg", "icon-fullscreen.svg"),
        ("LICENSE", "LICENSE"),
    ]),
    "measure": ("leaflet-measure@2.1.7", "MIT", [
        ("dist/leaflet-measure.min.js", "leaflet-measure.min.js"),
        ("dist/leaflet-measure.css", "leaflet-measure.css"),
        *[(f"dist/images/{n}{s}.png", f"images/{n}{s}.png")
          for n in ("cancel", "check", "focus", "rulers", "start", "trash") for s in ("", "_@2X")],
        ("LICENSE", "LICENSE"),
    ]),
    "markercluster": ("leaflet.markercluster@1.1.0", "MIT", [
        ("dist/leaflet.markercluster.js", "leaflet.markercluster.js"),
        ("dist/MarkerCluster.css", "MarkerCluster.css"),
        ("dist/MarkerCluster.Default.css", "MarkerCluster.Default.css"),
        ("MIT-LICENCE.txt", "MIT-LICENCE.txt"),
    ]),
}

_JSD = "https://cdn.jsdelivr.net"
_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"
#: the CDN links folium 0.20 writes -> vendored file (relative to this folder)
URLS: dict[str, str] = {
    f"{_JSD}/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/leaflet.js",
    f"{_JSD}/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    f"{_JSD}/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "bootstrap/bootstrap.bundle.min.js",
    f"{_JSD}/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        "glyphicons/glyphicons.css",
    f"{_CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js":
        "awesome-markers/leaflet.awesome-markers.js",
    f"{_CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css":
        "awesome-markers/leaflet.awesome-markers.css",
    f"{_JSD}/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "fontawesome/css/all.min.css",
    f"{_JSD}/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css":
        "awesome-rotate/leaflet.awesome.rotate.css",
    f"{_JSD}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js":
        "fullscreen/Control.FullScreen.js",
    f"{_JSD}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css":
        "fullscreen/Control.FullScreen.css",
    f"{_JSD}/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.js":
        "measure/leaflet-measure.min.js",
    f"{_JSD}/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.css":
        "measure/leaflet-measure.css",
    f"{_CDNJS}/leaflet.markercluster/1.1.0/leaflet.markercluster.js":
        "markercluster/leaflet.markercluster.js",
    f"{_CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.css": "markercluster/MarkerCluster.css",
    f"{_CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.Default.css":
        "markercluster/MarkerCluster.Default.css",
}


def _npm_pack(spec: str, workdir: Path) -> Path:
    out = subprocess.run(["npm", "pack", spec, "--silent"], cwd=workdir, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    dest = workdir / out.removesuffix(".tgz")
    with tarfile.open(workdir / out) as tar:
        tar.extractall(dest, filter="data")
    return dest / "package"


def _glyphicons_css(bootstrap3_css: str) -> str:
    """The @font-face and ``.glyphicon*`` rules of Bootstrap 3, woff2 source only."""
    rules = re.findall(
        r"(?m)^(@font-face \{[^}]*Glyphicons Halflings[^}]*\}|\.glyphicon[^{]*\{[^}]*\})",
        bootstrap3_css)
    out = []
    for rule in rules:
        if rule.startswith("@font-face"):
            rule = ('@font-face {\n  font-family: "Glyphicons Halflings";\n'
                    '  src: url("fonts/glyphicons-halflings-regular.woff2") format("woff2");\n}')
        out.append(rule)
    head = ("/*! Glyphicons rules of Bootstrap v3.4.1 (https://getbootstrap.com/), "
            "Copyright 2011-2019 Twitter, Inc., MIT licence (LICENSE beside this file). "
            "Extracted by cami_atlas (woff2 font only). */\n")
    return head + "\n".join(out) + "\n"


def _rotate_css() -> str:
    """``.fa-rotate-N`` (N = 0..360) for folium's ``Icon(angle=N)``."""
    rules = "".join(f".awesome-marker .fa-rotate-{n}{{transform:rotate({n}deg)}}"
                    for n in range(361))
    return "/* cami_atlas: rotation classes for folium Icon(angle=...). MIT. */\n" + rules + "\n"


def main() -> None:
    for sub in HERE.iterdir():
        if sub.is_dir():
            shutil.rmtree(sub)
    packages = {}
    with tempfile.TemporaryDirectory() as tmp:
        for folder, (spec, licence, files) in PACKAGES.items():
            pkg = _npm_pack(spec, Path(tmp))
            for src, dst in files:
                target = (HERE / folder / dst).resolve()
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(pkg / src, target)
            if folder == "glyphicons":
                css = (pkg / "dist/css/bootstrap.css").read_text(encoding="utf-8")
                (HERE / folder / "glyphicons.css").write_text(_glyphicons_css(css),
                                                              encoding="utf-8")
            if not folder.endswith("-licence"):
                packages[folder] = {"npm": spec, "licence": licence}
    rotate = HERE / "awesome-rotate"
    rotate.mkdir(exist_ok=True)
    (rotate / "leaflet.awesome.rotate.css").write_text(_rotate_css(), encoding="utf-8")
    packages["awesome-rotate"] = {"npm": None, "licence": "MIT (cami_atlas)"}
    files = {}
    for path in sorted(p for p in HERE.rglob("*") if p.is_file()):
        rel = path.relative_to(HERE).as_posix()
        if rel.startswith("_") or rel in ("manifest.json", "README.md"):
            continue
        files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    missing = sorted(set(URLS.values()) - set(files))
    if missing:
        raise SystemExit(f"vendored files missing: {missing}")
    manifest = {"packages": packages, "urls": URLS, "sha256": files}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
