/* The small map of a species or country page: the range or the country outline. */
(function () {
  "use strict";
  var el = document.getElementById("range-map");
  if (!el) { return; }
  var map = L.map(el, {preferCanvas: true}).setView([42, 78], 3);
  var state = window.atlasState = {pending: 1, loaded: {}, errors: []};
  var params = new URLSearchParams({zoom: 5});
  var url;
  if (el.dataset.species) {
    params.set("species", el.dataset.species);
    url = "/api/layers?";
  } else {
    params.set("country", el.dataset.country);
    url = "/api/layers?";
  }
  fetch(url).then(function (r) { return r.json(); }).then(function (layers) {
    var wanted = layers.filter(function (l) {
      return el.dataset.species ? (l.kind === "species_range" || l.kind === "corridor")
        : l.kind === "country";
    });
    return Promise.all(wanted.map(function (l) {
      return fetch("/api/layers/" + encodeURIComponent(l.name) + "/geojson?" + params)
        .then(function (r) { return r.json(); }).then(function (doc) {
          var g = L.geoJSON(doc, {style: {color: l.kind === "country" ? "#555" : "#27ae60",
            weight: 1, fillOpacity: 0.3}}).addTo(map);
          state.loaded[l.name] = doc.features.length;
          if (doc.features.length) { map.fitBounds(g.getBounds()); }
        });
    }));
  }).catch(function (e) { state.errors.push(String(e)); })
    .finally(function () { state.pending = 0; });
}());
