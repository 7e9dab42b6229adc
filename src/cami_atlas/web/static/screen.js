/* The route screening form: a route file (GeoJSON as a JSON body; GeoPackage, KML and
   zipped Shapefile as an upload) or a line drawn on the map, sent to /api/screenings;
   its state polled, its files listed. Texts from the server are set with textContent. */
(function () {
  "use strict";
  var form = document.getElementById("screen-form");
  var status = document.getElementById("screen-status");
  var results = document.getElementById("screen-results");
  var state = window.screenState = {status: null, files: [], drawn: []};

  // the map to draw on (Leaflet, vendored)
  var map = window.screenMap = L.map("screen-map").setView([45, 70], 4);
  var config = JSON.parse(document.getElementById("atlas-config").textContent);
  // country outlines for orientation (no basemap: nothing is fetched from other servers)
  config.layers.filter(function (l) { return l.kind === "country"; }).slice(0, 1)
    .forEach(function (l) {
      fetch("/api/layers/" + encodeURIComponent(l.name) + "/geojson?zoom=4")
        .then(function (r) { return r.json(); })
        .then(function (doc) {
          L.geoJSON(doc, {style: {color: "#777", weight: 1, fillOpacity: 0.05},
                          interactive: false}).addTo(map);
        });
    });
  var line = L.polyline([], {color: "#d7191c", weight: 3}).addTo(map);
  var count = document.getElementById("drawn-count");
  function redraw() {
    line.setLatLngs(state.drawn.map(function (p) { return [p[1], p[0]]; }));
    count.textContent = state.drawn.length ? state.drawn.length + " \u00b7" : "";
  }
  map.on("click", function (e) {
    state.drawn.push([e.latlng.lng, e.latlng.lat]);
    redraw();
  });
  document.getElementById("clear-route").addEventListener("click", function () {
    state.drawn = [];
    redraw();
  });

  function poll(url) {
    fetch(url).then(function (r) { return r.json(); }).then(function (job) {
      state.status = job.status;
      var pr = job.progress || {};
      state.progress = pr;
      status.textContent = job.status + (job.error ? ": " + job.error : "") +
        (job.status === "running" && pr.steps ? " — " + pr.step + "/" + pr.steps + " " +
          pr.text : "") + " (" + (job.queued_s + job.running_s).toFixed(1) + " s)";
      if (job.status === "queued" || job.status === "running") {
        setTimeout(function () { poll(url); }, 500);
        return;
      }
      state.files = job.files;
      job.files.forEach(function (name) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = job.urls[name];
        a.textContent = name;
        li.appendChild(a);
        results.appendChild(li);
      });
    }).catch(function (e) { status.textContent = String(e); state.status = "error"; });
  }

  function attributes() {
    return document.getElementById("attributes").value.split("\n")
      .map(function (l) { return l.trim(); }).filter(function (l) { return l; });
  }

  function modelled() {  // "true" or "false": model the connectivity change
    return String(document.getElementById("connectivity").checked);
  }

  function postGeoJSON(text, type) {
    var params = new URLSearchParams({infra_type: type, connectivity: modelled()});
    attributes().forEach(function (a) { params.append("attr", a); });
    return fetch("/api/screenings?" + params, {method: "POST", body: text,
      headers: {"Content-Type": "application/geo+json"}});
  }

  function send() {
    var file = document.getElementById("route-file").files[0];
    var type = document.getElementById("infra-type").value;
    if (!file) {
      if (state.drawn.length < 2) {
        return Promise.reject(new Error(status.dataset.needRoute ||
          "choose a route file or draw a line of at least two points"));
      }
      return postGeoJSON(JSON.stringify({type: "Feature", properties: {name: "drawn route"},
        geometry: {type: "LineString", coordinates: state.drawn}}), type);
    }
    if (/\.(geo)?json$/i.test(file.name)) {
      return file.text().then(function (text) { return postGeoJSON(text, type); });
    }
    var data = new FormData();
    data.append("infra_type", type);
    data.append("connectivity", modelled());
    attributes().forEach(function (a) { data.append("attr", a); });
    data.append("file", file, file.name);
    return fetch("/api/screenings/upload", {method: "POST", body: data,
      headers: {"X-Requested-With": "cami-atlas"}});
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    results.replaceChildren();
    state.status = "sending";
    send().then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body.detail || ("HTTP " + r.status)); }
        poll(body.status_url);
      });
    }).catch(function (e) { status.textContent = String(e.message || e); state.status = "error"; });
  });
}());
