"""folium elements written for cami_atlas: GeoJSON features with pre-escaped popups,
clustered point markers, legends that follow their layer, a title, a layer control
that also lists layers added after it.

All content that reaches the page as HTML was escaped in :mod:`._html`; data travel
as ``script_json`` (``<`` written ``\\u003c``).
"""

from __future__ import annotations

from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.plugins import MarkerCluster
from folium.template import Template

from ._html import CSS, JS_HELPERS, script_json


class StyleSheet(Element):
    """The CSS of popups, legends and the title and the popup-building helper
    ``camiAtlas`` (added once per figure, in the page header)."""

    _template = Template("<style>{{ this.css }}</style><script>{{ this.js }}</script>")

    def __init__(self) -> None:
        super().__init__()
        self._name = "CamiStyleSheet"
        self.css = CSS
        self.js = JS_HELPERS

    def render(self, **kwargs: Any) -> None:
        self.get_root().header.add_child(Element(self._template.render(this=self)),
                                         name="cami_atlas_css")


#: Leaflet panes of the layers, bottom to top (overlayPane is 400, markerPane 600).
PANES: dict[str, int] = {"camiRasters": 360, "camiPolygons": 380, "camiLines": 400,
                         "camiPoints": 420}


class Panes(MacroElement):
    """Creates the panes of :data:`PANES` on the map so that rasters stay under
    polygons, polygons under lines and lines under points, whatever the order in
    which layers were added."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var panes = {{ this.panes_js }};
            Object.keys(panes).forEach(function (name) {
                if (!map.getPane(name)) { map.createPane(name); }
                map.getPane(name).style.zIndex = panes[name];
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "CamiPanes"
        self.panes_js = script_json(PANES)


class VectorFeatures(MacroElement):
    """A ``L.geoJson`` layer whose features carry a style key ``k``, optionally a fill
    colour ``c``, and the codes of their popup and tooltip in ``table``
    (:class:`._html.PopupTable`, all text escaped)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }}_styles = {{ this.styles_js }};
        var {{ this.get_name() }}_table = {{ this.table_js }};
        var {{ this.get_name() }} = L.geoJson({{ this.data_js }}, {
            {%- if this.pane %}
            pane: {{ this.pane|tojson }},
            {%- endif %}
            style: function (f) {
                var s = Object.assign({}, {{ this.get_name() }}_styles[f.properties.k] || {});
                if (f.properties.c) { s.fillColor = f.properties.c; }
                return s;
            },
            pointToLayer: function (f, latlng) {
                var s = Object.assign({}, {{ this.get_name() }}_styles[f.properties.k] || {});
                if (f.properties.c) { s.fillColor = f.properties.c; }
                return L.circleMarker(latlng, s);
            }
        });
        camiAtlas.bindGroup({{ this.get_name() }}, {{ this.get_name() }}_table);
        {%- if this.order %}
        {{ this.get_name() }}.on("add", function () { this.{{ this.order }}(); });
        {%- endif %}
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, features: str, styles: dict[str, dict[str, Any]],
                 table: dict[str, Any], *, pane: str | None = "camiLines",
                 order: str | None = None) -> None:
        super().__init__()
        self._name = "CamiVectorFeatures"
        self.pane = pane
        self.order = order  # "bringToBack" / "bringToFront" (one shared canvas: no panes)
        self.table_js = script_json(table)
        self.data_js = '{"type":"FeatureCollection","features":[' + features + "]}"
        self.styles_js = script_json(styles)


class ClusteredPoints(MarkerCluster):
    """A Leaflet.markercluster layer filled from one compact array ``[lat, lon, props]``
    per point (``props`` as in :class:`VectorFeatures`), drawn as round dots."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.markerClusterGroup({{ this.options|tojavascript }});
        (function () {
            var colors = {{ this.colors_js }}, table = {{ this.table_js }};
            var icons = {};
            Object.keys(colors).forEach(function (k) {
                var span = document.createElement("span");
                span.style.background = colors[k];
                icons[k] = L.divIcon({className: "cami-dot", html: span.outerHTML,
                                      iconSize: [12, 12], iconAnchor: [6, 6],
                                      popupAnchor: [0, -6]});
            });
            var pts = {{ this.points_js }};
            var markers = [];
            for (var i = 0; i < pts.length; i++) {
                var p = pts[i];
                var m = L.marker([p[0], p[1]], {icon: icons[p[2].k]});
                camiAtlas.bind(table, p[2], m);
                markers.push(m);
            }
            {{ this.get_name() }}.addLayers(markers);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, points: list[list[Any]], colors: dict[str, str],
                 table: dict[str, Any], *, name: str, show: bool = True,
                 **options: Any) -> None:
        super().__init__(name=name, show=show, options=options or None)
        self._name = "CamiClusteredPoints"
        self.points_js = script_json(points)
        self.colors_js = script_json(colors)
        self.table_js = script_json(table)


class Legend(MacroElement):
    """A Leaflet control with trusted (escaped) HTML, shown while ``layer`` is on the map.

    Legends sit bottom-left, above the scale bar, so that they never cover the layer
    control (top-right, which grows downwards with every layer).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", "cami-legend");
            div.innerHTML = {{ this.html_js }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {%- if this.layer_name %}
        (function () {
            var map = {{ this._parent.get_name() }}, layer = {{ this.layer_name }};
            var legend = {{ this.get_name() }}, shown = false;
            function sync() {
                var on = map.hasLayer(layer);
                if (on && !shown) { legend.addTo(map); shown = true; }
                if (!on && shown) { legend.remove(); shown = false; }
            }
            map.on("layeradd layerremove", sync);
            sync();
        })();
        {%- else %}
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, layer: folium.map.Layer | None = None,
                 position: str = "bottomleft") -> None:
        super().__init__()
        self._name = "CamiLegend"
        self.html_js = script_json(html)
        self.layer_name = layer.get_name() if layer is not None else None
        self.position = position


class Title(MacroElement):
    """A title box at the top of the map (set as text: never parsed as HTML)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var div = L.DomUtil.create("div", "cami-map-title",
                                       {{ this._parent.get_name() }}.getContainer());
            div.textContent = {{ this.text_js }};
        })();
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "CamiTitle"
        self.text_js = script_json(text)


class DeferredLayerControl(folium.LayerControl):
    """folium's layer control, created once the page's scripts have run, so layers
    added to the map after it (e.g. in a notebook) are listed and never undefined."""

    _template = Template(
        """
        {% macro script(this,kwargs) %}
        (function () {
            function make() {
                var layers = {
                    base_layers : {
                        {%- for key, val in this.base_layers.items() %}
                        {{ key|tojson }} : {{val}},
                        {%- endfor %}
                    },
                    overlays :  {
                        {%- for key, val in this.overlays.items() %}
                        {{ key|tojson }} : {{val}},
                        {%- endfor %}
                    },
                };
                window.{{ this.get_name() }} = L.control.layers(
                    layers.base_layers, layers.overlays,
                    {{ this.options|tojavascript }}
                ).addTo({{ this._parent.get_name() }});
            }
            if (document.readyState === "loading") {
                document.addEventListener("DOMContentLoaded", make);
            } else {
                setTimeout(make, 0);
            }
        })();
        {% endmacro %}
        """
    )
