/* The route screening form: send the file to /api/screenings, poll its state, list the files.
   Texts from the server are set with textContent. */
(function () {
  "use strict";
  var form = document.getElementById("screen-form");
  var status = document.getElementById("screen-status");
  var results = document.getElementById("screen-results");
  var state = window.screenState = {status: null, files: []};

  function poll(url) {
    fetch(url).then(function (r) { return r.json(); }).then(function (job) {
      state.status = job.status;
      status.textContent = job.status + (job.error ? ": " + job.error : "") +
        " (" + (job.queued_s + job.running_s).toFixed(1) + " s)";
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

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    results.replaceChildren();
    var file = document.getElementById("route-file").files[0];
    if (!file) { return; }
    var params = new URLSearchParams({infra_type: document.getElementById("infra-type").value});
    document.getElementById("attributes").value.split("\n").forEach(function (line) {
      if (line.trim()) { params.append("attr", line.trim()); }
    });
    state.status = "sending";
    file.text().then(function (text) {
      return fetch("/api/screenings?" + params, {method: "POST", body: text,
        headers: {"Content-Type": "application/geo+json"}});
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body.detail || ("HTTP " + r.status)); }
        poll(body.status_url);
      });
    }).catch(function (e) { status.textContent = String(e.message || e); state.status = "error"; });
  });
}());
