"""Events and their delivery to webhook endpoints.

Each endpoint has its own worker thread and FIFO queue, so one slow or failing
receiver neither blocks the others nor sees its events out of order: a failed
delivery is retried (exponential backoff) before the next event is sent.
Injected faults (control route /_emulator/webhooks/faults) bend those rules."""

import hashlib
import hmac
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field

from . import fixtures

log = logging.getLogger("stripe_emulator.webhooks")

DEFAULT_API_VERSION = "2026-05-27.dahlia"
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
FAULT_ACTIONS = ("drop", "duplicate", "delay", "reorder")


def sign(payload, secret, timestamp):
    """Stripe's `Stripe-Signature` header for `payload` (str)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def matches(endpoint, event_type):
    enabled = endpoint.get("enabled_events") or []
    return endpoint.get("status") == "enabled" and ("*" in enabled or event_type in enabled)


@dataclass
class Delivery:
    event_id: str
    event_type: str
    endpoint_id: str
    body: str
    attempt: int = 1
    due: float = 0.0  # time.monotonic() when it may be sent
    fault: str | None = None


@dataclass
class _Lane:
    """One endpoint's deliveries: `queue` in order; `held` ones (delay fault)
    go out whenever they fall due, overtaking the queue."""

    queue: deque = field(default_factory=deque)
    held: list = field(default_factory=list)
    thread: threading.Thread | None = None


class Webhooks:
    def __init__(self, app):
        self.app = app
        self._cond = threading.Condition()
        self._lanes = {}
        self._faults = []  # [{"action", "remaining", "delay_ms"}]
        self._reorder = []  # deliveries collected by a reorder fault
        self._reorder_target = 0
        self._sending = 0
        self._seq = itertools.count(1)
        self._stopped = False
        self.attempts = []

    # --- events ----------------------------------------------------------------

    def emit(self, type_, obj, previous_attributes=None, request=None):
        """Record the event for a change to `obj` and queue its deliveries.
        Call with the state lock held, right after the change."""
        store = self.app.store
        endpoints = [e for e in store.all("webhook_endpoint") if matches(e, type_)]
        data = {"object": json.loads(json.dumps(obj))}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        event = fixtures.make(
            "event",
            id=store.new_id("evt_"),
            api_version=DEFAULT_API_VERSION,
            created=store.now(),
            data=data,
            pending_webhooks=len(endpoints),
            request={
                "id": request.request_id if request else None,
                "idempotency_key": request.idempotency_key if request else None,
            },
            type=type_,
        )
        store.add(event)
        for endpoint in endpoints:
            # Stripe renders the event in the endpoint's API version, if it has one.
            body = dict(event, api_version=endpoint.get("api_version") or DEFAULT_API_VERSION)
            self._enqueue(Delivery(event["id"], type_, endpoint["id"], json.dumps(body, indent=2)))
        return event

    # --- faults ------------------------------------------------------------------

    def add_fault(self, action, count, delay_ms=0):
        with self._cond:
            self._faults.append({"action": action, "remaining": count, "delay_ms": delay_ms})

    def faults(self):
        with self._cond:
            return [dict(f) for f in self._faults if f["remaining"] > 0]

    def clear_faults(self):
        with self._cond:
            self._faults.clear()
            self._flush_reorder()

    def _take_fault(self):
        for fault in self._faults:
            if fault["remaining"] > 0:
                fault["remaining"] -= 1
                if fault["action"] == "reorder" and not self._reorder:
                    self._reorder_target = fault["remaining"] + 1
                return fault
        return None

    # --- queueing ------------------------------------------------------------------

    def _enqueue(self, delivery):
        with self._cond:
            fault = self._take_fault()
            action = fault["action"] if fault else None
            delivery.fault = action
            delivery.due = time.monotonic()
            if action == "drop":
                self._record(delivery, None, "", "dropped by injected fault", time.time())
            elif action == "duplicate":
                self._lane(delivery.endpoint_id).queue.extend([delivery, Delivery(**vars(delivery))])
            elif action == "delay":
                delivery.due += fault["delay_ms"] / 1000
                self._lane(delivery.endpoint_id).held.append(delivery)
            elif action == "reorder":
                self._reorder.append(delivery)
                if len(self._reorder) >= self._reorder_target:
                    self._flush_reorder()
                else:
                    # Do not hold events forever if fewer than `count` come.
                    self.app.scheduler.later(self.app.config.reorder_window, self.flush_reorder, counted=False)
            else:
                self._lane(delivery.endpoint_id).queue.append(delivery)
            self._cond.notify_all()

    def flush_reorder(self):
        with self._cond:
            self._flush_reorder()

    def _flush_reorder(self):
        for delivery in reversed(self._reorder):
            self._lane(delivery.endpoint_id).queue.append(delivery)
        self._reorder.clear()
        self._cond.notify_all()

    def _lane(self, endpoint_id):
        lane = self._lanes.get(endpoint_id)
        if lane is None:
            lane = self._lanes[endpoint_id] = _Lane()
        if lane.thread is None and not self._stopped:
            lane.thread = threading.Thread(target=self._work, args=(endpoint_id, lane),
                                           name=f"webhooks-{endpoint_id}", daemon=True)
            lane.thread.start()
        return lane

    def idle(self):
        with self._cond:
            return not self._sending and not self._reorder and all(
                not lane.queue and not lane.held for lane in self._lanes.values())

    def wait(self, timeout):
        """Block until every queued delivery (and every scheduled job that may
        emit more events) is done. Returns False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle() and self.app.scheduler.pending() == 0:
                # Re-check: a job may have emitted events just as it finished.
                time.sleep(0.02)
                if self.idle() and self.app.scheduler.pending() == 0:
                    return True
            with self._cond:
                self._cond.wait(0.05)
        return False

    def clear(self):
        with self._cond:
            for lane in self._lanes.values():
                lane.queue.clear()
                lane.held.clear()
            self._reorder.clear()
            self._faults.clear()
            self.attempts.clear()
            self._cond.notify_all()

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for lane in list(self._lanes.values()):
            if lane.thread:
                lane.thread.join(timeout=2)

    # --- delivery --------------------------------------------------------------------

    def _next(self, lane):
        """The delivery to send now, or (None, seconds to wait)."""
        now = time.monotonic()
        candidates = list(lane.held)
        if lane.queue:
            candidates.append(lane.queue[0])
        if not candidates:
            return None, None
        ready = min(candidates, key=lambda d: d.due)
        if ready.due > now:
            return None, ready.due - now
        if ready in lane.held:
            lane.held.remove(ready)
        else:
            lane.queue.popleft()
        return ready, 0

    def _work(self, endpoint_id, lane):
        while True:
            with self._cond:
                while True:
                    if self._stopped:
                        return
                    delivery, wait = self._next(lane)
                    if delivery is not None:
                        self._sending += 1
                        break
                    self._cond.wait(wait)
            try:
                done = self._send(delivery)
            except Exception:  # never let one bad delivery kill the lane
                log.exception("webhook delivery crashed")
                done = True
            with self._cond:
                self._sending -= 1
                if not done:
                    # Retry before anything queued after it, to keep order.
                    base = self.app.config.webhook_retry_base
                    delivery.due = time.monotonic() + base * 2 ** (delivery.attempt - 1)
                    delivery.attempt += 1
                    lane.queue.appendleft(delivery)
                self._cond.notify_all()

    def _send(self, delivery):
        """One attempt. True when finished (delivered, given up, or moot)."""
        app = self.app
        with app.store.lock:
            endpoint = app.store.get(delivery.endpoint_id, "webhook_endpoint")
            secret = app.store.secret(delivery.endpoint_id).get("secret")
        if endpoint is None or endpoint.get("status") != "enabled":
            return True
        timestamp = int(time.time())
        request = urllib.request.Request(
            endpoint["url"], data=delivery.body.encode(), method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                "Stripe-Signature": sign(delivery.body, secret, timestamp),
                "Cache-Control": "no-cache",
                "Accept": "*/*; q=0.5, application/xml",
            },
        )
        started = time.time()
        status, text, error = None, "", None
        try:
            with urllib.request.urlopen(request, timeout=app.config.webhook_timeout) as response:
                status, text = response.status, response.read(2048).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read(2048).decode("utf-8", "replace")
        except Exception as exc:  # timeouts, refused connections, bad URLs
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        with self._cond:
            self._record(delivery, status, text, error, started, endpoint["url"])
        gave_up = not ok and delivery.attempt >= app.config.webhook_max_attempts
        if ok or gave_up:
            with app.store.lock:
                event = app.store.get(delivery.event_id, "event")
                if event is not None and event["pending_webhooks"] > 0:
                    event["pending_webhooks"] -= 1
        return ok or gave_up

    def _record(self, delivery, status, text, error, started, url=None):
        if url is None:
            endpoint = self.app.store.get(delivery.endpoint_id, "webhook_endpoint")
            url = endpoint["url"] if endpoint else None
        self.attempts.append({
            "id": f"wa_{next(self._seq)}",
            "event_id": delivery.event_id,
            "event_type": delivery.event_type,
            "endpoint_id": delivery.endpoint_id,
            "url": url,
            "attempt": delivery.attempt,
            "status_code": status,
            "response_body": text[:500],
            "error": error,
            "fault": delivery.fault,
            "started_at": started,
            "finished_at": time.time(),
        })
