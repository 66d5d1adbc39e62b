// Polls an export's JSON status until it is done or failed, updating the
// progress bar and showing the download link. No framework.
(function () {
  "use strict";
  var root = document.querySelector("[data-role=export]");
  if (!root) return;
  var url = root.getAttribute("data-status-url");
  var $ = function (role) { return root.querySelector("[data-role=" + role + "]"); };
  var delay = 500;

  function show(data) {
    $("export-status").textContent = data.status_label;
    $("export-progress").value = data.percent;
    $("export-progress").textContent = data.percent + "%";
    $("export-percent").textContent = data.percent + "%";
    $("export-count").textContent = data.total ? data.done + " / " + data.total : "";
    if (data.error) { $("export-error").textContent = data.error; $("export-error").hidden = false; }
    if (data.download_url) {
      $("export-download").href = data.download_url;
      $("export-digest").textContent = data.sha256 ? "SHA-256 " + data.sha256 : "";
      $("export-ready").hidden = false;
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (data) {
        show(data);
        if (data.status !== "done" && data.status !== "failed") setTimeout(poll, delay);
      })
      .catch(function () { delay = Math.min(delay * 2, 5000); setTimeout(poll, delay); });
  }
  poll();
})();
