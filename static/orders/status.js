// Keeps the order page up to date until the order's status is final, then
// reloads the page once so the customer sees the payment and the documents.
// It listens to the order's stream of server-sent events (data-stream-url):
// the result arrives within a fraction of a second. Without it (an old
// browser, the server's streams all taken, the network) it polls the order's
// status (the API's /api/v1/orders/<reference>/status/) every 2 s. No framework needed.
(function () {
  "use strict";
  var root = document.getElementById("order-status");
  if (!root || root.dataset.done === "true") { return; }
  var url = root.dataset.statusUrl;
  var streamUrl = root.dataset.streamUrl;
  var statusEl = root.querySelector("[data-role=status]");
  var errorEl = root.querySelector("[data-role=payment-error]");
  var delay = 2000;
  var maxDelay = 15000;
  var streaming = false;
  var reloading = false;

  function show(data) {
    if (reloading) { return; }
    statusEl.textContent = data.status_display;
    statusEl.className = "badge badge-" + data.status;
    if (data.payment_error) {
      errorEl.textContent = data.payment_error;
      errorEl.hidden = false;
    }
    if (data.final) {
      // Paid, failed, cancelled or expired: "Pay now" and "Cancel order" no
      // longer apply, even before the page shows the rest.
      var actions = root.querySelector("[data-role=pay-actions]");
      if (actions) { actions.remove(); }
    }
    // A paid order is shown once its invoice is issued too.
    if (data.final && (data.status !== "paid" || data.documents_ready)) {
      reloading = true;
      window.location.reload();
    }
  }

  if (streamUrl && window.EventSource) {
    var source = new EventSource(streamUrl);
    source.addEventListener("open", function () { streaming = true; });
    source.addEventListener("status", function (event) { show(JSON.parse(event.data)); });
    source.addEventListener("error", function () {
      // Between two streams (the browser opens the next one by itself) or
      // refused (503: every stream of the server taken): poll meanwhile.
      streaming = false;
    });
  }

  function poll() {
    if (reloading) { return; }
    if (streaming) {  // the stream tells first; look again later, in case it stops
      window.setTimeout(poll, delay);
      return;
    }
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        show(data);
        delay = 2000;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // The network or the server hiccuped: keep trying, less often.
        delay = Math.min(delay * 2, maxDelay);
        window.setTimeout(poll, delay);
      });
  }
  window.setTimeout(poll, delay);
})();
