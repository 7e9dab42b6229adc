/* The map viewer of the online atlas: layers as GeoJSON simplified per zoom, rasters as
   Web Mercator map tiles cut from Cloud Optimized GeoTIFFs (one PNG per raster in a static
   copy), filters by species and country, identify on click (raster values too).
   In a static copy (cami-atlas site build) the layers come from files of data/ and are
   filtered in the browser. Every text from the atlas reaches the page through
   textContent, never innerHTML. */
(function () {
  "use strict";
  var COLORS = {country: "#888888", border: "#555555", infrastructure: "#c0392b",
    species_range: "#27ae60", corridor: "#8e44ad", tracks: "#2980b9", water: "#3498db",
    places: "#34495e", protected_area: "#16a085", hotspots: "#e67e22"};
  var config = JSON.parse(document.getElementById("atlas-config").textContent);
  var layers = JSON.parse(document.getElementById("atlas-layers").textContent);
  var text = config.i18n;
  var kinds = {};
  layers.forEach(function (l) { kinds[l.name] = l; });
  // the barrier hotspots the server computed (not a layer of the atlas)
  kinds["@hotspots"] = {name: "@hotspots", kind: "hotspots", storage: "computed"};
  var HOT = {"hot spot 99%": "#b2182b", "hot spot 95%": "#ef8a62",
    "cold spot 95%": "#67a9cf", "cold spot 99%": "#2166ac"};
  var map = L.map("map", {preferCanvas: true, worldCopyJump: false}).setView([42, 78], 4);
  L.control.scale({metric: true, imperial: false}).addTo(map);
  var shown = {};
  var state = window.atlasState = {pending: 0, loaded: {}, errors: [], identified: 0};
  window.atlasMap = map;  // for scripts and tests driving the viewer
  var speciesSel = document.getElementById("species");
  var countrySel = document.getElementById("country");

  function query(extra) {
    var params = new URLSearchParams(extra || {});
    if (speciesSel.value) { params.set("species", speciesSel.value); }
    if (countrySel.value) { params.set("country", countrySel.value); }
    return params;
  }

  var INFRA = {railway: "#c0392b", road: "#d35400", fence: "#6c3483", pipeline: "#1a5276",
    canal: "#2874a6", power_line: "#7d6608"};

  // with a species chosen, lines are coloured by their barrier class for it (CAMI matrix)
  var BARRIER = {"complete barrier": "#d7191c", "partial barrier": "#fdae61",
    "not a barrier": "#1a9641", "unknown": "#7f7f7f"};

  function style(kind) {
    return function (feature) {
      var p = (feature && feature.properties) || {};
      var c = COLORS[kind] || "#444444";
      var filled = kind === "species_range" || kind === "corridor" || kind === "protected_area";
      var s = {color: c, weight: kind === "infrastructure" ? 2 : 1,
        fillOpacity: filled ? 0.25 : (kind === "country" ? 0.03 : 0.1)};
      if (kind === "infrastructure") {
        s.color = p.barrier_class ? (BARRIER[p.barrier_class] || BARRIER.unknown)
          : (INFRA[p.infra_type] || c);
        if (p.barrier_class === "complete barrier") { s.weight = 3; }
        if (p.status && p.status !== "existing") { s.dashArray = "6 4"; }
      }
      return s;
    };
  }

  function remove(name) {
    if (shown[name]) { map.removeLayer(shown[name]); delete shown[name]; }
  }

  function load(name) {
    var info = kinds[name];
    state.pending += 1;
    if (info.storage === "computed") { loadHotspots(name); return; }
    if (info.storage === "geotiff_blob" && !config.static) {
      // map tiles cut from the raster's Cloud Optimized GeoTIFF, at every zoom
      remove(name);
      var tiles = L.tileLayer("/api/layers/" + encodeURIComponent(name) + "/tiles/{z}/{x}/{y}.png",
        {opacity: 1, maxZoom: 18, className: "raster-tiles"});
      var done = false;
      tiles.on("load", function () {
        state.loaded[name] = 1;
        if (!done) { done = true; state.pending -= 1; }
      });
      tiles.on("tileerror", function (e) {
        state.errors.push(name + ": tile " + (e.coords ? [e.coords.z, e.coords.x, e.coords.y].join("/") : ""));
      });
      shown[name] = tiles.addTo(map);
      return;
    }
    if (info.storage === "geotiff_blob") {
      var png = config.static ? config.root + "data/" + encodeURIComponent(name) + ".png"
        : "/api/layers/" + encodeURIComponent(name) + "/png";
      fetch(png).then(function (r) {
        if (!r.ok) { throw new Error(name + ": HTTP " + r.status); }
        var bounds = config.static ? config.rasters[name] : JSON.parse(r.headers.get("X-Bounds"));
        return r.blob().then(function (b) {
          remove(name);
          shown[name] = L.imageOverlay(URL.createObjectURL(b), bounds, {opacity: 0.8}).addTo(map);
          state.loaded[name] = 1;
        });
      }).catch(function (e) { state.errors.push(String(e)); })
        .finally(function () { state.pending -= 1; });
      return;
    }
    var b = map.getBounds().pad(0.2);
    var west = Math.max(-180, b.getWest()), east = Math.min(180, b.getEast());
    var south = Math.max(-90, b.getSouth()), north = Math.min(90, b.getNorth());
    var params = query({zoom: map.getZoom(), bbox: [west, south, east, north].join(",")});
    var address = config.static ? config.root + "data/" + encodeURIComponent(name) + ".geojson"
      : "/api/layers/" + encodeURIComponent(name) + "/geojson?" + params;
    fetch(address).then(function (r) {
      if (!r.ok) { throw new Error(name + ": HTTP " + r.status); }
      return r.json();
    }).then(function (doc) {
      remove(name);
      if (!isChecked(name)) { return; }
      var n = 0;
      shown[name] = L.geoJSON(doc, {style: style(info.kind), filter: function (f) {
        var keep = !config.static || keepFeature(f.properties || {});
        n += keep ? 1 : 0;
        return keep;
      }, pointToLayer: function (f, ll) {
        return L.circleMarker(ll, {radius: 3, color: COLORS[info.kind] || "#444", weight: 1});
      }, onEachFeature: config.static ? function (f, layer) {
        layer.on("click", function (e) { show(e.latlng, [{layer: name, kind: info.kind,
          properties: f.properties || {}}]); });
      } : undefined}).addTo(map);
      state.loaded[name] = n;
    }).catch(function (e) { state.errors.push(String(e)); })
      .finally(function () { state.pending -= 1; });
  }

  function loadHotspots(name) {  // 202 while the server computes them: ask again
    var address = config.static ? config.root + "data/hotspots.geojson" : "/api/hotspots/geojson";
    var attempt = function () {
      fetch(address).then(function (r) {
        if (r.status === 202) { state.hotspots = "computing"; setTimeout(attempt, 3000); return; }
        if (!r.ok) { throw new Error("hotspots: HTTP " + r.status); }
        return r.json().then(function (doc) {
          remove(name);
          if (isChecked(name)) {
            var n = 0;
            shown[name] = L.geoJSON(doc, {
              style: function (f) {
                return {color: HOT[f.properties.gi_class] || "#999999", weight: 0.5,
                  fillOpacity: 0.45};
              },
              filter: function (f) {  // cells over the chosen species' range
                var keep = !speciesSel.value ||
                  (f.properties.species || "").split("; ").indexOf(speciesSel.value) >= 0;
                n += keep ? 1 : 0;
                return keep;
              },
              onEachFeature: function (f, layer) {
                layer.on("click", function (e) {
                  L.DomEvent.stopPropagation(e);
                  show(e.latlng, [{layer: text.hotspots, kind: "hotspots",
                    properties: f.properties || {}}]);
                });
              }
            }).addTo(map);
            state.loaded[name] = n;
          }
          state.hotspots = "shown";
          state.pending -= 1;
        });
      }).catch(function (e) { state.errors.push(String(e)); state.pending -= 1; });
    };
    attempt();
  }

  function keepFeature(p) {  // the filters of a static copy, on the feature's own attributes
    if (speciesSel.value && p.species !== undefined && p.species !== speciesSel.value) {
      return false;
    }
    return !(countrySel.value && p.iso3 !== undefined && p.iso3 !== countrySel.value);
  }

  function isChecked(name) {
    var box = document.querySelector('.layer-toggle[value="' + CSS.escape(name) + '"]');
    return box && box.checked;
  }

  function refresh(rasters, filters) {
    document.querySelectorAll(".layer-toggle").forEach(function (box) {
      if (!box.checked) { remove(box.value); delete state.loaded[box.value]; return; }
      if (box.dataset.storage === "geotiff_blob" && !rasters && shown[box.value]) { return; }
      if (box.dataset.storage === "computed" && !filters && shown[box.value]) { return; }
      load(box.value);
    });
  }

  function links() {
    var sp = document.getElementById("species-link");
    var co = document.getElementById("country-link");
    sp.classList.toggle("hidden", !speciesSel.value);
    sp.href = config.static ? config.root + "species/" + encodeURIComponent(speciesSel.value) + ".html"
      : "/species/" + encodeURIComponent(speciesSel.value);
    sp.textContent = speciesSel.value ? speciesSel.value.replace(/_/g, " ") + ": " + text.species_page : "";
    co.classList.toggle("hidden", !countrySel.value);
    co.href = config.static ? config.root + "country/" + encodeURIComponent(countrySel.value) + ".html"
      : "/country/" + encodeURIComponent(countrySel.value);
    co.textContent = countrySel.value ? countrySel.value + ": " + text.country_page : "";
  }

  var timer = null;
  map.on("moveend", function () {
    clearTimeout(timer);
    if (!config.static) { timer = setTimeout(function () { refresh(false); }, 150); }
  });
  document.querySelectorAll(".layer-toggle").forEach(function (box) {
    box.addEventListener("change", function () {
      if (box.checked) { load(box.value); } else { remove(box.value); delete state.loaded[box.value]; }
    });
  });
  [speciesSel, countrySel].forEach(function (sel) {
    sel.addEventListener("change", function () { links(); refresh(false, true); });
  });

  map.on("click", function (e) {
    if (config.static) { return; }  // features answer their own clicks there
    var names = Array.prototype.map.call(
      document.querySelectorAll(".layer-toggle:checked"), function (b) { return b.value; })
      .filter(function (n) { return kinds[n].storage !== "computed"; });
    var params = new URLSearchParams({lon: e.latlng.lng.toFixed(6), lat: e.latlng.lat.toFixed(6),
      zoom: map.getZoom(), layers: names.join(",")});
    fetch("/api/identify?" + params).then(function (r) { return r.json(); }).then(function (hits) {
      show(e.latlng, hits);
    }).catch(function (err) { state.errors.push(String(err)); });
  });

  function show(latlng, hits) {
      var box = document.getElementById("identify");
      box.replaceChildren();
      var content = document.createElement("div");
      if (!hits.length) { content.textContent = text.nothing; }
      hits.slice(0, 20).forEach(function (hit) {
        var h = document.createElement("h3");
        h.textContent = hit.layer + " (" + hit.kind + ")";
        content.appendChild(h);
        var dl = document.createElement("dl");
        Object.keys(hit.properties).forEach(function (k) {
          var v = hit.properties[k];
          if (v === null || v === "") { return; }
          var dt = document.createElement("dt"); dt.textContent = k;
          var dd = document.createElement("dd"); dd.textContent = String(v);
          dl.appendChild(dt); dl.appendChild(dd);
        });
        content.appendChild(dl);
      });
      box.appendChild(content.cloneNode(true));
      L.popup({maxHeight: 250}).setLatLng(latlng).setContent(content).openOn(map);
      state.identified += 1;
  }

  links();
  refresh(true, true);
}());
