// The platform's only script (no inline script: the CSP forbids it). Two jobs:
// 1. a build's progress: poll /builds/<id>.json until it has succeeded or failed, then reload the page;
// 2. a review-queue "select all" box.
(function () {
  "use strict";
  function poll(box) {
    var id = box.getAttribute("data-build");
    var state = box.querySelector(".build-state");
    if (!id || !state) return;
    var initial = state.getAttribute("data-state");
    if (initial === "succeeded" || initial === "failed") return;
    var tick = function () {
      fetch("/builds/" + encodeURIComponent(id) + ".json", {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          state.setAttribute("data-state", s.state);
          state.textContent = s.state;
          var bar = box.querySelector(".build-progress");
          if (bar) { bar.max = s.steps_total || 1; bar.value = s.steps_done || 0; }
          var steps = box.querySelector(".build-steps");
          if (steps) steps.textContent = s.steps_done + "/" + s.steps_total;
          var rel = box.querySelector(".build-release");
          if (rel && (s.release_after || s.release_before)) rel.textContent = s.release_after || s.release_before;
          if (s.state === "succeeded" || s.state === "failed") { window.location.reload(); return; }
          window.setTimeout(tick, 1000);
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    };
    window.setTimeout(tick, 500);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-build]").forEach(poll);
    document.querySelectorAll(".select-all").forEach(function (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("input.pick").forEach(function (c) { c.checked = all.checked; });
      });
    });
  });
})();
