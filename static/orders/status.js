// Polls the order's status (the API's /api/v1/orders/<reference>/status/) until it
// is final, then reloads the page once so the customer sees the payment and the
// documents. No framework needed.
(function () {
  "use strict";
  var root = document.getElementById("order-status");
  if (!root || root.dataset.done === "true") { return; }
  var url = root.dataset.statusUrl;
  var statusEl = root.querySelector("[data-role=status]");
  var errorEl = root.querySelector("[data-role=payment-error]");
  var delay = 2000;
  var maxDelay = 15000;

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        statusEl.textContent = data.status_display;
        statusEl.className = "badge badge-" + data.status;
        if (data.payment_error) {
          errorEl.textContent = data.payment_error;
          errorEl.hidden = false;
        }
        // A paid order is shown once its invoice is issued too.
        if (data.final && (data.status !== "paid" || data.documents_ready)) {
          window.location.reload();
          return;
        }
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
