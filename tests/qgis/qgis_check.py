"""Open a QGIS project in real QGIS (PyQGIS, offscreen) and report on it as JSON.

Run with the Python that has the ``qgis`` package (Debian: ``python3-qgis``)::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 qgis_check.py project.qgz out_dir [style.qml ...]

Reports whether the project was read, each layer's validity, source, CRS, renderer and
its classes/colours, renders the whole map and each layer alone to PNG in ``out_dir``
(counting the non-white pixels of each), and loads every ``.qml`` given onto a copy of
the layer it belongs to.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsCoordinateTransform,
    QgsMapLayerType,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def _render(project, layers, png: Path) -> dict:
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(project.crs())
    settings.setOutputSize(QSize(640, 480))
    settings.setBackgroundColor(QColor("white"))
    extent = QgsRectangle()
    extent.setMinimal()
    for lyr in layers:
        tr = QgsCoordinateTransform(lyr.crs(), project.crs(), project)
        extent.combineExtentWith(tr.transformBoundingBox(lyr.extent()))
    extent.scale(1.05)
    settings.setExtent(extent)
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    img.save(str(png), "png")
    nonwhite = 0
    for x in range(0, img.width(), 2):
        for y in range(0, img.height(), 2):
            c = img.pixelColor(x, y)
            if (c.red(), c.green(), c.blue()) != (255, 255, 255):
                nonwhite += 1
    return {"png": str(png), "nonwhite": nonwhite, "extent": extent.toString(3),
            "errors": [e.message for e in job.errors()]}


def _describe(lyr) -> dict:
    info = {"name": lyr.name(), "valid": lyr.isValid(), "source": lyr.source(),
            "crs": lyr.crs().authid(), "type": "vector"}
    r = lyr.renderer()
    if lyr.type() == QgsMapLayerType.VectorLayer:
        info["renderer"] = r.type()
        info["features"] = lyr.featureCount()
        if r.type() == "categorizedSymbol":
            info["attr"] = r.classAttribute()
            info["categories"] = [[str(c.value()), c.symbol().color().name()]
                                  for c in r.categories()]
        elif r.type() == "graduatedSymbol":
            info["attr"] = r.classAttribute()
            info["ranges"] = [[x.lowerValue(), x.upperValue(), x.symbol().color().name()]
                              for x in r.ranges()]
        elif r.type() == "singleSymbol":
            info["color"] = r.symbol().color().name()
    else:
        info["type"] = "raster"
        info["renderer"] = r.type()
        fn = r.shader().rasterShaderFunction()
        info["items"] = [[i.value, i.color.name()] for i in fn.colorRampItemList()]
        info["legend"] = [label for label, _ in r.legendSymbologyItems()]
    return info


def main() -> None:
    qgz, out = Path(sys.argv[1]), Path(sys.argv[2])
    qmls = [Path(p) for p in sys.argv[3:]]
    app = QgsApplication([], False)
    app.initQgis()
    project = QgsProject.instance()
    report = {"read": bool(project.read(str(qgz))), "crs": project.crs().authid(),
              "absolute": project.readBoolEntry("Paths", "/Absolute", True)[0]}
    layers = [project.mapLayer(node.layerId()) for node in project.layerTreeRoot().findLayers()]
    report["layers"] = [_describe(lyr) for lyr in layers]
    report["map"] = _render(project, layers, out / "project.png")
    report["per_layer"] = {lyr.name(): _render(project, [lyr], out / f"layer_{i}.png")
                           for i, lyr in enumerate(layers)}
    report["qml"] = {}
    by_source = {Path(lyr.source().split("|")[0]).resolve(): lyr for lyr in layers}
    for qml in qmls:
        stem_matches = [lyr for src, lyr in by_source.items() if src.parent == qml.parent.resolve()
                        and qml.stem.startswith(src.stem)]
        if not stem_matches:
            report["qml"][qml.name] = "no layer"
            continue
        clone = stem_matches[0].clone()
        msg, ok = clone.loadNamedStyle(str(qml))
        report["qml"][qml.name] = "ok" if ok else msg
    print("REPORT " + json.dumps(report), flush=True)
    # leave without QgsApplication.exitQgis(): its teardown crashes in some PyQGIS builds
    # (the report is complete at this point)
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
