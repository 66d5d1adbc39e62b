"""Events and their delivery to webhook endpoints.

Like Stripe, delivery is concurrent and unordered: each endpoint has its own
lane of up to `webhook_concurrency` worker threads (started on demand, ended
when idle), so one slow or failing receiver never holds up the others, and a
slow receiver gets several events at once. Deliveries go out in the order
they fall due; a failed one is retried with exponential backoff while the
others carry on (at least once; no ordering promise). With a concurrency of 1
a lane sends one event at a time, in that order.
Injected faults (control route /_emulator/webhooks/faults) bend those rules."""

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

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
    then: tuple = ()  # a reorder fault's batch: sent one after the other, after this one


class _Lane:
    """One endpoint's deliveries: a heap of (due, seq, delivery) and the worker
    threads sending them. `cond` shares the webhooks' lock."""

    def __init__(self, lock):
        self.cond = threading.Condition(lock)
        self.heap = []
        self.workers = 0  # threads alive
        self.idle = 0  # of which waiting for work
        self.sending = 0


class Webhooks:
    IDLE_EXIT = 5.0  # seconds a worker with nothing queued waits before it ends

    def __init__(self, app):
        self.app = app
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)  # notified whenever a lane may have become idle
        self._lanes = {}
        self._faults = []  # [{"action", "remaining", "delay_ms"}]
        self._reorder = []  # deliveries collected by a reorder fault
        self._reorder_target = 0
        self._seq = itertools.count(1)
        self._attempt_ids = itertools.count(1)
        self._stopped = False
        self._threads = set()
        self.attempts = []

    @property
    def concurrency(self):
        return max(1, int(self.app.config.webhook_concurrency))

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
        with self._lock:
            fault = self._take_fault()
            action = fault["action"] if fault else None
            delivery.fault = action
            delivery.due = time.monotonic()
            if action == "drop":
                self._record(delivery, None, "", "dropped by injected fault", time.time())
            elif action == "duplicate":
                self._push(delivery)
                self._push(Delivery(**vars(delivery)))
            elif action == "delay":
                delivery.due += fault["delay_ms"] / 1000
                self._push(delivery)
            elif action == "reorder":
                self._reorder.append(delivery)
                if len(self._reorder) >= self._reorder_target:
                    self._flush_reorder()
                else:
                    # Do not hold events forever if fewer than `count` come.
                    self.app.scheduler.later(self.app.config.reorder_window, self.flush_reorder, counted=False)
            else:
                self._push(delivery)

    def flush_reorder(self):
        with self._lock:
            self._flush_reorder()

    def _flush_reorder(self):
        # Released newest first, one after the other (even with several
        # workers), so the receiver surely sees them reversed.
        batch = list(reversed(self._reorder))
        self._reorder.clear()
        by_endpoint = {}
        for delivery in batch:
            by_endpoint.setdefault(delivery.endpoint_id, []).append(delivery)
        now = time.monotonic()
        for chain in by_endpoint.values():
            head = chain[0]
            head.due, head.then = now, tuple(chain[1:])
            self._push(head)
        self._cond.notify_all()

    def _push(self, delivery):
        """Queue `delivery` on its endpoint's lane (lock held) and make sure a
        worker will send it: wake an idle one, or start one if the lane has
        fewer than `concurrency`."""
        if self._stopped:
            return
        lane = self._lanes.get(delivery.endpoint_id)
        if lane is None:
            lane = self._lanes[delivery.endpoint_id] = _Lane(self._lock)
        heapq.heappush(lane.heap, (delivery.due, next(self._seq), delivery))
        if lane.idle:
            lane.cond.notify()
        # A woken worker counts as idle until it runs: start another while the
        # lane holds more deliveries than idle workers (a burst of events).
        if len(lane.heap) > lane.idle and lane.workers < self.concurrency:
            lane.workers += 1
            thread = threading.Thread(target=self._work, args=(delivery.endpoint_id, lane),
                                      name=f"webhooks-{delivery.endpoint_id}", daemon=True)
            self._threads.add(thread)
            thread.start()

    def idle(self):
        with self._lock:
            return self._idle()

    def _idle(self):
        return not self._reorder and all(not lane.heap and not lane.sending for lane in self._lanes.values())

    def wait(self, timeout):
        """Block until every queued delivery (retries and delayed ones included)
        and every scheduled job that may emit more events is done. Returns
        False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle() and self.app.scheduler.pending() == 0:
                # Re-check: a job may have emitted events just as it finished.
                time.sleep(0.02)
                if self.idle() and self.app.scheduler.pending() == 0:
                    return True
            with self._lock:
                self._cond.wait(0.05)
        return False

    def clear(self):
        with self._lock:
            for lane in self._lanes.values():
                lane.heap.clear()
            self._reorder.clear()
            self._faults.clear()
            self.attempts.clear()
            self._cond.notify_all()

    def stop(self):
        with self._lock:
            self._stopped = True
            for lane in self._lanes.values():
                lane.heap.clear()
                lane.cond.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + 2
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    # --- delivery --------------------------------------------------------------------

    def _take(self, endpoint_id, lane):
        """The next delivery of `lane` once it is due (lock held), or None when
        the worker should end (stopped, or idle for IDLE_EXIT)."""
        idle_since = None
        while not self._stopped:
            if lane.heap and lane.heap[0][0] <= time.monotonic():
                return heapq.heappop(lane.heap)[2]
            if lane.heap:
                wait, idle_since = lane.heap[0][0] - time.monotonic(), None
            else:
                idle_since = idle_since or time.monotonic()
                wait = idle_since + self.IDLE_EXIT - time.monotonic()
                if wait <= 0:
                    break
            lane.idle += 1
            lane.cond.wait(wait)
            lane.idle -= 1
        lane.workers -= 1
        if not lane.workers and not lane.heap and self._lanes.get(endpoint_id) is lane:
            del self._lanes[endpoint_id]
        self._threads.discard(threading.current_thread())
        return None

    def _work(self, endpoint_id, lane):
        while True:
            with self._lock:
                delivery = self._take(endpoint_id, lane)
                if delivery is None:
                    return
                lane.sending += 1
            try:
                done = self._send(delivery)
            except Exception:  # never let one bad delivery kill the worker
                log.exception("webhook delivery crashed")
                done = True
            with self._lock:
                lane.sending -= 1
                if not done:
                    # Retried later with backoff; the others go on meanwhile.
                    base = self.app.config.webhook_retry_base
                    delivery.due = time.monotonic() + base * 2 ** (delivery.attempt - 1)
                    delivery.attempt += 1
                    self._push(delivery)
                elif delivery.then:  # the next of a reordered batch, ahead of what came since
                    following = delivery.then[0]
                    following.due, following.then = delivery.due, delivery.then[1:]
                    self._push(following)
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
        with self._lock:
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
            "id": f"wa_{next(self._attempt_ids)}",
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
