/* The small map of a species or country page (the range or the country outline) and its
   barrier-hotspot summary, filled in when the server has computed it (202 until then).
   Texts reach the page through textContent only. */
(function () {
  "use strict";
  var box = document.getElementById("hotspots");
  if (box) {
    var texts = JSON.parse(document.getElementById("atlas-config").textContent).i18n;
    window.hotspotState = "loading";
    var fill = function (template, values) {
      return template.replace(/\{(\w+)\}/g, function (m, k) {
        return values[k] === undefined ? m : String(values[k]);
      });
    };
    var show = function (doc) {
      box.replaceChildren();
      var p = document.createElement("p");
      if (doc.status === "none") {
        p.textContent = texts.hot_none;
        box.appendChild(p);
        window.hotspotState = "none";
        return;
      }
      p.textContent = fill(doc.n_transboundary === undefined ? texts.hot_country
        : texts.hot_species, doc);
      box.appendChild(p);
      if (doc.borders && doc.borders.length) {
        var ul = document.createElement("ul");
        doc.borders.forEach(function (b) {
          var li = document.createElement("li");
          li.textContent = fill(texts.hot_border, b) + (b.species && b.species.length
            ? " (" + b.species.map(function (s) { return s.replace(/_/g, " "); }).join(", ") + ")"
            : "");
          ul.appendChild(li);
        });
        box.appendChild(ul);
      }
      window.hotspotState = "shown";
    };
    var ask = function () {
      fetch(box.dataset.url).then(function (r) {
        if (r.status === 202) { window.hotspotState = "computing"; setTimeout(ask, 3000); return; }
        if (!r.ok) { show({status: "none"}); return; }
        return r.json().then(show);
      }).catch(function () { show({status: "none"}); });
    };
    ask();
  }
  var el = document.getElementById("range-map");
  if (!el) { return; }
  var map = L.map(el, {preferCanvas: true}).setView([42, 78], 3);
  var state = window.atlasState = {pending: 1, loaded: {}, errors: []};
  var config = JSON.parse(document.getElementById("atlas-config").textContent);
  var params = new URLSearchParams({zoom: 5});
  if (el.dataset.species) { params.set("species", el.dataset.species); }
  else { params.set("country", el.dataset.country); }
  var wanted = config.layers.filter(function (l) {
    return el.dataset.species ? (l.kind === "species_range" || l.kind === "corridor")
      : l.kind === "country";
  });
  function keep(f) {  // a static copy filters in the browser
    var p = f.properties || {};
    return el.dataset.species ? p.species === el.dataset.species : p.iso3 === el.dataset.country;
  }
  Promise.all(wanted.map(function (l) {
    var address = config.static ? config.root + "data/" + encodeURIComponent(l.name) + ".geojson"
      : "/api/layers/" + encodeURIComponent(l.name) + "/geojson?" + params;
    return fetch(address).then(function (r) { return r.json(); }).then(function (doc) {
      var n = 0;
      var g = L.geoJSON(doc, {filter: function (f) {
        var k = !config.static || keep(f); n += k ? 1 : 0; return k;
      }, style: {color: l.kind === "country" ? "#555" : "#27ae60", weight: 1, fillOpacity: 0.3}})
        .addTo(map);
      state.loaded[l.name] = n;
      if (n) { map.fitBounds(g.getBounds()); }
    });
  })).catch(function (e) { state.errors.push(String(e)); })
    .finally(function () { state.pending = 0; });
}());
